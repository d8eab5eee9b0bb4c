"""The join endpoints and the stream proxy in one process, without root or containers.

A real APIServer (memory storage) on a free port; a "node" whose pod streams come from a
`FakeBackend` (local processes, CRI log files) served by `NodeStreamServer` with the serving
certificate the join endpoint issued; the real kubectl against the API server, so every
stream crosses API server → node over mutual TLS.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from litekube.api.resources import lookup
from litekube.apiserver.node_join import parse_token
from litekube.apiserver.node_proxy import KUBELET_API_ANNOTATION
from litekube.apiserver.server import APIServer, APIServerConfig
from litekube.cli.agent_command import JoinError, fetch_ca, join
from litekube.node.streams import FakeBackend, PodStreams
from litekube.node.streams.serve import NodeStreamServer
from tests.conftest import KUBECTL, free_port

NODES, PODS = lookup("", "v1", "nodes"), lookup("", "v1", "pods")
assert NODES is not None and PODS is not None


@dataclass
class Joined:
    server: APIServer
    backend: FakeBackend
    stream_port: int
    tls: Path
    home: Path

    async def kubectl(self, *args: str, timeout: float = 20.0) -> tuple[int, str, str]:
        env = dict(os.environ, HOME=str(self.home), KUBECONFIG=str(self.server.config.kubeconfig_path))
        process = await asyncio.create_subprocess_exec(
            KUBECTL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()


def _pod(name: str, node: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "containers": [{"name": "main", "image": "busybox"}]},
    }


@pytest.fixture
async def joined(tmp_path: Path) -> AsyncIterator[Joined]:
    server = APIServer(
        APIServerConfig(
            data_dir=tmp_path / "server", port=free_port(), bind_address="127.0.0.1", storage="memory://"
        )
    )
    await server.start()
    assert server.node_join is not None
    backend = FakeBackend(tmp_path / "logs", exec_cwd=tmp_path)
    tls = tmp_path / "node-tls"
    creds = await join(server.url, server.node_join.token, None, "n1", "127.0.0.1", tls)
    port = free_port()
    streams = NodeStreamServer(
        PodStreams(backend, follow_poll=0.05),
        creds.ca_cert,
        creds.serving_cert,
        creds.serving_key,
        "127.0.0.1",
        port,
    )
    await streams.start()
    client = server.local_client()
    node = await client.create(
        NODES, {"metadata": {"name": "n1", "annotations": {KUBELET_API_ANNOTATION: "https"}}}
    )
    node["status"] = {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
    }
    await client.update_status(NODES, node)
    created = await client.create(PODS, _pod("web", "n1"), "default")
    backend.add_pod(created)
    await backend.start("default", "web", "main", ["sh", "-c", "echo started; exec sleep 60"])
    home = tmp_path / "home"
    home.mkdir()
    try:
        yield Joined(server, backend, port, tls, home)
    finally:
        await client.close()
        await backend.close()
        await streams.stop()
        await server.stop()


async def test_the_token_pins_the_ca_and_holds_a_secret(joined: Joined) -> None:
    join_ = joined.server.node_join
    assert join_ is not None
    pin, credential = parse_token(join_.token)
    assert pin == hashlib.sha256(joined.server.pki.ca_cert.read_bytes()).hexdigest()  # type: ignore[union-attr]
    assert credential.startswith("node:") and len(credential) > 40
    assert join_.token_path.stat().st_mode & 0o777 == 0o600
    assert await fetch_ca(joined.server.url, join_.token, None) == joined.server.pki.ca_cert.read_bytes()  # type: ignore[union-attr]
    with pytest.raises(JoinError, match="does not match the token's hash"):
        await fetch_ca(joined.server.url, "K10" + "0" * 64 + "::" + credential, None)
    with pytest.raises(JoinError, match="401"):
        await join(joined.server.url, join_.token + "x", None, "n2", "127.0.0.1", joined.tls)


async def test_pod_cidrs_are_one_per_node(joined: Joined) -> None:
    join_ = joined.server.node_join
    assert join_ is not None
    first = await join_.allocate_pod_cidr("n1")
    assert first == "10.244.1.0/24"  # reserved when n1 joined; 10.244.0.0/24 is the embedded node's
    assert await join_.allocate_pod_cidr("n1") == first
    assert await join_.allocate_pod_cidr("n2") == "10.244.2.0/24"
    client = joined.server.local_client()
    await client.create(NODES, {"metadata": {"name": "sim"}, "spec": {"podCIDR": "10.244.3.0/24"}})
    assert await join_.allocate_pod_cidr("n3") == "10.244.4.0/24"
    await client.close()


async def test_node_credentials_name_the_node(joined: Joined) -> None:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate((joined.tls / "node.crt").read_bytes())
    assert cert.subject.rfc4514_string() == "CN=system:node:n1,O=system:nodes"
    serving = x509.load_pem_x509_certificate((joined.tls / "kubelet.crt").read_bytes())
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert (joined.tls / "node.key").stat().st_mode & 0o077 == 0


async def test_logs_and_exec_are_proxied_to_the_node(joined: Joined) -> None:
    for _ in range(100):
        rc, out, err = await joined.kubectl("logs", "web")
        if out:
            break
        await asyncio.sleep(0.05)
    assert (rc, out) == (0, "started\n"), err
    rc, out, err = await joined.kubectl("exec", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (rc, out) == (3, "out\n")
    assert err == "err\ncommand terminated with exit code 3\n"
    rc, out, err = await joined.kubectl("exec", "web", "-c", "nope", "--", "true")
    assert rc == 1 and "container nope is not valid for pod web" in err


async def test_followed_logs_stream_through_the_proxy_until_the_container_ends(joined: Joined) -> None:
    client = joined.server.local_client()
    joined.backend.add_pod(await client.create(PODS, _pod("short", "n1"), "default"))
    await client.close()
    await joined.backend.start("default", "short", "main", ["sh", "-c", "echo a; sleep 0.5; echo b"])
    rc, out, err = await joined.kubectl("logs", "-f", "short")
    assert (rc, out) == (0, "a\nb\n"), err


async def test_the_node_refuses_other_clients(joined: Joined) -> None:
    import ssl

    ctx = ssl.create_default_context(cafile=str(joined.tls / "ca.crt"))
    ctx.load_cert_chain(joined.tls / "node.crt", joined.tls / "node.key")
    url = f"https://127.0.0.1:{joined.stream_port}/api/v1/namespaces/default/pods/web/log"
    async with aiohttp.ClientSession() as session, session.get(url, ssl=ctx) as resp:
        assert resp.status == 403
        assert orjson.loads(await resp.read())["reason"] == "Forbidden"


async def test_pods_on_nodes_without_a_kubelet_api_keep_the_old_answer(joined: Joined) -> None:
    client = joined.server.local_client()
    await client.create(NODES, {"metadata": {"name": "simulated"}})
    await client.create(PODS, _pod("elsewhere", "simulated"), "default")
    await client.close()
    rc, _, err = await joined.kubectl("logs", "elsewhere")
    assert rc == 1 and 'log is not available: no node agent serves pod "elsewhere"' in err
