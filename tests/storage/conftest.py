"""Fixtures: every shared-semantics test runs against both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from litekube.storage.memory import MemoryStorage
from litekube.storage.sqlite import SQLiteStorage
from litekube.storage.types import Storage


@pytest.fixture(params=["memory", "sqlite"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    backend: Storage
    if request.param == "memory":
        backend = MemoryStorage()
    else:
        # Background compaction off: tests that want it ask for it explicitly.
        backend = SQLiteStorage(str(tmp_path / "state.db"), compact_interval=0)
    await backend.start()
    yield backend
    await backend.close()
