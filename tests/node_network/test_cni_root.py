"""CniNetwork against the real CNI plugins, namespaces and iptables (root only).

Addresses stay in 10.244.200-249.x and on loopback; every test's network is removed by
the `cni_network` fixture, which also asserts that nothing of it is left.
"""

from __future__ import annotations

import asyncio
import secrets
import stat
import subprocess
from pathlib import Path

import pytest

from litekube.node.network import CniNetwork, NetworkError, PodRef, PortMapping, plugins
from litekube.node.network import host as network_host

from .conftest import leftovers, make_network, root_skip_reason
from .helpers import fetch_from_host, fetch_from_netns, in_netns, netns_name, ping, tcp_server

pytestmark = pytest.mark.root


def pod(name: str) -> PodRef:
    return PodRef(uid=f"{secrets.token_hex(4)}-{name}", namespace="default", name=name)


def nat_rules_for(network: CniNetwork, uid: str) -> list[str]:
    saved = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    return [
        line for line in saved.splitlines() if f'id: \\"{uid}\\"' in line and network.network_name in line
    ]


def read(path: str) -> str:
    return Path(path).read_text().strip()


def exists(path: str) -> bool:
    return Path(path).exists()


def reserved_ips(network: CniNetwork) -> set[str]:
    directory = network.ipam_dir / network.network_name
    return {path.name for path in directory.glob("10.244.*")} if directory.exists() else set()


async def test_two_pods_talk_to_each_other_the_gateway_and_the_host(cni_network: CniNetwork) -> None:
    first = await cni_network.setup(pod("a"), [])
    second = await cni_network.setup(pod("b"), [])
    prefix = cni_network.pod_cidr.rsplit(".", 1)[0] + "."
    assert first.ip.startswith(prefix) and second.ip.startswith(prefix) and first.ip != second.ip
    assert first.gateway == second.gateway == prefix + "1"
    assert first.prefix_length == 24 and first.interface == "eth0" and first.bridge == cni_network.bridge
    assert network_host.link_exists(first.host_interface)
    # hairpin on the bridge port: a pod can reach itself through a service DNAT (issue 5)
    assert read(f"/sys/class/net/{first.host_interface}/brport/hairpin_mode") == "1"
    assert (
        read(f"/sys/class/net/{first.host_interface}/master/uevent").find(f"INTERFACE={cni_network.bridge}")
        >= 0
    )
    netns_a, netns_b = netns_name(first.netns_path), netns_name(second.netns_path)
    assert netns_a.startswith("litekube-t") and netns_a in network_host.netns_list(cni_network.netns_prefix)

    code, output = await in_netns(netns_a, "ip", "-4", "-o", "addr", "show", "eth0")
    assert code == 0 and f"{first.ip}/24" in output
    code, output = await in_netns(netns_a, "ip", "-o", "link", "show", "lo")
    assert "UP" in output  # the loopback plugin brought lo up
    assert await ping(netns_a, second.ip)
    assert await ping(netns_b, first.ip)
    assert await ping(netns_a, first.gateway)

    async with tcp_server(netns_b, 8080, 2, "b"):
        assert (await fetch_from_netns(netns_a, second.ip, 8080)).startswith(f"pong b from {first.ip}")
        # from the host the source is the bridge's gateway address: no masquerade inside the CIDR
        assert (await fetch_from_host(second.ip, 8080)).startswith(f"pong b from {second.gateway}")


async def test_host_port_answers_on_loopback_through_portmap(cni_network: CniNetwork) -> None:
    host_port = 30000 + secrets.randbelow(2000)
    status = await cni_network.setup(pod("web"), [PortMapping(container_port=8080, host_port=host_port)])
    assert status.port_mappings == (PortMapping(8080, host_port),)
    # portmap sets route_localnet on the bridge so that 127.0.0.1 may be DNATed to a pod
    assert read(f"/proc/sys/net/ipv4/conf/{cni_network.bridge}/route_localnet") == "1"
    async with tcp_server(netns_name(status.netns_path), 8080, 1, "web"):
        reply = await fetch_from_host("127.0.0.1", host_port)
    # localhost traffic is masqueraded (portmap's snat) so the pod can answer it
    assert reply.startswith(f"pong web from {status.gateway}")
    await cni_network.check(status.pod_uid)


async def test_teardown_removes_namespace_veth_address_and_rules(cni_network: CniNetwork) -> None:
    ref = pod("gone")
    status = await cni_network.setup(ref, [PortMapping(80, 30000 + secrets.randbelow(2000))])
    assert status.ip in reserved_ips(cni_network)
    assert nat_rules_for(cni_network, ref.uid)
    await cni_network.teardown(ref.uid)
    assert netns_name(status.netns_path) not in network_host.netns_list(cni_network.netns_prefix)
    assert not network_host.link_exists(status.host_interface)
    assert status.ip not in reserved_ips(cni_network)
    assert nat_rules_for(cni_network, ref.uid) == []
    assert await cni_network.list_pods() == []
    await cni_network.teardown(ref.uid)  # idempotent


async def test_teardown_without_a_record_still_frees_the_address(cni_network: CniNetwork) -> None:
    ref = pod("amnesia")
    status = await cni_network.setup(ref, [])
    cni_network.records.remove(ref.uid)  # as if the data dir lost the file
    await cni_network.teardown(ref.uid)
    assert not network_host.netns_exists(netns_name(status.netns_path))
    assert status.ip not in reserved_ips(cni_network)
    assert nat_rules_for(cni_network, ref.uid) == []


async def test_teardown_after_restart_uses_only_disk_state(
    cni_network: CniNetwork, tmp_path: Path, tag: str
) -> None:
    ref = pod("survivor")
    status = await cni_network.setup(ref, [])
    restarted = make_network(tmp_path / "data", tag)
    assert [item.ip for item in await restarted.list_pods()] == [status.ip]
    # setup again after the restart is idempotent: same namespace, same address
    assert (await restarted.setup(ref, [])).ip == status.ip
    await restarted.teardown(ref.uid)
    assert not network_host.netns_exists(netns_name(status.netns_path))
    assert status.ip not in reserved_ips(restarted)
    assert nat_rules_for(restarted, ref.uid) == []


async def test_teardown_when_the_namespace_vanished_still_sweeps_rules(cni_network: CniNetwork) -> None:
    ref = pod("orphan")
    status = await cni_network.setup(ref, [])
    subprocess.run(["ip", "netns", "delete", netns_name(status.netns_path)], check=True)
    # the bridge plugin cannot remove its masquerade rules without the namespace
    assert nat_rules_for(cni_network, ref.uid)
    with pytest.raises(NetworkError, match="gone"):
        await cni_network.check(ref.uid)
    await cni_network.teardown(ref.uid)
    assert nat_rules_for(cni_network, ref.uid) == []
    assert status.ip not in reserved_ips(cni_network)


async def test_concurrent_setups_get_distinct_addresses(cni_network: CniNetwork) -> None:
    refs = [pod(f"p{index}") for index in range(6)]
    statuses = await asyncio.gather(*(cni_network.setup(ref, []) for ref in refs))
    assert len({status.ip for status in statuses}) == 6
    assert {status.pod_uid for status in await cni_network.list_pods()} == {ref.uid for ref in refs}
    await asyncio.gather(*(cni_network.teardown(ref.uid) for ref in refs))
    assert reserved_ips(cni_network) == set()


async def test_failed_add_is_undone(tmp_path: Path, tag: str) -> None:
    if reason := root_skip_reason():
        pytest.skip(reason)
    # a plugin dir whose portmap always fails, beside the real bridge, host-local, loopback
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    for plugin in ("bridge", "host-local", "loopback"):
        (plugin_dir / plugin).symlink_to(Path("/usr/lib/cni") / plugin)
    broken = plugin_dir / "portmap"
    broken.write_text(
        "#!/bin/sh\n"
        'if [ "$CNI_COMMAND" = VERSION ]; then echo \'{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}\'; exit 0; fi\n'
        'if [ "$CNI_COMMAND" = ADD ]; then echo \'{"cniVersion":"1.0.0","code":7,"msg":"port is taken"}\'; exit 1; fi\n'
        "exit 0\n"
    )
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    network = make_network(tmp_path / "data", tag, plugin_dir=plugin_dir)
    try:
        ref = pod("unlucky")
        with pytest.raises(NetworkError, match="port is taken"):
            await network.setup(ref, [PortMapping(80, 30000 + secrets.randbelow(2000))])
        assert network_host.netns_list(network.netns_prefix) == []
        assert reserved_ips(network) == set()
        assert network.records.uids() == []
        # without hostPorts portmap is not called at all, so the same pod now works
        assert (await network.setup(ref, [])).ip
    finally:
        await network.cleanup_all()
        assert leftovers(network) == []


async def test_cleanup_all_removes_pods_and_leaks(cni_network: CniNetwork) -> None:
    for index in range(3):
        await cni_network.setup(
            pod(f"c{index}"), [PortMapping(80, 30000 + secrets.randbelow(2000))] if index else []
        )
    # leaks that no record knows about: a namespace and a veth on the bridge
    leaked = cni_network.netns_prefix + "leaked"
    subprocess.run(["ip", "netns", "add", leaked], check=True)
    veth = f"lkv{secrets.token_hex(3)}"
    subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", veth + "p"], check=True)
    subprocess.run(["ip", "link", "set", veth, "master", cni_network.bridge], check=True)
    await cni_network.cleanup_all()
    assert network_host.netns_list(cni_network.netns_prefix) == []
    assert not network_host.link_exists(veth) and not network_host.link_exists(cni_network.bridge)
    assert not (cni_network.ipam_dir).exists()
    assert await cni_network.list_pods() == []


async def test_version_detection_agrees_with_the_plugins_own_words() -> None:
    if reason := root_skip_reason():
        pytest.skip(reason)
    completed = subprocess.run(["/usr/lib/cni/bridge", "--version"], capture_output=True, text=True)
    # "CNI protocol versions supported: 0.1.0, 0.2.0, ..., 1.0.0" (on stderr)
    spoken = (completed.stdout + completed.stderr).split("supported:")[1].replace(",", " ").split()
    assert await plugins.supported_versions(Path("/usr/lib/cni"), "bridge") == spoken
    assert await plugins.supported_versions(Path("/usr/lib/cni"), "no-such-plugin") == []


async def test_written_conflist_matches_detected_version(cni_network: CniNetwork) -> None:
    conflist = await cni_network.conflist()
    assert conflist["cniVersion"] == "1.0.0"
    on_disk = cni_network.root / "cni" / f"10-{cni_network.network_name}.conflist"
    assert cni_network.network_name in read(str(on_disk))
    report = cni_network.host_report
    assert report is not None and report.ip_forward and report.iptables
    # br_netfilter is loaded on this kernel (no modprobe needed); elsewhere this is a warning
    assert report.bridge_nf_call_iptables == exists("/proc/sys/net/bridge")
    assert read("/proc/sys/net/ipv4/ip_forward") == "1"
