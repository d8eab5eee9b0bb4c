"""Indexed completion mode: which index a pod has, and the `completedIndexes` text.

`completedIndexes` is upstream's compressed interval list: indexes {0, 1, 2, 4, 6, 7}
are written "0-2,4,6-7".
"""

from __future__ import annotations

from litekube.client.base import JSON

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"


def pod_index(pod: JSON) -> int | None:
    meta = pod.get("metadata") or {}
    raw = (meta.get("annotations") or {}).get(COMPLETION_INDEX) or (meta.get("labels") or {}).get(
        COMPLETION_INDEX
    )
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def format_indexes(indexes: set[int]) -> str:
    parts: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def parse_indexes(text: str | None, completions: int) -> set[int]:
    out: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            start, end = int(low), int(high or low)
        except ValueError:
            continue
        out.update(i for i in range(start, end + 1) if i < completions)
    return out
