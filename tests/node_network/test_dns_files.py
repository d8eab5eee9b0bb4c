"""Golden tests for the per-pod /etc/hosts and /etc/resolv.conf (kubelet's rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litekube.node.network.dns_files import (
    dns_settings,
    hosts_file,
    parse_resolv_conf,
    pod_hostname,
    resolv_conf,
    write_pod_dns_files,
)

GOLDEN = Path(__file__).parent / "golden"
HOST_RESOLV = "nameserver 10.255.255.53\n"
CORP_RESOLV = "search corp.example.com example.com.\noptions timeout:2\nnameserver 192.0.2.53\n"


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


def make_pod(name: str = "web", namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def test_cluster_first_pod() -> None:
    pod = make_pod(dnsPolicy="ClusterFirst")
    assert hosts_file(pod, ["10.244.0.5"]) == golden("cluster-first.hosts")
    assert resolv_conf(pod, HOST_RESOLV) == golden("cluster-first.resolv.conf")
    # dnsPolicy defaults to ClusterFirst when absent
    assert resolv_conf(make_pod(), HOST_RESOLV) == golden("cluster-first.resolv.conf")


def test_subdomain_host_aliases_and_dns_config_merge() -> None:
    pod = make_pod(
        "busybox-1",
        "shop",
        hostname="busybox-1",
        subdomain="default-subdomain",
        hostAliases=[
            {"ip": "127.0.0.1", "hostnames": ["foo.local", "bar.local"]},
            {"ip": "10.1.2.3", "hostnames": ["foo.remote"]},
        ],
        dnsConfig={
            # the cluster DNS server and an existing search are not repeated
            "nameservers": ["10.96.0.10", "192.0.2.1"],
            "searches": ["my.dns.search.suffix", "cluster.local"],
            "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
        },
    )
    assert hosts_file(pod, ["10.244.0.7"]) == golden("subdomain-aliases.hosts")
    # host search domains follow the cluster ones, without their trailing dot
    assert resolv_conf(pod, CORP_RESOLV) == golden("subdomain-aliases.resolv.conf")


def test_none_policy_uses_only_dns_config() -> None:
    pod = make_pod(
        dnsPolicy="None",
        dnsConfig={
            "nameservers": ["1.2.3.4"],
            "searches": ["ns1.svc.cluster-domain.example", "my.dns.search.suffix"],
            "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
        },
    )
    assert resolv_conf(pod, CORP_RESOLV) == golden("none.resolv.conf")
    assert resolv_conf(make_pod(dnsPolicy="None"), CORP_RESOLV) == ""


def test_default_policy_copies_the_host_as_the_kubelet_parses_it() -> None:
    host = (
        "# generated\n"
        "nameserver 192.0.2.53\n"
        "nameserver 192.0.2.54\n"
        "search a.example b.example\n"
        "search c.example.\n"  # the last search line wins
        "options rotate\n"
        "options timeout:1 attempts:3\n"  # and so does the last options line
    )
    assert resolv_conf(make_pod(dnsPolicy="Default"), host) == golden("default.resolv.conf")


def test_host_network_policies() -> None:
    host_pod = make_pod(hostNetwork=True, dnsPolicy="ClusterFirst")
    # ClusterFirst on the host network falls back to the host's settings ...
    assert resolv_conf(host_pod, CORP_RESOLV) == (
        "search corp.example.com example.com\nnameserver 192.0.2.53\noptions timeout:2\n"
    )
    # ... and ClusterFirstWithHostNet keeps the cluster DNS
    with_host_net = make_pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet")
    assert dns_settings(with_host_net, CORP_RESOLV).nameservers == ["10.96.0.10"]
    aliased = make_pod(hostNetwork=True, hostAliases=[{"ip": "10.1.2.3", "hostnames": ["db.internal"]}])
    node_hosts = "127.0.0.1 localhost\n192.0.2.2 node-1\n"
    assert hosts_file(aliased, ["192.0.2.2"], node_hosts) == golden("host-network.hosts")


def test_limits_cut_nameservers_and_search_paths_with_warnings() -> None:
    many = make_pod(
        dnsPolicy="None",
        dnsConfig={
            "nameservers": [f"192.0.2.{index}" for index in range(1, 6)],
            "searches": ["x" * 254] + [f"d{index}.example" for index in range(40)],
        },
    )
    settings = dns_settings(many, "")
    assert settings.nameservers == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    # 32 paths are kept, then the 254-character one is dropped: 31 remain
    assert settings.searches == [f"d{index}.example" for index in range(31)]
    assert [warning.split(",")[0] for warning in settings.warnings] == [
        "Nameserver limits were exceeded",
        "Search Line limits were exceeded",
    ]
    long_line = make_pod(
        dnsPolicy="None", dnsConfig={"searches": [f"{index:02d}" + "y" * 98 for index in range(25)]}
    )
    # each domain is 100 characters: 20 of them plus 19 spaces make 2019 <= 2048, 21 make 2120
    assert len(dns_settings(long_line, "").searches) == 20


def test_hostname_is_cut_to_63_without_a_trailing_dash() -> None:
    name = "a" * 62 + "-" + "b" * 10
    assert pod_hostname(make_pod(name)) == "a" * 62
    assert pod_hostname(make_pod("web", hostname="custom")) == "custom"


def test_parse_resolv_conf_ignores_comments_and_empty_nameserver_lines() -> None:
    settings = parse_resolv_conf("#nameserver 1.1.1.1\n\nnameserver\nnameserver 192.0.2.9\nsearch .\n")
    assert settings.nameservers == ["192.0.2.9"] and settings.searches == []


def test_write_pod_dns_files(tmp_path: Path) -> None:
    host_resolv = tmp_path / "host-resolv.conf"
    host_resolv.write_text(HOST_RESOLV)
    hosts_path, resolv_path, warnings = write_pod_dns_files(
        tmp_path / "pod", make_pod(), ["10.244.0.5"], host_resolv_path=host_resolv
    )
    assert hosts_path.read_text() == golden("cluster-first.hosts")
    assert resolv_path.read_text() == golden("cluster-first.resolv.conf")
    assert oct(resolv_path.stat().st_mode & 0o777) == "0o644" and warnings == []
    assert sorted(path.name for path in (tmp_path / "pod").iterdir()) == ["etc-hosts", "resolv.conf"]
