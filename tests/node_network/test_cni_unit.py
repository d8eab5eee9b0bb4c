"""The pure parts of CniNetwork: conflist, plugin stdin/env, result parsing, rule matching.

Fake plugins here are tiny shell scripts, so these tests need neither root nor the real
plugins.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from litekube.node.network import NetworkError, PodNetwork, PodRef, PortMapping
from litekube.node.network.cni import CniNetwork, build_conflist, choose_cni_version, runtime_config
from litekube.node.network.iptables import matching_rules, parse_rules
from litekube.node.network.plugins import Invocation, PluginError, add_list, del_list, plugin_config
from litekube.node.network.state import PodRecord, RecordStore, status_from_record

RESULT_1_0 = {
    "cniVersion": "1.0.0",
    "interfaces": [
        {"name": "litekube0", "mac": "1e:39:55:0a:94:96"},
        {"name": "veth89c09648", "mac": "0a:7e:30:24:da:0c"},
        {"name": "eth0", "mac": "0e:cb:25:59:bb:a5", "sandbox": "/run/netns/litekube-u1"},
    ],
    "ips": [{"interface": 2, "address": "10.244.0.2/24", "gateway": "10.244.0.1"}],
    "routes": [{"dst": "0.0.0.0/0"}],
}


def test_cni_version_choice() -> None:
    assert choose_cni_version({"bridge": ["0.4.0", "1.0.0"], "portmap": ["0.4.0", "1.0.0"]}) == "1.0.0"
    assert choose_cni_version({"bridge": ["0.4.0", "1.0.0"], "portmap": ["0.3.1", "0.4.0"]}) == "0.4.0"
    assert choose_cni_version({}) == "0.4.0"


def test_conflist_keeps_addresses_and_reservations_ours(tmp_path: Path) -> None:
    conflist = build_conflist("litekube", "1.0.0", "litekube0", "10.244.0.0/24", 1450, tmp_path / "ipam")
    bridge, portmap, loopback = conflist["plugins"]
    assert [bridge["type"], portmap["type"], loopback["type"]] == ["bridge", "portmap", "loopback"]
    assert bridge["isGateway"] and bridge["ipMasq"] and bridge["hairpinMode"] and bridge["mtu"] == 1450
    assert bridge["ipam"] == {
        "type": "host-local",
        "ranges": [[{"subnet": "10.244.0.0/24"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": str(tmp_path / "ipam"),
    }
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}


def test_plugin_stdin_follows_the_conflist_rules() -> None:
    conflist = {"cniVersion": "1.0.0", "name": "net", "plugins": []}
    runtime = runtime_config([PortMapping(80, 8080), PortMapping(53, 5353, "UDP", "127.0.0.1")])
    portmap = plugin_config(
        conflist, {"type": "portmap", "capabilities": {"portMappings": True}}, RESULT_1_0, runtime
    )
    assert (
        portmap["name"] == "net" and portmap["cniVersion"] == "1.0.0" and portmap["prevResult"] == RESULT_1_0
    )
    assert portmap["runtimeConfig"] == {
        "portMappings": [
            {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
            {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"},
        ]
    }
    # a plugin without the capability gets no runtimeConfig; the first one no prevResult
    bridge = plugin_config(conflist, {"type": "bridge"}, None, runtime)
    assert "runtimeConfig" not in bridge and "prevResult" not in bridge


def test_invocation_environment() -> None:
    invocation = Invocation("uid-1", "/run/netns/litekube-uid-1", args=(("K8S_POD_NAME", "web"),))
    env = invocation.environment("ADD", Path("/usr/lib/cni"))
    assert env["CNI_COMMAND"] == "ADD" and env["CNI_CONTAINERID"] == "uid-1" and env["CNI_IFNAME"] == "eth0"
    assert env["CNI_NETNS"] == "/run/netns/litekube-uid-1" and env["CNI_PATH"] == "/usr/lib/cni"
    assert env["CNI_ARGS"] == "IgnoreUnknown=1;K8S_POD_NAME=web"
    assert "/usr/sbin" in env["PATH"].split(":")  # iptables lives there


def test_status_from_a_1_0_result_and_a_0_4_result() -> None:
    record = PodRecord(
        pod=PodRef("u1", "default", "web"), netns="litekube-u1", conflist={}, result=RESULT_1_0
    )
    status = status_from_record(record, "/run/netns/litekube-u1", "litekube0")
    assert (status.ip, status.gateway, status.prefix_length) == ("10.244.0.2", "10.244.0.1", 24)
    assert (status.interface, status.host_interface, status.bridge) == ("eth0", "veth89c09648", "litekube0")
    old = dict(RESULT_1_0, cniVersion="0.4.0")
    old["ips"] = [{"version": "4", "interface": 2, "address": "10.244.0.9/24", "gateway": "10.244.0.1"}]
    assert (
        status_from_record(PodRecord(record.pod, record.netns, {}, result=old), "", "litekube0").ip
        == "10.244.0.9"
    )


def test_records_round_trip_and_list(tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "pods")
    record = PodRecord(
        pod=PodRef("u1", "default", "web"),
        netns="litekube-u1",
        conflist={"name": "litekube"},
        port_mappings=[PortMapping(80, 8080, "TCP", "127.0.0.1")],
        result=RESULT_1_0,
    )
    store.save(record)
    assert store.load("u1") == record and store.uids() == ["u1"] and store.load("nope") is None
    store.remove("u1")
    store.remove("u1")
    assert store.uids() == []


SAVE_OUTPUT = r"""*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 10.244.0.2/32 -m comment --comment "name: \"litekube\" id: \"u1\"" -j CNI-aaa
-A POSTROUTING -s 10.244.0.3/32 -m comment --comment "name: \"litekube\" id: \"u2\"" -j CNI-bbb
-A POSTROUTING -s 10.88.0.3/32 -m comment --comment "name: \"podman\" id: \"u1\"" -j CNI-ccc
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"litekube\" id: \"u1\"" -m multiport --dports 8080 -j CNI-DN-aaa
COMMIT
"""


def test_rule_matching_by_plugin_comment() -> None:
    rules = parse_rules(SAVE_OUTPUT)
    assert rules[0][:3] == ["POSTROUTING", "-s", "10.244.0.2/32"]
    assert rules[0][rules[0].index("--comment") + 1] == 'name: "litekube" id: "u1"'
    mine = matching_rules(rules, "litekube", "u1")
    assert [rule[-1] for rule in mine] == ["CNI-aaa", "CNI-DN-aaa"]
    assert len(matching_rules(rules, "litekube", None)) == 3  # not podman's


def fake_plugin(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


async def test_chain_passes_prev_result_and_deletes_in_reverse(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    # each plugin logs its command and whether it saw a prevResult, and returns a result
    body = (
        'input=$(cat); seen=no; case "$input" in *prevResult*) seen=yes;; esac\n'
        f'echo "$CNI_COMMAND $(basename $0) $seen" >> {log}\n'
        'if [ "$CNI_COMMAND" = ADD ]; then echo \'{"cniVersion":"1.0.0","ips":[]}\'; fi\n'
    )
    for name in ("one", "two"):
        fake_plugin(tmp_path, name, body)
    conflist = {"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "one"}, {"type": "two"}]}
    result = await add_list(tmp_path, conflist, Invocation("c", "/x"), {})
    await del_list(tmp_path, conflist, Invocation("c", ""), {}, result)
    assert log.read_text().split("\n")[:-1] == ["ADD one no", "ADD two yes", "DEL two yes", "DEL one yes"]


async def test_plugin_error_object_becomes_the_message(tmp_path: Path) -> None:
    fake_plugin(
        tmp_path,
        "bad",
        'echo \'{"cniVersion":"1.0.0","code":11,"msg":"no IP addresses available"}\'; exit 1\n',
    )
    fake_plugin(tmp_path, "ok", "exit 0\n")
    conflist = {"cniVersion": "1.0.0", "name": "n", "plugins": [{"type": "ok"}, {"type": "bad"}]}
    with pytest.raises(PluginError, match="no IP addresses available") as caught:
        await add_list(tmp_path, conflist, Invocation("c", "/x"), {})
    assert caught.value.code == 11 and caught.value.plugin == "bad"
    # DEL still runs every plugin, then reports the failure
    with pytest.raises(PluginError, match="type='bad'"):
        await del_list(tmp_path, conflist, Invocation("c", ""), {}, None)
    with pytest.raises(PluginError, match="not found"):
        await add_list(tmp_path, {**conflist, "plugins": [{"type": "missing"}]}, Invocation("c", "/x"), {})


def test_constructor_validates_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="IFNAMSIZ"):
        CniNetwork(tmp_path, bridge="a-very-long-bridge-name")
    with pytest.raises(ValueError, match="IPv4"):
        CniNetwork(tmp_path, pod_cidr="fd00::/64")
    with pytest.raises(ValueError, match="litekube"):
        CniNetwork(tmp_path, netns_prefix="pods-")
    network = CniNetwork(tmp_path)
    assert isinstance(network, PodNetwork)
    assert network.netns_name("0c5d-11") == "litekube-0c5d-11"
    with pytest.raises(ValueError):
        network.netns_name("../etc")


async def test_missing_plugins_are_named(tmp_path: Path) -> None:
    network = CniNetwork(tmp_path / "data", plugin_dir=tmp_path / "empty")
    with pytest.raises(NetworkError, match="bridge, host-local, portmap, loopback not found"):
        await network.setup(PodRef("u1", "default", "web"), [])
    # the failed setup left no record behind
    assert network.records.uids() == []
