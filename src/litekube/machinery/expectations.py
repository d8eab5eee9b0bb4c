"""Expectations: remember writes whose effects the informer cache has not shown yet.

A ReplicaSet controller that creates 3 pods must not create 3 more on the next `sync` just
because its pod cache still shows none. Before writing, it records "expect 3 creations"
under the owner's key; the pod informer's add handler calls `creation_observed` for each
pod it sees; `satisfied_expectations(key)` is True once all were observed — or when the
record is older than the TTL (5 minutes upstream), so a lost event cannot wedge the owner.

`UIDTrackingControllerExpectations` also remembers *which* pods are expected to go away,
so that a pod seen first with a deletionTimestamp and later as a DELETE counts only once.
"""

from __future__ import annotations

from dataclasses import dataclass

from litekube.machinery.clock import Clock

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class Expectation:
    add: int
    delete: int
    timestamp: float

    @property
    def fulfilled(self) -> bool:
        return self.add <= 0 and self.delete <= 0


class ControllerExpectations:
    def __init__(self, clock: Clock, ttl: float = EXPECTATIONS_TIMEOUT) -> None:
        self.clock = clock
        self.ttl = ttl
        self._records: dict[str, Expectation] = {}

    def get(self, key: str) -> Expectation | None:
        return self._records.get(key)

    def satisfied_expectations(self, key: str) -> bool:
        """True when the controller may act: nothing pending, all seen, or the record expired."""
        record = self._records.get(key)
        if record is None:
            # No record: a new owner, or one whose expectations were deleted — sync.
            return True
        if record.fulfilled:
            return True
        return self.clock.monotonic() - record.timestamp > self.ttl

    def set_expectations(self, key: str, add: int, delete: int) -> None:
        self._records[key] = Expectation(add, delete, self.clock.monotonic())

    def expect_creations(self, key: str, adds: int) -> None:
        self.set_expectations(key, adds, 0)

    def expect_deletions(self, key: str, dels: int) -> None:
        self.set_expectations(key, 0, dels)

    def lower_expectations(self, key: str, add: int, delete: int) -> None:
        record = self._records.get(key)
        if record is not None:
            record.add -= add
            record.delete -= delete

    def raise_expectations(self, key: str, add: int, delete: int) -> None:
        record = self._records.get(key)
        if record is not None:
            record.add += add
            record.delete += delete

    def creation_observed(self, key: str) -> None:
        self.lower_expectations(key, 1, 0)

    def deletion_observed(self, key: str) -> None:
        self.lower_expectations(key, 0, 1)

    def delete_expectations(self, key: str) -> None:
        self._records.pop(key, None)


class UIDTrackingControllerExpectations(ControllerExpectations):
    """Deletions are tracked by dependent key ("namespace/name") so each counts once."""

    def __init__(self, clock: Clock, ttl: float = EXPECTATIONS_TIMEOUT) -> None:
        super().__init__(clock, ttl)
        self._deleting: dict[str, set[str]] = {}

    def expect_deletions_of(self, key: str, dependent_keys: list[str]) -> None:
        self._deleting[key] = set(dependent_keys)
        self.set_expectations(key, 0, len(dependent_keys))

    def deletion_observed_of(self, key: str, dependent_key: str) -> None:
        pending = self._deleting.get(key)
        if pending is not None and dependent_key in pending:
            pending.discard(dependent_key)
            self.lower_expectations(key, 0, 1)

    def pending_deletions(self, key: str) -> set[str]:
        return set(self._deleting.get(key, ()))

    def delete_expectations(self, key: str) -> None:
        super().delete_expectations(key)
        self._deleting.pop(key, None)
