"""Explanation records: for every ECS input field, where it went and how faithfully.

Flow: the converter holds one `Explainer`. Mapping code takes a `Scope` (a document
label plus a JSON path into that document) and calls `scope.at("cpu").record(...)` for
each field it handles. A record on a path also accounts for everything below it, so a
whole container dropped on purpose needs one record. When conversion is done,
`Explainer.account(document, data)` walks the input and adds an "unmapped" record for
each leaf nobody recorded (kompose's "Unsupported key" warning, made systematic), so
every input field appears in the table.

Paths look like `containerDefinitions[1].healthCheck.interval`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    EXACT = "exact"
    APPROXIMATE = "approximate"
    IMPOSSIBLE = "impossible"
    # read-only or runtime fields (describe output) and null/empty values: nothing to map
    IGNORED = "ignored"
    # a field this bridge does not know (a newer ECS API?)
    UNMAPPED = "unmapped"
    # the input contradicts itself (e.g. a reference to a container that does not exist)
    ERROR = "error"


@dataclass(frozen=True)
class Record:
    document: str
    ecs_path: str
    k8s_path: str
    rule: str
    severity: Severity
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "document": self.document,
            "ecs_path": self.ecs_path,
            "k8s_path": self.k8s_path,
            "rule": self.rule,
            "severity": str(self.severity),
            "note": self.note,
        }


def join_path(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


def covers(ancestor: str, path: str) -> bool:
    """True when `ancestor` is `path` or one of its parents (`a.b` covers `a.b[0].c`)."""
    if ancestor == "" or ancestor == path:
        return True
    return path.startswith(ancestor) and path[len(ancestor)] in ".["


@dataclass
class Explainer:
    records: list[Record] = field(default_factory=list)

    def scope(self, document: str, path: str = "") -> Scope:
        return Scope(self, document, path)

    def account(self, document: str, data: object, base: str = "") -> None:
        """Add an UNMAPPED record for every leaf of `data` that no record covers."""
        recorded = [r.ecs_path for r in self.records if r.document == document]
        for path in leaf_paths(data, base):
            if not any(covers(r, path) for r in recorded):
                self.records.append(
                    Record(
                        document,
                        path,
                        "",
                        "none",
                        Severity.UNMAPPED,
                        "unknown ECS field (newer API?) - ignored",
                    )
                )

    def has(self, severity: Severity) -> bool:
        return any(r.severity is severity for r in self.records)


@dataclass(frozen=True)
class Scope:
    explainer: Explainer
    document: str
    path: str

    def at(self, key: str | int) -> Scope:
        return Scope(self.explainer, self.document, join_path(self.path, key))

    def record(self, k8s_path: str, rule: str, severity: Severity, note: str = "") -> None:
        self.explainer.records.append(Record(self.document, self.path, k8s_path, rule, severity, note))

    def exact(self, k8s_path: str, rule: str, note: str = "") -> None:
        self.record(k8s_path, rule, Severity.EXACT, note)

    def approx(self, k8s_path: str, rule: str, note: str = "") -> None:
        self.record(k8s_path, rule, Severity.APPROXIMATE, note)

    def impossible(self, rule: str, note: str = "", k8s_path: str = "") -> None:
        self.record(k8s_path, rule, Severity.IMPOSSIBLE, note)

    def ignored(self, rule: str, note: str = "") -> None:
        self.record("", rule, Severity.IGNORED, note)

    def error(self, rule: str, note: str = "") -> None:
        self.record("", rule, Severity.ERROR, note)


def leaf_paths(data: object, base: str = "") -> Iterator[str]:
    """Paths of the scalars, empty containers and nulls inside `data`."""
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from leaf_paths(value, join_path(base, str(key)))
    elif isinstance(data, list) and data:
        for index, value in enumerate(data):
            yield from leaf_paths(value, join_path(base, index))
    else:
        yield base
