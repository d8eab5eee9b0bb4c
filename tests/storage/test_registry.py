"""open_storage(): backend chosen by URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from litekube.storage import open_storage
from litekube.storage.etcd import EtcdStorage
from litekube.storage.memory import MemoryStorage
from litekube.storage.sqlite import SQLiteStorage


async def test_sqlite_url_and_bare_path(tmp_path: Path) -> None:
    for url in (f"sqlite://{tmp_path}/a/state.db", str(tmp_path / "b" / "state.db")):
        storage = open_storage(url)
        assert isinstance(storage, SQLiteStorage)
        await storage.start()
        await storage.create("/k", b"v")
        await storage.close()
    assert (tmp_path / "a" / "state.db").exists()
    assert (tmp_path / "b" / "state.db").exists()


def test_memory_url() -> None:
    assert isinstance(open_storage("memory://"), MemoryStorage)


def test_etcd_urls_name_their_endpoints() -> None:
    storage = open_storage("etcd://10.0.0.1:2379,etcd-b,[::1]:2380")
    assert isinstance(storage, EtcdStorage)
    assert storage.endpoints == ["http://10.0.0.1:2379", "http://etcd-b:2379", "http://[::1]:2380"]
    plain = open_storage("http://127.0.0.1:12379")
    assert isinstance(plain, EtcdStorage) and plain.endpoints == ["http://127.0.0.1:12379"]
    with pytest.raises(NotImplementedError, match="TLS"):
        open_storage("https://127.0.0.1:2379")
    with pytest.raises(ValueError, match="endpoint"):
        open_storage("etcd://")


def test_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="scheme"):
        open_storage("redis://127.0.0.1")
