#!/usr/bin/env bash
# litekube setup for a fresh Debian 12 machine, as root:
#   installs the Debian packages, the Python dependencies and a pinned real kubectl into
#   ./.venv, links `litekube` and `kubectl` into /usr/local/bin, then starts a cluster
#   (skip that last step with --no-start).
set -euo pipefail
cd "$(dirname "$0")"
start=1
for arg in "$@"; do
  case "$arg" in
    --no-start) start=0 ;;
    *) echo "usage: $0 [--no-start]" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then echo "install.sh must run as root" >&2; exit 1; fi

export DEBIAN_FRONTEND=noninteractive
packages=(python3 python3-venv python3-dev gcc make ca-certificates iproute2 procps iptables
          runc conmon containernetworking-plugins nftables nginx skopeo umoci docker-registry busybox-static curl
          wrk etcd-server)  # wrk: bench/ingress_bench.py's load client; etcd-server: the etcd:// backend
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  # litekube runs its own nginx (Ingress) and registry; the services these packages start
  # on a systemd machine would hold ports 80 and 5000. Stop only what we just installed.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for unit in nginx docker-registry etcd; do  # etcd: package etcd-server, ports 2379/2380
      if printf '%s\n' "${missing[@]}" | grep -qx -e "$unit" -e "$unit-server"; then systemctl disable --now "$unit" || true; fi
    done
  fi
fi

[ -x .venv/bin/python ] || /usr/bin/python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -U pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
ln -sf "$PWD/.venv/bin/litekube" /usr/local/bin/litekube
[ -e /usr/local/bin/kubectl ] || ln -sf "$PWD/.venv/bin/kubectl" /usr/local/bin/kubectl

if [ "$start" -eq 1 ]; then
  mkdir -p /var/lib/litekube /var/log
  if pgrep -f "litekube server" >/dev/null; then
    echo "litekube server is already running"
  else
    PYTHONNODEBUGRANGES=1 nohup "$PWD/.venv/bin/litekube" server >>/var/log/litekube.log 2>&1 &
    for _ in $(seq 1 100); do
      [ -s /var/lib/litekube/kubeconfig ] && .venv/bin/kubectl --kubeconfig /var/lib/litekube/kubeconfig get --raw /readyz >/dev/null 2>&1 && break
      sleep 0.1
    done
  fi
  echo "litekube is running (log: /var/log/litekube.log; stop: pkill -TERM -f 'litekube server')"
  echo "kubeconfig: /var/lib/litekube/kubeconfig"
  echo "  export KUBECONFIG=/var/lib/litekube/kubeconfig; kubectl get nodes   # or: litekube kubectl get nodes"
fi
