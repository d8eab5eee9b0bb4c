"""list(): prefixes, consistency at old revisions, paging; on both backends."""

from __future__ import annotations

import pytest

from litekube.storage.types import FutureRevisionError, Storage


async def test_list_prefix_is_sorted_and_bounded(storage: Storage) -> None:
    for key in ["/registry/pods/b", "/registry/pods/a", "/registry/podsx/z", "/registry/pod", "/r/c"]:
        await storage.create(key, key.encode())
    result = await storage.list("/registry/pods/")
    assert [kv.key for kv in result.items] == ["/registry/pods/a", "/registry/pods/b"]
    assert result.revision == 5
    assert not result.more
    everything = await storage.list("")
    assert [kv.key for kv in everything.items] == sorted(
        ["/registry/pods/b", "/registry/pods/a", "/registry/podsx/z", "/registry/pod", "/r/c"]
    )


async def test_list_at_old_revision_sees_the_past(storage: Storage) -> None:
    await storage.create("/p/a", b"a1")
    await storage.create("/p/b", b"b1")
    snapshot = await storage.current_revision()
    await storage.update("/p/a", b"a2", None)
    await storage.delete("/p/b", None)
    await storage.create("/p/c", b"c1")

    old = await storage.list("/p/", revision=snapshot)
    assert old.revision == snapshot
    assert [(kv.key, kv.value, kv.mod_revision) for kv in old.items] == [
        ("/p/a", b"a1", 1),
        ("/p/b", b"b1", 2),
    ]

    now = await storage.list("/p/")
    assert [(kv.key, kv.value) for kv in now.items] == [("/p/a", b"a2"), ("/p/c", b"c1")]
    assert now.revision == 5

    before_anything = await storage.list("/p/", revision=1)
    assert [kv.key for kv in before_anything.items] == ["/p/a"]


async def test_list_future_revision_raises(storage: Storage) -> None:
    await storage.create("/a", b"1")
    with pytest.raises(FutureRevisionError):
        await storage.list("/", revision=2)


async def test_paging_with_limit_and_start_after_is_consistent(storage: Storage) -> None:
    for index in range(10):
        await storage.create(f"/items/{index:02d}", b"v")
    await storage.delete("/items/03", None)  # tombstones must not count toward a page

    first = await storage.list("/items/", limit=4)
    assert [kv.key for kv in first.items] == ["/items/00", "/items/01", "/items/02", "/items/04"]
    assert first.more

    # Writes between pages must not show up: later pages are read at the first's revision.
    await storage.create("/items/05a", b"new")
    await storage.delete("/items/06", None)

    keys = [kv.key for kv in first.items]
    page = first
    while page.more:
        page = await storage.list("/items/", revision=first.revision, limit=4, start_after=page.items[-1].key)
        assert page.revision == first.revision
        keys.extend(kv.key for kv in page.items)
    assert keys == [f"/items/{index:02d}" for index in range(10) if index != 3]


async def test_limit_exactly_matching_count_has_no_more(storage: Storage) -> None:
    for index in range(3):
        await storage.create(f"/x/{index}", b"v")
    result = await storage.list("/x/", limit=3)
    assert len(result.items) == 3
    assert not result.more


async def test_start_after_outside_prefix(storage: Storage) -> None:
    for key in ["/a/1", "/a/2", "/b/1"]:
        await storage.create(key, b"v")
    # start_after before the prefix range: the whole prefix; after it: nothing.
    assert [kv.key for kv in (await storage.list("/b/", start_after="/a/9")).items] == ["/b/1"]
    assert (await storage.list("/a/", start_after="/b/")).items == []
