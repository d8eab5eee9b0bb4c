"""Issue 4 end to end: the seed's pods as real containers, driven by the real kubectl."""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import KUBECTL, SEED, Cluster
from tests.e2e_node.tty import run_on_tty

pytestmark = [pytest.mark.e2e, pytest.mark.root]
M = SEED / "manifests"


def _wait(predicate, timeout: float = 90, interval: float = 0.5):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s (last: {last!r})")


def _pod(c: Cluster, ns: str, name: str) -> dict:
    return json.loads(c.ok("get", "pod", name, "-n", ns, "-o", "json"))


def _running_ready(c: Cluster, ns: str, name: str) -> dict | None:
    p = _pod(c, ns, name)
    ready = any(x["type"] == "Ready" and x["status"] == "True" for x in p["status"].get("conditions", []))
    return p if p["status"].get("phase") == "Running" and ready else None


@pytest.fixture(scope="module")
def ns(node_cluster: Cluster) -> str:
    node_cluster.ok("create", "namespace", "pods")
    return "pods"


def test_simple_app_runs_and_serves_http_with_limits(node_cluster: Cluster, ns: str) -> None:
    c = node_cluster
    c.ok("apply", "-n", ns, "-f", str(M / "01-pod-simple-app.yaml"))
    pod = _wait(lambda: _running_ready(c, ns, "simple-app"))
    ip = pod["status"]["podIP"]
    assert ip.startswith("10.244.")
    with urllib.request.urlopen(f"http://{ip}/", timeout=10) as r:
        assert r.status == 200
    wide = c.ok("get", "pods", "-n", ns, "-o", "wide")
    assert "simple-app" in wide and "1/1" in wide and "Running" in wide and ip in wide
    status = pod["status"]["containerStatuses"][0]
    assert status["ready"] and status["imageID"] and status["containerID"]
    # the memory limit is in the container's cgroup
    out = c.ok("exec", "simple-app", "-n", ns, "--", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert int(out.strip()) == 256 * 1024 * 1024
    describe = c.ok("describe", "pod", "simple-app", "-n", ns)
    for reason in ("Scheduled", "Pulled", "Created", "Started"):
        assert reason in describe
    assert (
        "GET / " in c.ok("logs", "simple-app", "-n", ns)
        or c.kubectl("logs", "simple-app", "-n", ns).returncode == 0
    )


def test_exec_tty_session_and_exit_codes(node_cluster: Cluster, ns: str) -> None:
    c = node_cluster
    c.ok("apply", "-n", ns, "-f", str(M / "01-pod-simple-app.yaml"))
    _wait(lambda: _running_ready(c, ns, "simple-app"))
    r = c.kubectl("exec", "simple-app", "-n", ns, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.returncode == 3 and "out" in r.stdout and "err" in r.stderr
    sent: list[bytes] = []

    def typing(output: bytes) -> bytes | None:
        # the seed's own command: type into bash once its prompt shows, then leave
        if not sent and b"#" in output:
            sent.append(b"echo hello-$((6*7))\rexit\r")
            return sent[0]
        return None

    output, code = run_on_tty(
        c, "exec", "-it", "simple-app", "-n", ns, "--", "/bin/bash", timeout=30, respond=typing
    )
    assert b"hello-42" in output
    assert code == 0


def test_sidecar_reads_nginx_log_from_shared_empty_dir(node_cluster: Cluster, ns: str) -> None:
    c = node_cluster
    c.ok("create", "configmap", "fluent-bit-config", "-n", ns, "--from-literal=fluent-bit.conf=[SERVICE]")
    c.ok("apply", "-n", ns, "-f", str(M / "02-pod-web-app-with-sidecar.yaml"))
    pod = _wait(lambda: _running_ready(c, ns, "web-app-with-sidecar"))
    with urllib.request.urlopen(f"http://{pod['status']['podIP']}/?from-the-test", timeout=10) as r:
        assert r.status == 200
    _wait(
        lambda: "from-the-test" in c.ok("logs", "web-app-with-sidecar", "-c", "log-shipper", "-n", ns),
        timeout=30,
    )
    assert "from-the-test" in c.ok(
        "exec", "web-app-with-sidecar", "-c", "log-shipper", "-n", ns, "--", "cat", "/logs/access.log"
    )


def test_crashing_container_reaches_crashloopbackoff_and_previous_logs(
    node_cluster: Cluster, ns: str
) -> None:
    c = node_cluster
    c.ok("run", "crasher", "-n", ns, "--image=busybox", "--", "sh", "-c", "echo attempt; exit 1")

    def backoff() -> bool:
        p = _pod(c, ns, "crasher")
        cs = (p["status"].get("containerStatuses") or [{}])[0]
        return (
            cs.get("restartCount", 0) >= 1
            and (cs.get("state", {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"
        )

    _wait(backoff, timeout=120)
    assert "CrashLoopBackOff" in c.ok("get", "pod", "crasher", "-n", ns)
    assert "attempt" in c.ok("logs", "crasher", "-n", ns, "--previous")
    c.ok("delete", "pod", "crasher", "-n", ns, "--wait=true", "--timeout=60s")


def test_port_forward_reaches_the_pod(node_cluster: Cluster, ns: str, tmp_path: Path) -> None:
    c = node_cluster
    c.ok("apply", "-n", ns, "-f", str(M / "01-pod-simple-app.yaml"))
    _wait(lambda: _running_ready(c, ns, "simple-app"))
    from tests.conftest import free_port

    port = free_port()
    proc = subprocess.Popen(
        [KUBECTL, "port-forward", "pod/simple-app", "-n", ns, f"{port}:80"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=c.env(),
    )
    try:

        def fetch() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False

        _wait(fetch, timeout=30)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_run_rm_it_attaches_and_cleans_up(node_cluster: Cluster, ns: str) -> None:
    c = node_cluster
    r = c.kubectl(
        "run",
        "oneshot",
        "-n",
        ns,
        "--image=busybox",
        "--rm",
        "-i",
        "--restart=Never",
        "--",
        "sh",
        "-c",
        "echo from-run",
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "from-run" in r.stdout
    assert c.kubectl("get", "pod", "oneshot", "-n", ns).returncode == 1


def test_delete_frees_everything(node_cluster: Cluster, ns: str) -> None:
    c = node_cluster
    c.ok("apply", "-n", ns, "-f", str(M / "01-pod-simple-app.yaml"))
    _wait(lambda: _running_ready(c, ns, "simple-app"))
    pod = _pod(c, ns, "simple-app")
    uid = pod["metadata"]["uid"]
    c.ok("delete", "pod", "simple-app", "-n", ns, "--timeout=60s")

    def freed() -> bool:
        netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        runc = subprocess.run(["runc", "list"], capture_output=True, text=True).stdout
        return uid not in netns and uid not in Path("/proc/mounts").read_text() and uid not in runc

    _wait(freed, timeout=20)


def test_service_account_credentials_are_mounted_and_work(node_cluster: Cluster, ns: str) -> None:
    c = node_cluster
    c.ok("apply", "-n", ns, "-f", str(M / "01-pod-simple-app.yaml"))
    _wait(lambda: _running_ready(c, ns, "simple-app"))
    base = "/var/run/secrets/kubernetes.io/serviceaccount"
    assert c.ok("exec", "simple-app", "-n", ns, "--", "cat", f"{base}/namespace") == ns
    ca = json.loads(c.ok("get", "configmap", "kube-root-ca.crt", "-n", ns, "-o", "json"))["data"]["ca.crt"]
    assert c.ok("exec", "simple-app", "-n", ns, "--", "cat", f"{base}/ca.crt") == ca
    token = c.ok("exec", "simple-app", "-n", ns, "--", "cat", f"{base}/token")
    assert token.count(".") == 2  # a signed JWT, not a placeholder
    # the pod's token alone (no client certificate) authenticates, here used from the host
    context = ssl.create_default_context(cafile=str(c.data_dir / "tls" / "ca.crt"))
    context.check_hostname = False
    request = urllib.request.Request(
        f"{c.url}/api/v1/namespaces/{ns}/pods/simple-app", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, context=context, timeout=10) as r:
        assert json.loads(r.read())["metadata"]["name"] == "simple-app"
