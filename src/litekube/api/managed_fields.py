"""Ordinary writes (create, update, non-apply patches) are recorded by `record_update(live, new,
manager, subresource)`, as upstream's fieldmanager does: the fields the write added or
changed join the manager's `Update` entry (one per manager and subresource) and leave every
other manager's set; fields the write removed leave every set. An apply then conflicts with
those owners too (`conflict with "kubectl-client-side-apply" using apps/v1`). Simplified: no
cap of ten Update entries merged into "ancient-changes"; "." marks only maps and keyed list
elements that the write added (upstream also marks added optional structs).
"""

from __future__ import annotations

from typing import Any

from litekube.api.fieldset import (
    JSON,
    MISSING,
    SELF,
    FieldSet,
    Path,
    discard,
    element_name,
    get_path,
    leaves,
    list_keys,
    now,
    sorted_set,
    trimmed,
)
from litekube.api.patch import deep_copy, json_equal
from litekube.api.schema import SchemaNode, root_node, split_api_version


def default_manager(user_agent: str) -> str:
    """The manager of a write without `fieldManager`: the User-Agent's program name, as
    upstream's prefixFromUserAgent (`kubectl/v1.36.4 (linux/amd64) …` -> `kubectl`)."""
    return user_agent.split("/", 1)[0][:128]


def _changed(old: Any, new: Any, node: SchemaNode | None) -> FieldSet | None:
    """Fields of `new` that are added or modified relative to `old` (`MISSING` when absent).

    None when nothing changed; {} when `new` itself is a changed leaf; otherwise the trie of
    changes beneath it, with "." on maps and keyed list elements the write added.
    """
    kind = node.kind if node is not None else None
    if (
        isinstance(new, dict)
        and kind in ("struct", "map", None)
        and (node is None or node.map_type != "atomic")
    ):
        old_map = old if isinstance(old, dict) else None
        out: FieldSet = {}
        for key, child in new.items():
            before = old_map.get(key, MISSING) if old_map is not None else MISSING
            sub = _changed(before, child, node.field(key) if node is not None else None)
            if sub is not None:
                out["f:" + key] = sub
        if old_map is None:
            return {SELF: {}, **out} if out and kind == "map" else out
        return out or None
    if isinstance(new, list) and kind == "list":
        keys = list_keys(node)
        if keys is not None:
            items = node.items() if node is not None else None
            old_by_name: dict[str | None, Any] = {}
            if isinstance(old, list):
                old_by_name = {element_name(e, keys): e for e in old}
            out = {}
            for element in new:
                name = element_name(element, keys)
                if name is None:
                    continue
                before = old_by_name.get(name, MISSING)
                if before is MISSING:
                    sub = _added(element, items) if keys else {}
                    out[name] = {SELF: {}, **sub} if sub else {}
                elif keys:
                    sub = _changed(before, element, items)
                    if sub:
                        out[name] = sub
            return out if out or not isinstance(old, list) else None
    if old is not MISSING and json_equal(old, new):
        return None
    return {}


def _added(new: Any, node: SchemaNode | None) -> FieldSet:
    """`_changed(MISSING, new, node)` for a create, built in sorted order (no `sorted_set` pass)."""
    kind = node.kind if node is not None else None
    if (
        isinstance(new, dict)
        and kind in ("struct", "map", None)
        and (node is None or node.map_type != "atomic")
    ):
        out: FieldSet = {SELF: {}} if new and kind == "map" else {}
        for key in sorted(new):
            out["f:" + key] = _added(new[key], node.field(key) if node is not None else None)
        return out
    if isinstance(new, list) and kind == "list":
        keys = list_keys(node)
        if keys is not None:
            items = node.items() if node is not None else None
            elements: FieldSet = {}
            for element in new:
                name = element_name(element, keys)
                if name is not None:
                    sub = _added(element, items) if keys else {}
                    elements[name] = {SELF: {}, **sub} if sub else {}
            return {name: elements[name] for name in sorted(elements)}
    return {}


def _union(into: FieldSet, more: FieldSet) -> None:
    for name, child in more.items():
        if name in into:
            _union(into[name], child)
        else:
            into[name] = deep_copy(child)


def _disown(fs: FieldSet, path: Path) -> None:
    """Take `path` itself from a set; owned fields beneath it stay (their own paths go separately)."""
    node: Any = fs
    for name in path:
        if not isinstance(node, dict) or name not in node:
            return
        node = node[name]
    if isinstance(node, dict) and any(k != SELF for k in node):
        node.pop(SELF, None)
    else:
        discard(fs, path)


def _sort_entries(entries: list[JSON]) -> None:
    """Upstream's order: Apply before Update, then by time, then by manager."""
    entries.sort(key=lambda e: (e.get("operation", ""), e.get("time", ""), e.get("manager", "")))


def record_update(live: JSON | None, new: JSON, manager: str, subresource: str | None = None) -> None:
    """Record `new`'s changes relative to `live` (None on create) as `manager`'s Update entry,
    in place in `new.metadata.managedFields`. A write that changes nothing changes no entry."""
    group, version = split_api_version(str(new.get("apiVersion", "")))
    root = root_node(group, version, str(new.get("kind", "")))
    if subresource == "status":
        scope_new: JSON = {"status": new["status"]} if "status" in new else {}
        scope_old: Any = {"status": live["status"]} if live is not None and "status" in live else {}
    else:
        scope_new = trimmed(new)
        scope_old = trimmed(live) if live is not None else MISSING
    fresh = scope_old is MISSING and not (new.get("metadata") or {}).get("managedFields")
    changed = _added(scope_new, root) if fresh else (_changed(scope_old, scope_new, root) or {})
    meta = new.setdefault("metadata", {})
    entries: list[JSON] = [deep_copy(e) for e in meta.get("managedFields") or []]
    touched = bool(changed)
    if live is not None:
        # Fields this write removed leave every manager's set.
        for entry in entries:
            fs = entry.get("fieldsV1") or {}
            for path in leaves(fs):
                if get_path(live, path) is not MISSING and get_path(new, path) is MISSING:
                    discard(fs, path)
                    touched = True
    if not touched:
        return

    def is_mine(entry: JSON) -> bool:
        return (
            entry.get("manager") == manager
            and entry.get("operation") == "Update"
            and entry.get("subresource") == subresource
        )

    others = [e for e in entries if not is_mine(e)]
    if others:  # a create usually has none: spare the walk
        changed_paths = leaves(changed)
        for entry in others:
            for path in changed_paths:
                _disown(entry.get("fieldsV1") or {}, path)
    mine = next((e for e in entries if is_mine(e)), None)
    if mine is None:
        mine = {"manager": manager, "operation": "Update"}
        entries.append(mine)
    fields: FieldSet = mine.get("fieldsV1") or {}
    if fields:
        _union(fields, changed)
    else:
        fields = changed
    mine.update(
        apiVersion=new.get("apiVersion", ""),
        time=now(),
        fieldsType="FieldsV1",
        fieldsV1=fields if fresh else sorted_set(fields),
    )
    if subresource:
        mine["subresource"] = subresource
    kept = [e for e in entries if e.get("fieldsV1")]
    _sort_entries(kept)
    if kept:
        meta["managedFields"] = kept
    else:
        meta.pop("managedFields", None)
