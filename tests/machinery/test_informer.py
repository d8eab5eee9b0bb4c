from __future__ import annotations

from litekube.client.base import JSON, Client
from litekube.client.fake import FakeTransport
from litekube.controllers.resources import PODS
from litekube.machinery.clock import FakeClock
from litekube.machinery.informer import InformerFactory, SharedInformer


def pod(name: str, owner_uid: str | None = None) -> JSON:
    meta: JSON = {"name": name, "labels": {"app": "x"}}
    if owner_uid:
        meta["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "X", "name": "o", "uid": owner_uid, "controller": True}
        ]
    return {"metadata": meta, "spec": {"containers": [{"name": "c"}]}}


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def add(self, obj: JSON) -> None:
        self.events.append(("add", obj["metadata"]["name"]))

    def update(self, old: JSON, new: JSON) -> None:
        self.events.append(("update", new["metadata"]["name"]))

    def delete(self, obj: JSON) -> None:
        self.events.append(("delete", obj["metadata"]["name"]))


async def make() -> tuple[FakeTransport, Client, SharedInformer, Recorder]:
    fake = FakeTransport(FakeClock())
    client = Client(fake)
    informer = SharedInformer(client, PODS, FakeClock())
    rec = Recorder()
    informer.add_handlers(rec.add, rec.update, rec.delete)
    return fake, client, informer, rec


async def test_list_then_watch_feeds_cache_indexes_and_handlers() -> None:
    fake, client, informer, rec = await make()
    await client.create(PODS, pod("a", "owner-1"), "default")
    informer.start()
    await informer.wait_for_sync()
    assert informer.has_synced()
    await client.create(PODS, pod("b", "owner-1"), "other")
    await client.patch(PODS, "a", {"metadata": {"labels": {"app": "y"}}}, "default")
    await client.delete(PODS, "a", "default")
    await fake.settle()
    assert rec.events == [("add", "a"), ("add", "b"), ("update", "a"), ("delete", "a")]
    assert informer.store.get_by_name("other", "b") is not None
    assert [p["metadata"]["name"] for p in informer.store.by_owner("owner-1")] == ["b"]
    assert [p["metadata"]["name"] for p in informer.store.list("other")] == ["b"]
    assert informer.store.list("default") == []
    uid = informer.store.get_by_name("other", "b")["metadata"]["uid"]  # type: ignore[index]
    assert informer.store.get_by_uid(uid)["metadata"]["name"] == "b"  # type: ignore[index]
    await informer.stop()


async def test_rewatches_from_last_version_when_stream_ends() -> None:
    fake, client, informer, rec = await make()
    informer.start()
    await informer.wait_for_sync()
    await client.create(PODS, pod("a"), "default")
    await fake.settle()
    fake.end_watches()
    await fake.settle()
    await client.create(PODS, pod("b"), "default")
    await fake.settle()
    assert rec.events == [("add", "a"), ("add", "b")]
    assert informer.relists == 0  # no relist: the watch resumed from its resourceVersion
    await informer.stop()


async def test_relists_after_410_and_reports_missed_deletions() -> None:
    fake, client, informer, rec = await make()
    await client.create(PODS, pod("a"), "default")
    informer.start()
    await informer.wait_for_sync()
    await fake.settle()
    # the watch breaks; meanwhile "a" is deleted and history is compacted
    fake.end_watches()
    await client.delete(PODS, "a", "default")
    await client.create(PODS, pod("b"), "default")
    fake.compact()
    await fake.settle()
    for _ in range(5):
        await fake.settle()
    assert informer.relists >= 1
    assert ("delete", "a") in rec.events and ("add", "b") in rec.events
    assert [p["metadata"]["name"] for p in informer.store.list()] == ["b"]
    await informer.stop()


async def test_factory_shares_one_informer_per_type_and_late_handlers_see_cache() -> None:
    fake = FakeTransport(FakeClock())
    client = Client(fake)
    await client.create(PODS, pod("a"), "default")
    factory = InformerFactory(client, FakeClock())
    assert factory.informer(PODS) is factory.informer(PODS)
    factory.start()
    await factory.wait_for_sync()
    late = Recorder()
    factory.informer(PODS).add_handlers(late.add)
    assert late.events == [("add", "a")]
    await factory.stop()
