"""Revisioned key/value storage (the kine model).

Only `litekube.apiserver` imports this package. See `types.py` for the interface,
`sqlite.py` for the default backend, `etcd.py` for the distributed one and `memory.py` for
the in-memory one used in tests (docs/storage.md compares them). `open_storage()` picks a backend from a URL, like kine's driver registry.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litekube.storage.types import Storage


def open_storage(url_or_path: str) -> Storage:
    """A (not yet started) backend for a URL or path.

    - `sqlite:///var/lib/litekube/state.db` (absolute; `sqlite://state.db` is relative), or a
      bare path → SQLiteStorage
    - `memory://` → MemoryStorage
    - `etcd://host:2379[,host:2379...]` (or `http://host:2379`) → EtcdStorage; plain HTTP
      to etcd's client URLs, no TLS or auth yet (docs/storage.md)
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
    if scheme in ("etcd", "etcd3", "http"):
        from litekube.storage.etcd import EtcdStorage

        return EtcdStorage(etcd_endpoints(url_or_path, rest))
    if scheme in ("https", "etcds"):
        raise NotImplementedError(f"TLS to etcd ({url_or_path}) is not supported yet; use etcd://host:port")
    raise ValueError(f"unknown storage URL scheme {scheme!r} in {url_or_path!r}")


def etcd_endpoints(url: str, rest: str) -> list[str]:
    """`etcd://a:2379,b:2379` → ["http://a:2379", "http://b:2379"] (port 2379 if none)."""
    hosts = rest.split("/", 1)[0].split("?", 1)[0]
    endpoints = []
    for host in filter(None, (part.strip() for part in hosts.split(","))):
        has_port = host.rsplit(":", 1)[-1].isdigit() and not host.endswith("]")
        endpoints.append(f"http://{host}" if has_port else f"http://{host}:2379")
    if not endpoints:
        raise ValueError(f"storage URL {url!r} names no etcd endpoint")
    return endpoints
