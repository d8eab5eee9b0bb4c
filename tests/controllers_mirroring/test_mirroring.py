"""The mirroring controller against the fake API: what it writes for hand-written Endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from litekube.api.resources import lookup
from litekube.client.base import JSON
from litekube.controllers.endpoints import ENDPOINTS, EndpointsController
from litekube.controllers.endpoints.controller import SERVICES
from litekube.controllers.endpointslice import ENDPOINT_SLICES, EndpointSliceController
from litekube.controllers.endpointslicemirroring import CONTROLLER_NAME, EndpointSliceMirroringController
from tests.controllers_extra.harness import Harness, new_harness

EVENTS = lookup("", "v1", "events")
assert EVENTS is not None


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    h = new_harness()
    h.controllers += [
        EndpointSliceMirroringController(h.client, h.informers, h.clock, max_endpoints_per_subset=3),
        EndpointsController(h.client, h.informers, h.clock),
        EndpointSliceController(h.client, h.informers, h.clock),
    ]
    h.informers.start()
    await h.informers.wait_for_sync()
    yield h
    await h.stop()


def external_service(name: str = "db", selector: dict[str, str] | None = None) -> JSON:
    spec: JSON = {"ports": [{"name": "pg", "port": 5432, "targetPort": 5432}]}
    if selector:
        spec["selector"] = selector
    return {"metadata": {"name": name}, "spec": spec}


def endpoints(name: str = "db", *subsets: JSON, labels: dict[str, str] | None = None) -> JSON:
    return {
        "metadata": {
            "name": name,
            "labels": labels or {"team": "data"},
            "annotations": {
                "note": "kept",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                "endpoints.kubernetes.io/last-change-trigger-time": "2026-01-01T00:00:00Z",
            },
        },
        "subsets": list(subsets)
        or [
            {"addresses": [{"ip": "192.0.2.10"}], "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}
        ],
    }


def mirrored(h: Harness, name: str = "db") -> list[JSON]:
    return sorted(
        (
            s
            for s in h.fake.objects(ENDPOINT_SLICES, "default")
            if s["metadata"]["labels"].get("kubernetes.io/service-name") == name
        ),
        key=lambda s: s["addressType"],
    )


async def test_selectorless_service_endpoints_are_mirrored(h: Harness) -> None:
    await h.client.create(SERVICES, external_service(), "default")
    ep = await h.client.create(ENDPOINTS, endpoints(), "default")
    await h.run()
    (eps,) = mirrored(h)
    meta = eps["metadata"]
    assert meta["name"].startswith("db-")
    assert meta["labels"] == {
        "team": "data",
        "kubernetes.io/service-name": "db",
        "endpointslice.kubernetes.io/managed-by": CONTROLLER_NAME,
    }
    assert meta["annotations"] == {"note": "kept"}
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "name": "db",
            "uid": ep["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert eps["addressType"] == "IPv4"
    assert eps["endpoints"] == [{"addresses": ["192.0.2.10"], "conditions": {"ready": True}}]
    assert eps["ports"] == [{"name": "pg", "port": 5432, "protocol": "TCP"}]


async def test_families_readiness_and_invalid_addresses(h: Harness) -> None:
    await h.client.create(SERVICES, external_service(), "default")
    subset = {
        "addresses": [
            {"ip": "192.0.2.10", "nodeName": "n1", "hostname": "db-0"},
            {"ip": "2001:db8:0::1"},
            {"ip": "not-an-ip"},
        ],
        "notReadyAddresses": [{"ip": "192.0.2.11"}],
        "ports": [{"name": "pg", "port": 5432}],
    }
    await h.client.create(ENDPOINTS, endpoints("db", subset), "default")
    await h.run()
    v4, v6 = mirrored(h)
    assert v4["addressType"] == "IPv4" and v6["addressType"] == "IPv6"
    assert v4["endpoints"] == [
        {"addresses": ["192.0.2.10"], "conditions": {"ready": True}, "hostname": "db-0", "nodeName": "n1"},
        {"addresses": ["192.0.2.11"], "conditions": {"ready": False}},
    ]
    assert v6["endpoints"] == [{"addresses": ["2001:db8::1"], "conditions": {"ready": True}}]  # normalised
    reasons = {e["reason"]: e["message"] for e in h.fake.objects(EVENTS, "default")}
    assert reasons["InvalidIPAddress"] == "Skipped 1 invalid IP addresses when mirroring to EndpointSlices"


async def test_addresses_past_the_subset_cap_are_dropped_with_a_warning(h: Harness) -> None:
    await h.client.create(SERVICES, external_service(), "default")
    subset = {"addresses": [{"ip": f"192.0.2.{i}"} for i in range(1, 6)], "ports": [{"port": 5432}]}
    await h.client.create(ENDPOINTS, endpoints("db", subset), "default")
    await h.run()
    (eps,) = mirrored(h)
    assert [e["addresses"][0] for e in eps["endpoints"]] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert eps["ports"] == [{"name": "", "port": 5432, "protocol": "TCP"}]
    messages = [
        e["message"] for e in h.fake.objects(EVENTS, "default") if e["reason"] == "TooManyAddressesToMirror"
    ]
    assert messages == [
        "A max of 3 addresses can be mirrored to EndpointSlices per Endpoints subset. 2 addresses were skipped"
    ]


async def test_changes_update_in_place_and_port_changes_replace(h: Harness) -> None:
    await h.client.create(SERVICES, external_service(), "default")
    await h.client.create(ENDPOINTS, endpoints(), "default")
    await h.run()
    (first,) = mirrored(h)
    ep = h.fake.get_object(ENDPOINTS, "default", "db")
    assert ep is not None
    ep["subsets"][0]["addresses"].append({"ip": "192.0.2.20"})
    ep["metadata"]["labels"]["tier"] = "gold"
    await h.client.update(ENDPOINTS, ep)
    await h.run()
    (updated,) = mirrored(h)
    assert updated["metadata"]["name"] == first["metadata"]["name"]
    assert [e["addresses"][0] for e in updated["endpoints"]] == ["192.0.2.10", "192.0.2.20"]
    assert updated["metadata"]["labels"]["tier"] == "gold"
    ep = h.fake.get_object(ENDPOINTS, "default", "db")
    assert ep is not None
    ep["subsets"][0]["ports"] = [{"name": "pg", "port": 6432, "protocol": "TCP"}]
    await h.client.update(ENDPOINTS, ep)
    await h.run()
    (replaced,) = mirrored(h)
    assert replaced["ports"][0]["port"] == 6432


async def test_slices_go_with_the_endpoints_and_come_back_after_tampering(h: Harness) -> None:
    await h.client.create(SERVICES, external_service(), "default")
    await h.client.create(ENDPOINTS, endpoints(), "default")
    await h.run()
    (eps,) = mirrored(h)
    await h.client.delete(ENDPOINT_SLICES, eps["metadata"]["name"], "default")
    await h.run()
    assert len(mirrored(h)) == 1
    await h.client.delete(ENDPOINTS, "db", "default")
    await h.run()
    assert mirrored(h) == []


@pytest.mark.parametrize("case", ["selector", "skip-mirror", "no-service", "leader-lock"])
async def test_not_mirrored(h: Harness, case: str) -> None:
    if case != "no-service":
        await h.client.create(
            SERVICES, external_service(selector={"app": "db"} if case == "selector" else None), "default"
        )
    body = endpoints(
        labels={"endpointslice.kubernetes.io/skip-mirror": "true"} if case == "skip-mirror" else None
    )
    if case == "leader-lock":
        body["metadata"]["annotations"]["control-plane.alpha.kubernetes.io/leader"] = "{}"
    await h.client.create(ENDPOINTS, body, "default")
    await h.run()
    assert [
        s
        for s in mirrored(h)
        if s["metadata"]["labels"].get("endpointslice.kubernetes.io/managed-by") == CONTROLLER_NAME
    ] == []


async def test_service_gaining_a_selector_removes_the_mirror(h: Harness) -> None:
    svc = await h.client.create(SERVICES, external_service(), "default")
    await h.client.create(ENDPOINTS, endpoints(), "default")
    await h.run()
    assert len(mirrored(h)) == 1
    svc["spec"]["selector"] = {"app": "db"}
    await h.client.update(SERVICES, svc)
    await h.run()
    assert not [
        s
        for s in mirrored(h)
        if s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == CONTROLLER_NAME
    ]
