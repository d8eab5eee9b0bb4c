"""Fixtures: every shared-semantics test runs against every backend.

etcd runs for real (tests/storage_etcd/etcd_server.py), one fresh member per test so each
test starts at revision 0 like the other backends; it is skipped where etcd is not installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from litekube.storage.etcd import EtcdStorage
from litekube.storage.memory import MemoryStorage
from litekube.storage.sqlite import SQLiteStorage
from litekube.storage.types import Storage
from tests.storage_etcd.etcd_server import running_etcd


@pytest.fixture(params=["memory", "sqlite", "etcd"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    with ExitStack() as stack:
        backend: Storage
        # Background compaction off: tests that want it ask for it explicitly.
        if request.param == "memory":
            backend = MemoryStorage()
        elif request.param == "sqlite":
            backend = SQLiteStorage(str(tmp_path / "state.db"), compact_interval=0)
        else:
            backend = EtcdStorage([stack.enter_context(running_etcd(tmp_path))], compact_interval=0)
        await backend.start()
        yield backend
        await backend.close()
