"""The `kubernetes` Service's Endpoints and EndpointSlice, as upstream's endpoint reconciler writes them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from litekube.client.base import JSON
from litekube.controllers.endpoints import ENDPOINTS, EndpointsController
from litekube.controllers.endpoints.controller import SERVICES
from litekube.controllers.endpointslice import ENDPOINT_SLICES, EndpointSliceController
from litekube.controllers.endpointslicemirroring import EndpointSliceMirroringController
from tests.controllers_extra.harness import Harness, new_harness

KUBERNETES_SERVICE: JSON = {
    "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
    "spec": {
        "clusterIP": "10.96.0.1",
        "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
    },
}


async def start(address: str) -> Harness:
    h = new_harness()
    h.controllers += [
        EndpointsController(h.client, h.informers, h.clock, api_address=address, api_port=6443),
        EndpointSliceController(h.client, h.informers, h.clock),
        EndpointSliceMirroringController(h.client, h.informers, h.clock),
    ]
    h.informers.start()
    await h.informers.wait_for_sync()
    await h.client.create(SERVICES, KUBERNETES_SERVICE, "default")
    await h.run()
    return h


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    h = await start("192.0.2.7")
    yield h
    await h.stop()


async def test_endpoints_and_slice_point_at_the_advertise_address(h: Harness) -> None:
    ep = h.fake.get_object(ENDPOINTS, "default", "kubernetes")
    assert ep is not None
    assert ep["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
    assert ep["subsets"] == [
        {"addresses": [{"ip": "192.0.2.7"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}
    ]
    slices = h.fake.objects(ENDPOINT_SLICES, "default")
    assert [s["metadata"]["name"] for s in slices] == ["kubernetes"]  # nobody mirrors it
    eps = slices[0]
    assert eps["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert eps["addressType"] == "IPv4"
    assert eps["endpoints"] == [{"addresses": ["192.0.2.7"], "conditions": {"ready": True}}]
    assert eps["ports"] == [{"name": "https", "port": 6443, "protocol": "TCP"}]


async def test_tampering_is_undone(h: Harness) -> None:
    await h.client.delete(ENDPOINT_SLICES, "kubernetes", "default")
    ep = h.fake.get_object(ENDPOINTS, "default", "kubernetes")
    assert ep is not None
    ep["subsets"][0]["addresses"] = [{"ip": "192.0.2.99"}]
    await h.client.update(ENDPOINTS, ep)
    stray = {
        "metadata": {"name": "kubernetes-extra", "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["192.0.2.98"]}],
        "ports": [],
    }
    await h.client.create(ENDPOINT_SLICES, stray, "default")
    await h.run()
    ep = h.fake.get_object(ENDPOINTS, "default", "kubernetes")
    assert ep is not None and ep["subsets"][0]["addresses"] == [{"ip": "192.0.2.7"}]
    assert [s["metadata"]["name"] for s in h.fake.objects(ENDPOINT_SLICES, "default")] == ["kubernetes"]


async def test_a_restart_with_a_new_address_updates_both() -> None:
    h = await start("192.0.2.7")
    try:
        moved = EndpointsController(h.client, h.informers, h.clock, api_address="192.0.2.8", api_port=6443)
        h.controllers[0] = moved
        moved.queue.add("default/kubernetes")
        writes = len(h.fake.writes)
        await h.run()
        assert len(h.fake.writes) == writes + 2  # one update each, nothing recreated
        eps = h.fake.get_object(ENDPOINT_SLICES, "default", "kubernetes")
        assert eps is not None and eps["endpoints"][0]["addresses"] == ["192.0.2.8"]
    finally:
        await h.stop()


async def test_ipv6_advertise_address_gets_an_ipv6_slice() -> None:
    h = await start("2001:db8::7")
    try:
        eps = h.fake.get_object(ENDPOINT_SLICES, "default", "kubernetes")
        assert eps is not None and eps["addressType"] == "IPv6"
    finally:
        await h.stop()
