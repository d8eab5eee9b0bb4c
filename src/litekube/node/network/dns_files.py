"""A pod's /etc/hosts and /etc/resolv.conf, rendered as the kubelet renders them.

Pure functions over the pod object (a plain dict) plus the host's own files as text, so
golden tests pin every byte. `write_pod_dns_files` is the only function that touches
disk: it puts `etc-hosts` and `resolv.conf` into the pod directory, and the runtime
bind-mounts them over the containers' /etc/hosts and /etc/resolv.conf.

/etc/hosts (kubelet's managedHostsFileContent): the header line, localhost and the IPv6
names, one `<pod IP>\t<hostname>` line per pod IP (or `<ip>\t<hostname>.<subdomain>.<ns>.
svc.<cluster domain>\t<hostname>` when `spec.subdomain` is set), then hostAliases, one
`<ip>\t<name>` line per name. hostNetwork pods get the node's file under another header.

/etc/resolv.conf (kubelet's GetPodDNS, rendered the way containerd writes it):
- ClusterFirst (not hostNetwork) and ClusterFirstWithHostNet: nameserver = cluster DNS,
  search = `<ns>.svc.<domain> svc.<domain> <domain>` + the host's search list (duplicates
  dropped), options = `ndots:5`;
- Default, and ClusterFirst on hostNetwork: the host's nameservers, search and options;
- None: nothing but `spec.dnsConfig`.
`spec.dnsConfig` is then appended: nameservers and searches without duplicates, options
merged by name (the pod's value wins). Finally upstream's limits: at most 3 nameservers,
32 search domains, none longer than 253 characters, 2048 characters in the search line;
whatever is cut is reported in `warnings` (upstream's DNSConfigForming events).
Unlike upstream, merged options keep a stable order (Go's map order is random).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

MANAGED_HOSTS_HEADER = "# Kubernetes-managed hosts file.\n"
MANAGED_HOSTS_HEADER_HOST_NETWORK = "# Kubernetes-managed hosts file (host network).\n"
CLUSTER_DNS = ("10.96.0.10",)
CLUSTER_DOMAIN = "cluster.local"
MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32
MAX_SEARCH_LINE_CHARS = 2048
MAX_SEARCH_PATH_CHARS = 253


def pod_hostname(pod: JSON) -> str:
    """`spec.hostname`, else the pod name cut to 63 characters without a trailing - or ."""
    spec = pod.get("spec") or {}
    hostname = str(spec.get("hostname") or pod["metadata"]["name"])
    if len(hostname) > 63:
        hostname = hostname[:63].rstrip("-.")
    return hostname


def pod_domain(pod: JSON, cluster_domain: str = CLUSTER_DOMAIN) -> str:
    """`<subdomain>.<namespace>.svc.<cluster domain>`, or "" without a subdomain."""
    spec = pod.get("spec") or {}
    subdomain = spec.get("subdomain")
    if not subdomain:
        return ""
    namespace = pod["metadata"].get("namespace") or "default"
    return f"{subdomain}.{namespace}.svc.{cluster_domain}"


def _host_aliases(pod: JSON) -> str:
    aliases = (pod.get("spec") or {}).get("hostAliases") or []
    if not aliases:
        return ""
    lines = ["", "# Entries added by HostAliases."]
    for alias in aliases:
        lines.extend(f"{alias.get('ip', '')}\t{name}" for name in alias.get("hostnames") or [])
    return "\n".join(lines) + "\n"


def hosts_file(
    pod: JSON, pod_ips: list[str], host_hosts: str = "", cluster_domain: str = CLUSTER_DOMAIN
) -> str:
    """The pod's /etc/hosts; `host_hosts` is the node's /etc/hosts (hostNetwork pods only)."""
    if (pod.get("spec") or {}).get("hostNetwork"):
        return MANAGED_HOSTS_HEADER_HOST_NETWORK + host_hosts + _host_aliases(pod)
    hostname = pod_hostname(pod)
    domain = pod_domain(pod, cluster_domain)
    lines = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    for ip in pod_ips:
        lines.append(f"{ip}\t{hostname}.{domain}\t{hostname}" if domain else f"{ip}\t{hostname}")
    return MANAGED_HOSTS_HEADER + "\n".join(lines) + "\n" + _host_aliases(pod)


@dataclass
class DnsSettings:
    nameservers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def render(self) -> str:
        """resolv.conf text: search, then nameservers, then options (containerd's order)."""
        text = ""
        if self.searches:
            text += f"search {' '.join(self.searches)}\n"
        text += "".join(f"nameserver {server}\n" for server in self.nameservers)
        if self.options:
            text += f"options {' '.join(self.options)}\n"
        return text


def parse_resolv_conf(text: str) -> DnsSettings:
    """The host's resolv.conf as the kubelet reads it.

    nameserver lines accumulate; the last search line wins (trailing dots dropped); the
    last options line wins. Lines starting with # are comments.
    """
    settings = DnsSettings()
    for line in text.splitlines():
        fields = line.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            settings.nameservers.append(fields[1])
        elif fields[0] == "search":
            settings.searches = [domain.removesuffix(".") for domain in fields[1:] if domain != "."]
        elif fields[0] == "options":
            settings.options = fields[1:]
    return settings


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _merge_options(existing: list[str], extra: list[JSON]) -> list[str]:
    merged: dict[str, str] = {}
    for option in existing:
        name, _, value = option.partition(":")
        merged[name] = value
    for entry in extra:
        merged[str(entry.get("name", ""))] = str(entry.get("value") or "")
    return [f"{name}:{value}" if value else name for name, value in merged.items()]


def _fit_search(searches: list[str], warnings: list[str]) -> list[str]:
    """Upstream's formDNSSearchFitsLimits: cut by count, by length, then by line length.

    Worked example of the last step: a 2,060-character line is 12 over; dropping the last
    domain (say 20 characters plus its space) brings it to 2,039, so exactly one goes.
    """
    fitted = searches[:MAX_SEARCH_PATHS]
    fitted = [domain for domain in fitted if len(domain) <= MAX_SEARCH_PATH_CHARS]
    while fitted and len(" ".join(fitted)) > MAX_SEARCH_LINE_CHARS:
        fitted.pop()
    if fitted != searches:
        warnings.append(
            "Search Line limits were exceeded, some search paths have been omitted, "
            f"the applied search line is: {' '.join(fitted)}"
        )
    return fitted


def dns_settings(
    pod: JSON,
    host_resolv_conf: str,
    cluster_dns: tuple[str, ...] | list[str] = CLUSTER_DNS,
    cluster_domain: str = CLUSTER_DOMAIN,
) -> DnsSettings:
    """The pod's DNS settings per dnsPolicy and dnsConfig (see the module docstring)."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    host_network = bool(spec.get("hostNetwork"))
    settings = parse_resolv_conf(host_resolv_conf)
    if policy == "None":
        settings = DnsSettings()
    elif (
        policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not host_network)
    ) and cluster_dns:
        namespace = pod["metadata"].get("namespace") or "default"
        cluster_search = [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain]
        settings.nameservers = list(cluster_dns)
        settings.searches = (
            _unique(cluster_search + settings.searches) if cluster_domain else settings.searches
        )
        settings.options = ["ndots:5"]
    dns_config = spec.get("dnsConfig")
    if dns_config:
        settings.nameservers = _unique(settings.nameservers + list(dns_config.get("nameservers") or []))
        settings.searches = _unique(settings.searches + list(dns_config.get("searches") or []))
        settings.options = _merge_options(settings.options, list(dns_config.get("options") or []))
    if len(settings.nameservers) > MAX_NAMESERVERS:
        settings.nameservers = settings.nameservers[:MAX_NAMESERVERS]
        settings.warnings.append(
            "Nameserver limits were exceeded, some nameservers have been omitted, "
            f"the applied nameserver line is: {' '.join(settings.nameservers)}"
        )
    settings.searches = _fit_search(settings.searches, settings.warnings)
    return settings


def resolv_conf(
    pod: JSON,
    host_resolv_conf: str,
    cluster_dns: tuple[str, ...] | list[str] = CLUSTER_DNS,
    cluster_domain: str = CLUSTER_DOMAIN,
) -> str:
    return dns_settings(pod, host_resolv_conf, cluster_dns, cluster_domain).render()


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.chmod(temporary, 0o644)
    temporary.replace(path)


def write_pod_dns_files(
    pod_dir: Path,
    pod: JSON,
    pod_ips: list[str],
    cluster_dns: tuple[str, ...] | list[str] = CLUSTER_DNS,
    cluster_domain: str = CLUSTER_DOMAIN,
    host_hosts_path: Path = Path("/etc/hosts"),
    host_resolv_path: Path = Path("/etc/resolv.conf"),
) -> tuple[Path, Path, list[str]]:
    """Write `<pod dir>/etc-hosts` and `<pod dir>/resolv.conf`; returns both paths and warnings.

    A missing host file reads as empty (a pod with ClusterFirst does not need it).
    """

    def read(path: Path) -> str:
        try:
            return path.read_text()
        except OSError:
            return ""

    pod_dir.mkdir(parents=True, exist_ok=True)
    hosts_path, resolv_path = pod_dir / "etc-hosts", pod_dir / "resolv.conf"
    host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
    _write(
        hosts_path, hosts_file(pod, pod_ips, read(host_hosts_path) if host_network else "", cluster_domain)
    )
    settings = dns_settings(pod, read(host_resolv_path), cluster_dns, cluster_domain)
    _write(resolv_path, settings.render())
    return hosts_path, resolv_path, settings.warnings
