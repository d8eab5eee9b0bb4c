from __future__ import annotations

import pytest

from litekube.client.base import ApiError, Client
from litekube.client.fake import FakeTransport
from litekube.controllers.resources import DEPLOYMENTS, PODS
from litekube.machinery.clock import FakeClock


def deployment(replicas: int = 1) -> dict:
    return {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"replicas": 99},
    }


async def test_create_get_conflict_and_already_exists() -> None:
    client = Client(FakeTransport(FakeClock()))
    created = await client.create(DEPLOYMENTS, deployment())
    meta = created["metadata"]
    assert meta["generation"] == 1 and meta["uid"] and meta["creationTimestamp"] == "2025-01-01T00:00:00Z"
    assert created["status"] == {}  # create drops client-supplied status
    with pytest.raises(ApiError) as exists:
        await client.create(DEPLOYMENTS, deployment())
    assert exists.value.code == 409 and exists.value.reason == "AlreadyExists"
    assert exists.value.status["message"] == 'deployments.apps "web" already exists'
    stale = dict(created)
    await client.patch(DEPLOYMENTS, "web", {"metadata": {"labels": {"x": "y"}}}, "default")
    with pytest.raises(ApiError) as conflict:
        await client.update(DEPLOYMENTS, stale)
    assert conflict.value.reason == "Conflict"
    with pytest.raises(ApiError) as missing:
        await client.get(DEPLOYMENTS, "nope", "default")
    assert missing.value.status["message"] == 'deployments.apps "nope" not found'


async def test_generation_bumps_on_spec_change_only_and_status_is_separate() -> None:
    fake = FakeTransport(FakeClock())
    client = Client(fake)
    await client.create(DEPLOYMENTS, deployment())
    d = await client.patch(DEPLOYMENTS, "web", {"metadata": {"annotations": {"a": "b"}}}, "default")
    assert d["metadata"]["generation"] == 1
    d = await client.patch(
        DEPLOYMENTS, "web", {"spec": {"replicas": 2}, "status": {"replicas": 5}}, "default"
    )
    assert d["metadata"]["generation"] == 2 and d["status"] == {}
    d["status"] = {"replicas": 2}
    d = await client.update_status(DEPLOYMENTS, d)
    assert d["status"] == {"replicas": 2} and d["metadata"]["generation"] == 2
    before = fake.resource_version
    await client.update(DEPLOYMENTS, d)  # no change: no new version
    assert fake.resource_version == before


async def test_scale_subresource() -> None:
    client = Client(FakeTransport(FakeClock()))
    await client.create(DEPLOYMENTS, deployment(3))
    scale = await client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 5}}, "default", subresource="scale")
    assert scale["kind"] == "Scale" and scale["spec"] == {"replicas": 5}
    assert scale["status"]["selector"] == "app=web"
    assert (await client.get(DEPLOYMENTS, "web", "default"))["spec"]["replicas"] == 5


async def test_generate_name_and_label_selector_list() -> None:
    client = Client(FakeTransport(FakeClock()))
    await client.create(PODS, {"metadata": {"generateName": "web-", "labels": {"app": "web"}}}, "default")
    await client.create(PODS, {"metadata": {"name": "other", "labels": {"app": "db"}}}, "default")
    listed = await client.list(PODS, "default", label_selector="app in (web)")
    [pod] = listed["items"]
    assert pod["metadata"]["name"].startswith("web-") and len(pod["metadata"]["name"]) == 9
    assert int(listed["metadata"]["resourceVersion"]) >= 3


async def test_finalizers_hold_deletion_until_removed() -> None:
    fake = FakeTransport(FakeClock())
    client = Client(fake)
    await client.create(DEPLOYMENTS, deployment())
    held = await client.delete(DEPLOYMENTS, "web", "default", propagation_policy="Orphan")
    assert held["metadata"]["finalizers"] == ["orphan"] and held["metadata"]["deletionTimestamp"]
    await client.patch(DEPLOYMENTS, "web", {"metadata": {"finalizers": None}}, "default")
    assert fake.get_object(DEPLOYMENTS, "default", "web") is None


async def test_watch_from_resource_version_replays_history() -> None:
    fake = FakeTransport(FakeClock())
    client = Client(fake)
    created = await client.create(PODS, {"metadata": {"name": "a"}}, "default")
    await client.delete(PODS, "a", "default")
    stream = client.watch(PODS, "default", resource_version="1")
    first = await anext(stream)
    second = await anext(stream)
    assert (first["type"], second["type"]) == ("ADDED", "DELETED")
    assert first["object"]["metadata"]["uid"] == created["metadata"]["uid"]
    fake.compact()
    old = client.watch(PODS, "default", resource_version="1")
    error = await anext(old)
    assert error["type"] == "ERROR" and error["object"]["code"] == 410
