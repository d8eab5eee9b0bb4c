"""Concurrent writers: preconditions are race-free and revisions unique."""

from __future__ import annotations

import asyncio

from litekube.storage.types import ConflictError, KeyExistsError, Storage


async def test_same_expected_revision_exactly_one_wins(storage: Storage) -> None:
    rev = await storage.create("/hot", b"0")

    async def attempt(index: int) -> int | None:
        try:
            return await storage.update("/hot", str(index).encode(), expected_revision=rev)
        except ConflictError:
            return None

    results = await asyncio.gather(*(attempt(i) for i in range(200)))
    winners = [r for r in results if r is not None]
    assert winners == [rev + 1]
    current = await storage.get("/hot")
    assert current is not None and current.mod_revision == rev + 1


async def test_concurrent_creates_of_one_key_exactly_one_wins(storage: Storage) -> None:
    results = await asyncio.gather(
        *(storage.create("/once", b"v") for _ in range(50)), return_exceptions=True
    )
    assert sum(isinstance(r, int) for r in results) == 1
    assert all(isinstance(r, KeyExistsError) for r in results if not isinstance(r, int))


async def test_concurrent_creates_get_distinct_revisions(storage: Storage) -> None:
    revisions = await asyncio.gather(*(storage.create(f"/many/{i}", b"v") for i in range(300)))
    assert sorted(revisions) == list(range(1, 301))
    listed = await storage.list("/many/")
    assert len(listed.items) == 300
    assert {kv.mod_revision for kv in listed.items} == set(revisions)
