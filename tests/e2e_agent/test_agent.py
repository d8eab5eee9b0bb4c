"""`litekube agent` end to end: a node joins over HTTPS, runs the seed's pod, streams through the server.

The tests run in file order against one agent; the last one stops it and looks for leftovers.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import KUBECTL, SEED, Cluster, free_port
from tests.e2e_agent.conftest import NODE_NAME, Agent, agent_args

pytestmark = [pytest.mark.e2e, pytest.mark.root]
M = SEED / "manifests"
NS = "agent"

LOGGER = """
apiVersion: v1
kind: Pod
metadata: {name: logger}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo hello from the agent; echo to stderr >&2; sleep 3600"]
"""


def _wait(predicate, timeout: float = 90, interval: float = 0.5):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s (last: {last!r})")


def _running(c: Cluster, name: str) -> dict | None:
    pod = json.loads(c.ok("get", "pod", name, "-n", NS, "-o", "json"))
    ready = any(x["type"] == "Ready" and x["status"] == "True" for x in pod["status"].get("conditions", []))
    return pod if pod["status"].get("phase") == "Running" and ready else None


def test_node_registers_ready_with_its_own_pod_cidr_and_stream_port(server: Cluster, agent: Agent) -> None:
    node = json.loads(server.ok("get", "node", NODE_NAME, "-o", "json"))
    # 10.244.0.0/24 is the embedded node's: the first joined node gets the next /24
    assert node["spec"]["podCIDR"] == "10.244.1.0/24"
    assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == agent.kubelet_port
    assert {"type": "InternalIP", "address": "127.0.0.1"} in node["status"]["addresses"]
    assert " Ready " in server.ok("get", "nodes", NODE_NAME)
    # the agent's identity is its own client certificate, not the admin's
    subject = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-in", str(agent.data_dir / "tls" / "node.crt")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"system:node:{NODE_NAME}" in subject and "system:nodes" in subject
    assert (agent.data_dir / "tls" / "node.key").stat().st_mode & 0o077 == 0


def test_simple_app_runs_on_the_agent_and_serves_http(server: Cluster, agent: Agent) -> None:
    server.ok("create", "namespace", NS)
    server.ok("apply", "-n", NS, "-f", str(M / "01-pod-simple-app.yaml"))
    pod = _wait(lambda: _running(server, "simple-app"))
    assert pod["spec"]["nodeName"] == NODE_NAME
    ip = pod["status"]["podIP"]
    assert ip.startswith("10.244.1.")
    with urllib.request.urlopen(f"http://{ip}/", timeout=10) as r:
        assert r.status == 200


def test_logs_and_exec_go_through_the_server_to_the_agent(server: Cluster, agent: Agent) -> None:
    server.ok("apply", "-n", NS, "-f", "-", input=LOGGER)
    _wait(lambda: _running(server, "logger"))
    _wait(lambda: "hello from the agent" in server.ok("logs", "logger", "-n", NS))
    assert "to stderr" in server.ok("logs", "logger", "-n", NS, "--tail", "1")
    r = server.kubectl("exec", "logger", "-n", NS, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.returncode == 3 and r.stdout == "out\n" and "err" in r.stderr, (r.stderr, agent.log_tail())
    assert server.ok("exec", "simple-app", "-n", NS, "--", "cat", "/etc/hostname").strip() == "simple-app"
    # the node's own refusals come back as the node's Status
    r = server.kubectl("exec", "logger", "-n", NS, "-c", "nope", "--", "true")
    assert r.returncode != 0 and "container nope is not valid for pod logger" in r.stderr
    r = server.kubectl("logs", "logger", "-n", NS, "-c", "nope")
    assert r.returncode != 0 and "container nope is not valid for pod logger" in r.stderr


def test_port_forward_through_the_server(server: Cluster, agent: Agent) -> None:
    local = free_port()
    with subprocess.Popen(
        [KUBECTL, "port-forward", "-n", NS, "pod/simple-app", f"{local}:80"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=server.env(),
    ) as forward:
        try:
            assert forward.stdout is not None
            assert b"Forwarding from" in forward.stdout.readline()
            with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=10) as r:
                assert r.status == 200
        finally:
            forward.terminate()


def test_the_stream_port_refuses_clients_other_than_the_api_server(server: Cluster, agent: Agent) -> None:
    tls = agent.data_dir / "tls"
    url = f"https://127.0.0.1:{agent.kubelet_port}/api/v1/namespaces/{NS}/pods/logger/log"
    # a node's certificate is CA-signed but not the API server's: 403
    as_node = ["curl", "-s", "--cacert", str(tls / "ca.crt"), "--cert", str(tls / "node.crt")]
    out = subprocess.run([*as_node, "--key", str(tls / "node.key"), url], capture_output=True, text=True)
    assert '"code":403' in out.stdout
    # no certificate at all: the TLS handshake itself fails
    bare = subprocess.run(["curl", "-s", "--cacert", str(tls / "ca.crt"), url], capture_output=True)
    assert bare.returncode != 0


def test_a_wrong_token_is_refused(server: Cluster, tmp_path: Path) -> None:
    token = (server.data_dir / "tls" / "node-token").read_text().strip()
    wrong = token[: token.index("::")] + "::node:not-the-secret"
    r = subprocess.run(agent_args(server, tmp_path / "d", "--token", wrong), capture_output=True, text=True)
    assert r.returncode == 1
    assert "refused the join token (401 Unauthorized)" in r.stderr
    other_ca = "K10" + "0" * 64 + token[token.index("::") :]
    r = subprocess.run(
        agent_args(server, tmp_path / "d", "--token", other_ca), capture_output=True, text=True
    )
    assert r.returncode == 1 and "does not match the token's hash" in r.stderr


def _leftovers(agent: Agent) -> list[str]:
    found = []
    runc = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True).stdout.split()
    if runc:
        found.append(f"containers {runc}")
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    if "litekube" in netns:
        found.append(f"netns {netns}")
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    if "table ip litekube" in tables.splitlines():
        found.append("nft table ip litekube")
    if str(agent.data_dir) in Path("/proc/mounts").read_text():
        found.append("mounts under the agent's data dir")
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    if any(str(agent.data_dir) in line for line in ps.splitlines()):
        found.append("processes using the agent's data dir")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    if "litekube0" in links:
        found.append("the pod bridge")
    return found


def test_sigterm_stops_the_agent_and_removes_everything(server: Cluster, agent: Agent) -> None:
    assert _leftovers(agent)  # the check sees a running node
    assert agent.stop() == 0, agent.log_tail()
    assert _leftovers(agent) == []
