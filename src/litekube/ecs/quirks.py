"""Value quirks that real ECS files contain, normalised with a record for each.

* numbers written as strings (`"memory": "256"`) → ints, noted;
* task sizes with units (`"1 vCPU"`, `"0.25 vcpu"`, `"2 GB"`) → CPU units / MiB;
* `null`, `[]` and `{}` → absent (`drop_empty`, run once over each document);
* unresolved templates (`{{ ... }}`, `REPLACE_ME`, `$$$X$$$`, `<...>`) → kept, reported
  (`report_placeholders`, run once over each document);
* wrong types anywhere → an ERROR record and the field is ignored, never an exception.

All helpers take the `Scope` of the field so the record lands on the right path.
"""

from __future__ import annotations

import math
import re
from typing import Any

from litekube.ecs.explain import Scope, join_path

PLACEHOLDER = re.compile(r"\{\{.*?\}\}|REPLACE_ME|\$\$\$|<[^<>]+>")

# maps whose keys are the user's, not ECS field names
USER_MAPS = frozenset({"dockerLabels", "options", "driverOpts", "labels"})


def drop_empty(data: Any, scope: Scope) -> Any:
    """A copy of `data` without null, empty-list and empty-object fields (recorded as ignored)."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            child = drop_empty(value, scope.at(str(key)))
            if child is None or child == [] or child == {}:
                scope.at(str(key)).ignored("null or empty: treated as absent")
                continue
            out[str(key)] = child
        return out
    if isinstance(data, list):
        items = []
        for index, value in enumerate(data):
            # entries stay in place (as None or empty) so that list indexes in paths keep
            # pointing at the user's input; the mappers skip them
            child = drop_empty(value, scope.at(index))
            if child is None or child == [] or child == {}:
                scope.at(index).ignored("null or empty list entry: skipped")
            items.append(child)
        return items
    return data


def report_placeholders(data: Any, scope: Scope) -> None:
    """Record every string that still holds a template placeholder; the value is kept."""
    if isinstance(data, dict):
        for key, value in data.items():
            report_placeholders(value, scope.at(str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            report_placeholders(value, scope.at(index))
    elif isinstance(data, str) and PLACEHOLDER.search(data):
        scope.approx("(same value)", "unresolved template kept as is", f"resolve {data!r} before applying")


def to_int(value: object, scope: Scope, minimum: int | None = None) -> int | None:
    """An int from an int, an integral float or a numeric string; None (recorded) otherwise."""
    result: int | None = None
    if isinstance(value, bool):
        result = None
    elif isinstance(value, int):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        result = int(value)
        scope.exact("", f"number written as a string: {value!r} read as {result}")
    if result is None:
        if value is not None:
            scope.error("not an integer: ignored", f"value {value!r}")
        return None
    if minimum is not None and result < minimum:
        scope.error(f"below the minimum {minimum}: ignored", f"value {result}")
        return None
    return result


def to_bool(value: object, scope: Scope) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        scope.exact("", f"boolean written as a string: {value!r}")
        return value.strip().lower() == "true"
    if value is not None:
        scope.error("not a boolean: ignored", f"value {value!r}")
    return None


def to_str(value: object, scope: Scope) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        scope.error("not a string: ignored", f"value {value!r}")
        return None
    if isinstance(value, int | float):
        return str(value)
    if value is not None:
        scope.error("not a string: ignored", f"value {value!r}")
    return None


def to_str_list(value: object, scope: Scope) -> list[str] | None:
    """A list of strings; a bare string becomes a one-element list (noted)."""
    if isinstance(value, str):
        scope.exact("", "a single string where a list is expected: read as a one-element list")
        return [value]
    if not isinstance(value, list):
        if value is not None:
            scope.error("not a list: ignored", f"value {value!r}")
        return None
    items: list[str] = []
    for index, item in enumerate(value):
        text = to_str(item, scope.at(index))
        if text is not None:
            items.append(text)
    return items


def as_dict(value: object, scope: Scope) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if value is not None:
        scope.error("not an object: ignored", f"value {value!r}"[:200])
    return None


def as_list(value: object, scope: Scope) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        # a single object where a list is expected: read it as a one-element list
        scope.exact("", "a single object where a list is expected: read as a one-element list")
        return [value]
    if value is not None:
        scope.error("not a list: ignored", f"value {value!r}"[:200])
    return []


def task_cpu_units(value: object, scope: Scope) -> int | None:
    """Task-level cpu: `"1024"`, `1024`, `"1 vCPU"`, `"0.25 vcpu"` → CPU units."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*vcpu\s*", value, re.IGNORECASE)
        if match:
            units = math.ceil(float(match.group(1)) * 1024)
            scope.exact("", f"size with a unit: {value!r} read as {units} CPU units")
            return units if units > 0 else None
    return to_int(value, scope, minimum=1)


def task_memory_mib(value: object, scope: Scope) -> int | None:
    """Task-level memory: `"2048"`, `"2GB"`, `"2 GB"`, `"512 MiB"` → MiB."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(gb|gib|mb|mib)\s*", value, re.IGNORECASE)
        if match:
            number, unit = float(match.group(1)), match.group(2).lower()
            mib = math.ceil(number * 1024) if unit.startswith("g") else math.ceil(number)
            scope.exact("", f"size with a unit: {value!r} read as {mib} MiB", "ECS reads GB as GiB")
            return mib if mib > 0 else None
    return to_int(value, scope, minimum=1)


def escape_dollar(text: str) -> str:
    """Kubernetes expands `$(VAR)` in command, args and env values; ECS does not."""
    return text.replace("$(", "$$(")


def path_of(scope: Scope, key: str | int) -> str:
    return join_path(scope.path, key)
