"""Create/get/update/delete, revisions and preconditions, on both backends."""

from __future__ import annotations

import pytest

from litekube.storage.types import (
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Storage,
)


async def test_create_get_update_delete(storage: Storage) -> None:
    assert await storage.current_revision() == 0
    assert await storage.get("/a") is None

    rev1 = await storage.create("/a", b"one")
    assert rev1 == 1
    assert await storage.get("/a") == KeyValue("/a", b"one", 1, 1)

    rev2 = await storage.update("/a", b"two", expected_revision=rev1)
    assert rev2 == 2
    assert await storage.get("/a") == KeyValue("/a", b"two", 1, 2)

    rev3, deleted = await storage.delete("/a", expected_revision=None)
    assert rev3 == 3
    assert deleted == KeyValue("/a", b"two", 1, 2)
    assert await storage.get("/a") is None
    assert await storage.current_revision() == 3


async def test_revisions_strictly_increase_across_keys(storage: Storage) -> None:
    revisions = []
    for index in range(20):
        revisions.append(await storage.create(f"/k/{index}", b"v"))
        revisions.append(await storage.update(f"/k/{index}", b"w", None))
    assert revisions == list(range(1, 41))
    assert await storage.current_revision() == 40


async def test_create_existing_raises(storage: Storage) -> None:
    await storage.create("/a", b"1")
    with pytest.raises(KeyExistsError):
        await storage.create("/a", b"2")
    assert (await storage.get("/a")) == KeyValue("/a", b"1", 1, 1)
    assert await storage.current_revision() == 1  # a failed write takes no revision


async def test_update_and_delete_missing_raise_not_found(storage: Storage) -> None:
    with pytest.raises(KeyNotFoundError):
        await storage.update("/missing", b"x", None)
    with pytest.raises(KeyNotFoundError):
        await storage.delete("/missing", None)
    await storage.create("/gone", b"x")
    await storage.delete("/gone", None)
    with pytest.raises(KeyNotFoundError):
        await storage.update("/gone", b"y", 1)
    with pytest.raises(KeyNotFoundError):
        await storage.delete("/gone", None)


async def test_expected_revision_mismatch_conflicts(storage: Storage) -> None:
    rev = await storage.create("/a", b"1")
    await storage.update("/a", b"2", rev)
    with pytest.raises(ConflictError):
        await storage.update("/a", b"3", rev)
    with pytest.raises(ConflictError):
        await storage.delete("/a", rev)
    assert (await storage.get("/a")) == KeyValue("/a", b"2", 1, 2)


async def test_recreate_after_delete_gets_new_create_revision(storage: Storage) -> None:
    await storage.create("/a", b"1")
    await storage.delete("/a", None)
    rev = await storage.create("/a", b"again")
    assert rev == 3
    assert await storage.get("/a") == KeyValue("/a", b"again", 3, 3)


async def test_values_are_bytes_round_trip(storage: Storage) -> None:
    value = bytes(range(256)) * 8
    await storage.create("/bin", value)
    got = await storage.get("/bin")
    assert got is not None and got.value == value
