"""The storage interface every backend implements (SQLite, etcd, memory).

The model is kine's: one global, strictly increasing revision. Every write (create,
update, delete) gets the next revision; that number is the object's resourceVersion.
Values are opaque bytes (the apiserver stores JSON without metadata.resourceVersion and
injects it on read from `mod_revision`).

Errors are the exceptions below; the apiserver turns them into Kubernetes Status answers.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Literal, Protocol


class StorageError(Exception):
    """Base of all storage errors."""


class KeyExistsError(StorageError):
    """create() of a key that exists (→ 409 AlreadyExists)."""


class KeyNotFoundError(StorageError):
    """update()/delete() of a key that does not exist (→ 404 NotFound)."""


class ConflictError(StorageError):
    """update()/delete() with an expected revision that is not the key's current one (→ 409 Conflict)."""


class CompactedError(StorageError):
    """list() or watch() at a revision older than the compacted revision (→ 410 Gone)."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"revision {requested} has been compacted (compacted revision {compacted})")
        self.requested = requested
        self.compacted = compacted


class FutureRevisionError(StorageError):
    """list() at a revision newer than the current one (→ 504/"Too large resource version")."""


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: Literal["PUT", "DELETE"]
    kv: KeyValue  # for DELETE: the deleted value, with mod_revision = the delete's revision
    prev: KeyValue | None  # the previous value (None on create)

    @property
    def created(self) -> bool:
        return self.type == "PUT" and self.prev is None


@dataclass(frozen=True, slots=True)
class ListResult:
    revision: int  # the revision the list is consistent at
    items: list[KeyValue]
    more: bool  # True when `limit` cut the result; continue with start_after=items[-1].key


class Storage(Protocol):
    async def start(self) -> None:
        """Open the backend (create tables, recover). Must be called before anything else."""

    async def close(self) -> None:
        """Flush everything acknowledged and release resources. Watches end."""

    async def current_revision(self) -> int: ...

    async def get(self, key: str) -> KeyValue | None: ...

    async def create(self, key: str, value: bytes) -> int:
        """Insert a new key; return the new revision. KeyExistsError if present."""

    async def update(self, key: str, value: bytes, expected_revision: int | None) -> int:
        """Replace a key's value; return the new revision.

        expected_revision None means unconditional. KeyNotFoundError, ConflictError.
        """

    async def delete(self, key: str, expected_revision: int | None) -> tuple[int, KeyValue]:
        """Delete; return (the delete's revision, the value deleted)."""

    async def list(
        self,
        prefix: str,
        revision: int = 0,
        limit: int = 0,
        start_after: str | None = None,
    ) -> ListResult:
        """Keys under prefix as of `revision` (0 = now), sorted by key.

        CompactedError if revision < compacted revision; FutureRevisionError if > current.
        """

    def watch(self, prefix: str, from_revision: int) -> AsyncGenerator[WatchEvent, None]:
        """Events under prefix with revision > from_revision, in revision order, then live.

        Raises CompactedError (on first iteration) if from_revision is older than the
        compacted revision. The iterator ends when the storage closes. A consumer that
        stops early should aclose() it (e.g. `async with contextlib.aclosing(...)`).
        """
        ...

    async def compact(self, revision: int) -> None:
        """Forget history older than revision (latest value of every live key is kept)."""

    async def compacted_revision(self) -> int: ...
