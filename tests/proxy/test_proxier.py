from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from litekube.client.base import Client
from litekube.client.fake import FakeTransport
from litekube.machinery.clock import RealClock
from litekube.proxy.apply import FakeNft, NftApplier
from litekube.proxy.proxier import ENDPOINT_SLICES, SERVICES, ServiceProxy
from tests.proxy.objects import endpoint, endpoint_slice, service


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Client, FakeTransport, FakeNft, ServiceProxy]]:
    (tmp_path / "net/ipv4/conf/all").mkdir(parents=True)
    (tmp_path / "net/ipv4/conf/all/route_localnet").write_text("0\n")
    transport = FakeTransport()
    client = Client(transport)
    nft = FakeNft()
    proxy = ServiceProxy(
        client, ["192.0.2.2"], RealClock(), 0.01, node_name="node-1", applier=NftApplier(nft, tmp_path)
    )
    yield client, transport, nft, proxy
    await proxy.stop()


async def wait_for(predicate: object, timeout: float = 2.0) -> float:
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() - started < timeout, "condition not met in time"
        await asyncio.sleep(0.005)
    return time.monotonic() - started


async def test_endpoint_changes_reach_the_table_quickly(
    setup: tuple[Client, FakeTransport, FakeNft, ServiceProxy],
) -> None:
    client, _transport, nft, proxy = setup
    await client.create(
        SERVICES, service("web", "10.96.0.20", [{"name": "http", "port": 80, "protocol": "TCP"}])
    )
    ports = [{"name": "http", "port": 8080, "protocol": "TCP"}]
    eps = await client.create(ENDPOINT_SLICES, endpoint_slice("web", [endpoint("10.244.0.5")], ports))
    await proxy.start()
    await wait_for(lambda: any("dnat to 10.244.0.5:8080" in s for s in nft.scripts))
    eps["endpoints"].append(endpoint("10.244.0.6"))
    await client.update(ENDPOINT_SLICES, eps)
    assert await wait_for(lambda: "dnat to 10.244.0.6:8080" in nft.scripts[-1]) < 1.0
    applied = len(nft.scripts)
    await proxy.sync()  # nothing changed: no new nft run
    assert len(nft.scripts) == applied
    await client.delete(SERVICES, "web", "default")
    await wait_for(lambda: "delete chain" in nft.scripts[-1] and "10.96.0.20" not in nft.scripts[-1])


async def test_load_balancer_gets_node_address_as_ingress(
    setup: tuple[Client, FakeTransport, FakeNft, ServiceProxy],
) -> None:
    client, transport, _nft, proxy = setup
    await client.create(
        SERVICES, service("lb", "10.96.0.30", [{"port": 80, "nodePort": 31000}], kind="LoadBalancer")
    )
    await client.create(SERVICES, service("plain", "10.96.0.31", [{"port": 80}]))
    await proxy.start()

    def ingress() -> object:
        obj = transport.get_object(SERVICES, "default", "lb") or {}
        return ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")

    await wait_for(lambda: ingress() == [{"ip": "192.0.2.2", "ipMode": "VIP"}])
    status_writes = transport.writes_to("services", "PATCH", subresource="status")
    assert [w.name for w in status_writes] == ["lb"]  # the ClusterIP service is left alone
    # turned into a ClusterIP service: the ingress goes away
    lb = transport.get_object(SERVICES, "default", "lb")
    assert lb is not None
    lb["spec"]["type"] = "ClusterIP"
    del lb["spec"]["ports"][0]["nodePort"]
    await client.update(SERVICES, lb)
    await wait_for(lambda: ingress() is None)


async def test_stop_removes_the_table(setup: tuple[Client, FakeTransport, FakeNft, ServiceProxy]) -> None:
    _client, _transport, nft, proxy = setup
    await proxy.start()
    await wait_for(lambda: nft.tables == {"litekube"})
    await proxy.stop()
    assert nft.tables == set()


async def test_failed_apply_is_retried(setup: tuple[Client, FakeTransport, FakeNft, ServiceProxy]) -> None:
    client, _transport, nft, proxy = setup
    nft.fail_next = 1
    await client.create(SERVICES, service("web", "10.96.0.20", [{"port": 80}]))
    await proxy.start()
    await wait_for(lambda: nft.tables == {"litekube"}, timeout=3.0)
    assert "10.96.0.20 . tcp . 80 : goto reject-chain" in nft.scripts[-1]
