"""Revisioned key/value storage (the kine model).

Only `litekube.apiserver` imports this package. See `types.py` for the interface,
`sqlite.py` for the default backend and `memory.py` for the in-memory one used in tests.
`open_storage()` picks a backend from a URL, like kine's driver registry.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litekube.storage.types import Storage


def open_storage(url_or_path: str) -> Storage:
    """A (not yet started) backend for a URL or path.

    - `sqlite:///var/lib/litekube/state.db` (absolute; `sqlite://state.db` is relative), or a
      bare path → SQLiteStorage
    - `memory://` → MemoryStorage
    - `etcd://host:2379` → not implemented yet
    """
    scheme, _, rest = url_or_path.partition("://")
    if not _:
        scheme, rest = "", url_or_path
    scheme = scheme.lower()
    if scheme == "memory":
        from litekube.storage.memory import MemoryStorage

        return MemoryStorage()
    if scheme in ("", "sqlite", "sqlite3", "file"):
        path = rest
        if scheme:
            # sqlite:///abs/path → "/abs/path"; sqlite://rel/path → "rel/path"; drop any ?query
            path = urlsplit(url_or_path).path if rest.startswith("/") else rest.split("?", 1)[0]
        if not path:
            raise ValueError(f"storage URL {url_or_path!r} names no database file")
        from litekube.storage.sqlite import SQLiteStorage

        return SQLiteStorage(path)
    if scheme in ("etcd", "etcd3", "http", "https"):
        raise NotImplementedError(
            f"etcd storage ({url_or_path}) is not implemented yet; use sqlite:///path/state.db or memory://"
        )
    raise ValueError(f"unknown storage URL scheme {scheme!r} in {url_or_path!r}")
