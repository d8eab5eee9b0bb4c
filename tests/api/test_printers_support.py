"""Shared helpers for the printer tests: a fixed clock and timestamps relative to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litekube.api.printers import build_table
from litekube.api.resources import ResourceType, lookup

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> str:
    """RFC 3339 timestamp `seconds` before NOW."""
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def rt(group: str, plural: str, version: str = "v1") -> ResourceType:
    found = lookup(group, version, plural)
    assert found is not None
    return found


def row(resource: ResourceType, obj: dict[str, Any]) -> list[Any]:
    table = build_table(resource, [obj], now=NOW)
    cells: list[Any] = table["rows"][0]["cells"]
    assert len(cells) == len(table["columnDefinitions"])
    return cells


def by_name(resource: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    table = build_table(resource, [obj], now=NOW)
    names = [c["name"] for c in table["columnDefinitions"]]
    return dict(zip(names, table["rows"][0]["cells"], strict=True))
