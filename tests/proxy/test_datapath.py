"""Real packets through the rendered rules: network namespaces as pods, the host as a node.

Layout (each "pod" is a netns joined to the host by a veth pair with its own /30):

    host litekube-ta 10.244.250.1/30 ── pod A 10.244.250.2   server on :8080 answers "A"
    host litekube-tb 10.244.250.5/30 ── pod B 10.244.250.6   server on :8080 answers "B"
    host litekube-tc 10.244.250.9/30 ── pod C 10.244.250.10  the client pod

Service web 10.96.250.1:80 (NodePort 30999) → A and B; service idle 10.96.250.2:80 (NodePort
30998) has no endpoints; service peer 10.96.250.3:81 → A:8081, which answers with the address
it sees the client at (who is masqueraded and who is not). The table is `litekube-itest` so a running proxy is not disturbed.
Everything is removed in the fixture's finally, also when a test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from litekube.proxy.apply import NftApplier
from litekube.proxy.conntrack import PROC_PATH as CONNTRACK
from litekube.proxy.conntrack import finished_entries
from litekube.proxy.model import Endpoint, ServicePort
from litekube.proxy.rules import render

pytestmark = pytest.mark.root

TABLE = "litekube-itest"
PODS = {
    "a": ("10.244.250.1", "10.244.250.2"),
    "b": ("10.244.250.5", "10.244.250.6"),
    "c": ("10.244.250.9", "10.244.250.10"),
}
CLUSTER_IP, IDLE_IP, PEER_IP = "10.96.250.1", "10.96.250.2", "10.96.250.3"

SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(128)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[1].encode()); c.close()
"""

PEER_SERVER = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8081)); s.listen(128)
print("ready", flush=True)
while True:
    c, peer = s.accept(); c.sendall(f"{peer[0]}:{peer[1]}".encode()); c.close()
"""

CLIENT = """
import json, socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = {}
for _ in range(count):
    with socket.create_connection((host, port), timeout=2) as c:
        answer = c.recv(16).decode()
    seen[answer] = seen.get(answer, 0) + 1
print(json.dumps(seen))
"""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=20)


def in_pod(pod: str, code: str, *args: str) -> dict[str, int]:
    out = sh("ip", "netns", "exec", f"litekube-t{pod}", sys.executable, "-c", code, *args)
    result: dict[str, int] = json.loads(out.stdout)
    return result


def count_from_host(host: str, port: int, count: int) -> dict[str, int]:
    seen: dict[str, int] = {}
    for _ in range(count):
        with socket.create_connection((host, port), timeout=2) as conn:
            answer = conn.recv(16).decode()
        seen[answer] = seen.get(answer, 0) + 1
    return seen


@pytest.fixture
def pods() -> Iterator[None]:
    if os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"):
        pytest.skip("needs root, nft and ip")
    servers: list[subprocess.Popen[str]] = []
    try:
        for pod, (host_ip, pod_ip) in PODS.items():
            ns, host_if = f"litekube-t{pod}", f"litekube-t{pod}"
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "addr", "add", f"{host_ip}/30", "dev", host_if)
            sh("ip", "link", "set", host_if, "up")
            for cmd in (
                ["addr", "add", f"{pod_ip}/30", "dev", "eth0"],
                ["link", "set", "eth0", "up"],
                ["link", "set", "lo", "up"],
                ["route", "add", "default", "via", host_ip],
            ):
                sh("ip", "-n", ns, *cmd)
            if pod != "c":
                proc = subprocess.Popen(
                    ["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, pod.upper()],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                servers.append(proc)
                assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            if pod == "a":
                proc = subprocess.Popen(
                    ["ip", "netns", "exec", ns, sys.executable, "-c", PEER_SERVER],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                servers.append(proc)
                assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        for proc in servers:
            proc.kill()
            proc.wait(timeout=5)
            if proc.stdout is not None:
                proc.stdout.close()
        for pod in PODS:
            # deleting our end takes the pair along at once; the namespace's own teardown is
            # asynchronous, and the next test would find the host-side name still taken
            sh("ip", "link", "del", f"litekube-t{pod}", check=False)
            sh("ip", "netns", "del", f"litekube-t{pod}", check=False)
        sh("nft", "delete", "table", "ip", TABLE, check=False)


def model() -> list[ServicePort]:
    a, b = Endpoint(PODS["a"][1], 8080, True), Endpoint(PODS["b"][1], 8080, True)
    return [
        ServicePort("default", "web", "", "TCP", 80, CLUSTER_IP, node_port=30999, endpoints=(a, b)),
        ServicePort("default", "idle", "", "TCP", 80, IDLE_IP, node_port=30998),
        ServicePort(
            "default", "peer", "", "TCP", 81, PEER_IP, endpoints=(Endpoint(PODS["a"][1], 8081, True),)
        ),
    ]


def route_localnet() -> str:
    return Path("/proc/sys/net/ipv4/conf/all/route_localnet").read_text().strip()


def assert_spread(seen: dict[str, int], total: int) -> None:
    assert sum(seen.values()) == total
    assert set(seen) == {"A", "B"} and min(seen.values()) >= total // 4, seen


async def test_cluster_ip_node_port_reject_and_removal(pods: None) -> None:
    before = route_localnet()
    applier = NftApplier()
    try:
        await applier.apply(render(model(), [], "10.244.0.0/16", TABLE))
        assert_spread(count_from_host(CLUSTER_IP, 80, 200), 200)
        assert_spread(in_pod("c", CLIENT, CLUSTER_IP, "80", "200"), 200)
        # hairpin: pod A through its own service, sometimes landing on itself
        assert sum(in_pod("a", CLIENT, CLUSTER_IP, "80", "40").values()) == 40
        assert_spread(count_from_host("127.0.0.1", 30999, 100), 100)
        for host, port in ((IDLE_IP, 80), ("127.0.0.1", 30998)):
            started = time.monotonic()
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((host, port), timeout=3).close()
            assert time.monotonic() - started < 0.5
        # an incremental update: B leaves, all traffic goes to A
        ports = model()
        ports[0] = ServicePort(
            "default", "web", "", "TCP", 80, CLUSTER_IP, node_port=30999, endpoints=ports[0].endpoints[:1]
        )
        await applier.apply(render(ports, [], "10.244.0.0/16", TABLE))
        assert count_from_host(CLUSTER_IP, 80, 20) == {"A": 20}
    finally:
        await applier.remove()
    assert f"table ip {TABLE}" not in sh("nft", "list", "tables").stdout
    assert route_localnet() == before  # put back as found


def seen_as(bind: str | None = None) -> tuple[str, str]:
    """(our address:port, the address:port pod A's peer server saw) for one connection to PEER_IP."""
    with socket.socket() as conn:
        conn.settimeout(2)
        if bind is not None:
            conn.bind((bind, 0))
        conn.connect((PEER_IP, 81))
        ours = "{}:{}".format(*conn.getsockname())
        return ours, conn.recv(64).decode()


async def test_only_clients_that_need_it_are_masqueraded(pods: None) -> None:
    applier = NftApplier()
    try:
        await applier.apply(render(model(), [], "10.244.0.0/16", TABLE))
        # the node's own processes keep their tuple: the pod answers the node through its
        # gateway anyway, and a rewritten tuple would meet the pod's TIME_WAIT sockets of
        # earlier connections with foreign sequence numbers (SYNs lost, 1 s retransmits)
        for _ in range(5):
            ours, seen = seen_as()
            assert seen == ours
        # a socket bound to loopback cannot be answered by a pod: masqueraded to the node's
        # address on the pod's link
        _, seen = seen_as("127.0.0.1")
        assert seen.split(":")[0] == PODS["a"][0]
        # pods keep their address
        code = "import socket\nc = socket.create_connection(('%s', 81), timeout=2)\nprint(repr(c.recv(64).decode()))"
        out = sh("ip", "netns", "exec", "litekube-tc", sys.executable, "-c", code % PEER_IP).stdout
        assert out.strip().strip("'").split(":")[0] == PODS["c"][1]
        # the server closed first, so conntrack holds TIME_WAIT entries to the ClusterIP; with
        # the table gone they would only make a later connection to the pod lose its SYN
        assert finished_entries(CONNTRACK.read_text(), [PEER_IP])
        await applier.remove()
        assert not finished_entries(CONNTRACK.read_text(), [PEER_IP])
    finally:
        await applier.remove()
