"""Server-side apply: merge an applied configuration into the live object, tracking owners.

Flow of `server_side_apply(live, applied, manager, force)`:

1. The applied configuration's *field set* is computed from the upstream schema, in the
   `FieldsV1` trie encoding that `metadata.managedFields` uses: `f:<field>` for struct and
   map keys, `k:{"name":"nginx"}` for elements of lists keyed by
   `x-kubernetes-list-map-keys`, `v:<json>` for elements of sets, `"."` marking a node that
   is itself owned as well as its children. Lists without a list type but with the `merge`
   patch strategy count as keyed by their merge key (as upstream's schema converter does);
   other lists, atomic maps and opaque types are leaves.
2. Conflicts: a leaf the applier sets is owned by another manager (any operation) and the
   live value differs -> `ApplyConflict` with upstream's FieldManagerConflict causes, unless
   `force`, in which case the other manager loses that field.
3. Fields this manager applied last time but no longer lists are removed from the object,
   unless another manager still owns them (or something beneath them).
4. The applied values are merged in: maps and structs recursively, keyed lists element by
   element (applied order first, live-only elements keep their place), sets as a union,
   everything else replaced.
5. `metadata.managedFields` gets this manager's `Apply` entry (apiVersion, time, FieldsV1);
   entries left with no fields are dropped.

Simplified compared with upstream (structured-merge-diff):
* no schema defaults except `protocol: TCP` for list keys (upstream fills every defaulted key);
* removing a field another manager co-owns keeps it rather than falling back to that
  manager's value; a removed keyed element disappears only when no one else owns any of it;
* `status` is not applied through the main resource (as for built-in kinds upstream) and the
  lead decides what subresources do; version conversion between managers does not exist
  (every manager's apiVersion is recorded but fields are compared as is).

Ordinary writes (create, update, non-apply patches) are recorded by `record_update(live, new,
manager, subresource)`, as upstream's fieldmanager does: the fields the write added or
changed join the manager's `Update` entry (one per manager and subresource) and leave every
other manager's set; fields the write removed leave every set. An apply then conflicts with
those owners too (`conflict with "kubectl-client-side-apply" using apps/v1`). Simplified: no
cap of ten Update entries merged into "ancient-changes"; "." marks only maps and keyed list
elements that the write added (upstream also marks added optional structs).
"""

from __future__ import annotations

import datetime
from typing import Any

import orjson

from litekube.api.patch import apply_element_order, deep_copy, json_equal
from litekube.api.schema import SchemaNode, root_node, split_api_version

JSON = dict[str, Any]
FieldSet = dict[str, Any]  # the FieldsV1 trie: {"f:spec": {"f:replicas": {}}, ...}
Path = tuple[str, ...]

_SELF = "."
# Fields the apiserver owns or that identify the object; they never enter a field set.
_IGNORED_TOP = ("apiVersion", "kind", "status")
_IGNORED_META = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
)
# Defaults of list-map key fields the API fills in; needed to match `ports` by
# (containerPort, protocol) when the manifest omits the protocol.
_KEY_DEFAULTS = {"protocol": "TCP"}


class ApplyConflict(Exception):
    """The apply would change fields another manager owns; `causes` as in the 409 Status."""

    def __init__(self, causes: list[JSON]) -> None:
        self.causes = causes
        super().__init__(conflict_message(causes))


def conflict_message(causes: list[JSON]) -> str:
    """`Apply failed with 1 conflict: conflict with "x" using apps/v1: .spec.replicas`."""
    if len(causes) == 1:
        return f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    by_manager: dict[str, list[str]] = {}
    for cause in causes:
        who = cause["message"].removeprefix("conflict with ")
        by_manager.setdefault(who, []).append(cause["field"])
    lines: list[str] = []
    for who in sorted(by_manager):
        lines.append(f"conflicts with {who}:")
        lines.extend(f"- {field}" for field in by_manager[who])
    return f"Apply failed with {len(causes)} conflicts: " + "\n".join(lines)


# --- field sets ---------------------------------------------------------------------------


def _list_keys(node: SchemaNode | None) -> tuple[str, ...] | None:
    """Key fields of an associative list, () for a set, None for an atomic list."""
    if node is None:
        return None
    list_type = node.list_type
    if list_type == "map":
        return node.list_map_keys or ((node.merge_key,) if node.merge_key else None)
    if list_type == "set":
        return ()
    if list_type == "atomic":
        return None
    if "merge" in node.patch_strategies:
        if node.merge_key and node.items_are_objects:
            return (node.merge_key,)
        if not node.items_are_objects:
            return ()
    return None


def _key_values(element: Any, keys: tuple[str, ...]) -> JSON | None:
    if not isinstance(element, dict):
        return None
    values: JSON = {}
    for key in keys:
        if key in element:
            values[key] = element[key]
        elif key in _KEY_DEFAULTS:
            values[key] = _KEY_DEFAULTS[key]
    return values or None


def _element_name(element: Any, keys: tuple[str, ...]) -> str | None:
    if keys == ():
        return "v:" + orjson.dumps(element, option=orjson.OPT_SORT_KEYS).decode()
    values = _key_values(element, keys)
    return "k:" + orjson.dumps(values, option=orjson.OPT_SORT_KEYS).decode() if values else None


def field_set(value: Any, node: SchemaNode | None) -> FieldSet:
    """The fields `value` sets, as a FieldsV1 trie (children of the node for `value`)."""
    out: FieldSet = {}
    kind = node.kind if node is not None else None
    if (
        isinstance(value, dict)
        and kind in ("struct", "map", None)
        and (node is None or node.map_type != "atomic")
    ):
        for key, child in value.items():
            child_node = node.field(key) if node is not None else None
            sub = field_set(child, child_node)
            # An empty map or a null is owned as a leaf; so is anything without children.
            out["f:" + key] = sub
    elif isinstance(value, list) and kind == "list":
        keys = _list_keys(node)
        if keys is None:
            return out
        items = node.items() if node is not None else None
        for element in value:
            name = _element_name(element, keys)
            if name is None:
                continue
            sub = field_set(element, items) if keys else {}
            out[name] = {_SELF: {}, **sub} if sub else {}
    return out


def _trimmed(obj: JSON) -> JSON:
    """obj without the fields no manager ever owns (identity, server-set metadata, status)."""
    trimmed = {k: v for k, v in obj.items() if k not in _IGNORED_TOP}
    meta = trimmed.get("metadata")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in _IGNORED_META}
        if meta:
            trimmed["metadata"] = meta
        else:
            trimmed.pop("metadata")
    return trimmed


def _object_field_set(obj: JSON, node: SchemaNode | None) -> FieldSet:
    return field_set(_trimmed(obj), node)


def _leaves(fs: FieldSet, prefix: Path = (), marked: bool = True) -> list[Path]:
    """Owned paths: leaves, plus (if `marked`) inner nodes marked with "."."""
    found: list[Path] = []
    for name, child in fs.items():
        if name == _SELF:
            continue
        path = (*prefix, name)
        if not child or (marked and _SELF in child):
            found.append(path)
        found.extend(_leaves(child, path, marked))
    return found


def _contains(fs: FieldSet, path: Path) -> bool:
    node: Any = fs
    for name in path:
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return not node or _SELF in node


def _has_subtree(fs: FieldSet, path: Path) -> bool:
    node: Any = fs
    for name in path:
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return True


def _discard(fs: FieldSet, path: Path) -> None:
    """Remove `path` (and what becomes empty above it) from a field set."""
    node = fs
    trail: list[tuple[FieldSet, str]] = []
    for name in path[:-1]:
        if name not in node:
            return
        trail.append((node, name))
        node = node[name]
    node.pop(path[-1], None)
    for parent, name in reversed(trail):
        child = parent[name]
        if child == {}:
            parent.pop(name)  # it was only an ancestor of what went
        elif child == {_SELF: {}}:
            parent[name] = {}  # owned itself, now with no owned children: a leaf
            break
        else:
            break


def _sorted(fs: FieldSet) -> FieldSet:
    return {k: _sorted(fs[k]) for k in sorted(fs, key=lambda k: (k != _SELF, k))}


# --- navigating objects by field-set paths ------------------------------------------------


def _match(element: Any, name: str) -> bool:
    kind, _, raw = name.partition(":")
    if kind == "v":
        return json_equal(element, orjson.loads(raw))
    if kind == "k" and isinstance(element, dict):
        wanted: JSON = orjson.loads(raw)
        return all(json_equal(element.get(k, _KEY_DEFAULTS.get(k)), v) for k, v in wanted.items())
    return False


_MISSING = object()


def _get(obj: Any, path: Path) -> Any:
    for name in path:
        if name.startswith("f:") and isinstance(obj, dict):
            obj = obj.get(name[2:], _MISSING)
        elif isinstance(obj, list):
            obj = next((e for e in obj if _match(e, name)), _MISSING)
        else:
            return _MISSING
        if obj is _MISSING:
            return _MISSING
    return obj


def _remove(obj: Any, path: Path) -> None:
    parent = _get(obj, path[:-1])
    name = path[-1]
    if name.startswith("f:") and isinstance(parent, dict):
        parent.pop(name[2:], None)
    elif isinstance(parent, list):
        parent[:] = [e for e in parent if not _match(e, name)]


def _path_string(path: Path) -> str:
    """`.spec.template.spec.containers[name="nginx"].image`, as upstream prints field paths."""
    out = ""
    for name in path:
        kind, _, raw = name.partition(":")
        if kind == "f":
            out += "." + raw
        elif kind == "k":
            keys: JSON = orjson.loads(raw)
            out += "[" + ",".join(f"{k}={orjson.dumps(v).decode()}" for k, v in keys.items()) + "]"
        else:
            out += f"[={raw}]"
    return out


# --- merging ------------------------------------------------------------------------------


def _merge(live: Any, applied: Any, node: SchemaNode | None) -> Any:
    kind = node.kind if node is not None else None
    if isinstance(applied, dict) and isinstance(live, dict) and kind in ("struct", "map", None):
        if node is not None and node.map_type == "atomic":
            return deep_copy(applied)
        result = dict(live)
        for key, value in applied.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = _merge(live.get(key, _MISSING), value, node.field(key) if node else None)
        return result
    if isinstance(applied, list) and isinstance(live, list) and kind == "list":
        keys = _list_keys(node)
        if keys is None:
            return deep_copy(applied)
        items = node.items() if node is not None else None
        merged = list(live)
        for element in applied:
            name = _element_name(element, keys)
            index = next((i for i, e in enumerate(merged) if name and _match(e, name)), None)
            if index is None:
                merged.append(deep_copy(element))
            elif keys:
                merged[index] = _merge(merged[index], element, items)

        def key_of(e: Any) -> Any:
            return _key_values(e, keys) if keys else e

        return apply_element_order(merged, applied, key_of)
    return deep_copy(applied)


# --- the operation ------------------------------------------------------------------------


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _manager_label(entry: JSON) -> str:
    label = orjson.dumps(entry.get("manager", "")).decode()
    if entry.get("subresource"):
        label += f' with subresource "{entry["subresource"]}"'
    if entry.get("operation") == "Update":
        label += f" using {entry.get('apiVersion', '')}"
    return label


def server_side_apply(live: JSON | None, applied: JSON, manager: str, force: bool) -> JSON:
    """Apply `applied` for `manager`; returns the new object (inputs are not changed).

    Raises ApplyConflict when another manager owns a field with a different value and
    `force` is false.
    """
    api_version = str(applied.get("apiVersion") or (live or {}).get("apiVersion", ""))
    group, version = split_api_version(api_version)
    kind = str(applied.get("kind") or (live or {}).get("kind", ""))
    root = root_node(group, version, kind)
    current: JSON = deep_copy(live) if live is not None else {}
    entries: list[JSON] = [deep_copy(e) for e in current.get("metadata", {}).get("managedFields") or []]

    applied_body = {k: v for k, v in applied.items() if k != "status"}
    applied_meta = applied_body.get("metadata")
    if isinstance(applied_meta, dict):
        applied_body["metadata"] = {k: v for k, v in applied_meta.items() if k != "managedFields"}
    new_set = _object_field_set(applied_body, root)

    def is_mine(entry: JSON) -> bool:
        return (
            entry.get("manager") == manager
            and entry.get("operation") == "Apply"
            and not entry.get("subresource")
        )

    mine = next((e for e in entries if is_mine(e)), None)
    previous: FieldSet = (mine or {}).get("fieldsV1") or {}
    others = [e for e in entries if not is_mine(e)]

    causes: list[JSON] = []
    forced: list[tuple[JSON, Path]] = []
    # Only values are compared: a keyed element itself ("." node) conflicts through its fields.
    for path in _leaves(_sorted(new_set), marked=False):
        wanted = _get(applied_body, path)
        have = _get(current, path)
        if have is _MISSING or json_equal(wanted, have) or (wanted is None and have is None):
            continue
        for entry in others:
            if _contains(entry.get("fieldsV1") or {}, path):
                if force:
                    forced.append((entry, path))
                else:
                    causes.append(
                        {
                            "type": "FieldManagerConflict",
                            "message": "conflict with " + _manager_label(entry),
                            "field": _path_string(path),
                        }
                    )
    if causes:
        raise ApplyConflict(causes)
    for entry, path in forced:
        _discard(entry["fieldsV1"], path)

    # Fields dropped from this manager's configuration go, unless someone else holds them.
    dropped = [p for p in _leaves(previous) if not _contains(new_set, p)]
    removed: list[Path] = []
    for path in sorted(dropped, key=len):
        if any(path[: len(r)] == r for r in removed):
            continue  # went with its parent
        if _has_subtree(new_set, path) or any(_has_subtree(e.get("fieldsV1") or {}, path) for e in others):
            continue  # still (partly) owned: only its unowned children go
        _remove(current, path)
        removed.append(path)
        # A list or map emptied by the removal goes too, unless someone owns it as a value.
        parent = path[:-1]
        while parent and _get(current, parent) in ([], {}) and not _contains(new_set, parent):
            if any(_contains(e.get("fieldsV1") or {}, parent) for e in others):
                break
            _remove(current, parent)
            parent = parent[:-1]

    result: JSON = _merge(current, applied_body, root)
    if "apiVersion" not in result and api_version:
        result["apiVersion"] = api_version
    if "kind" not in result and kind:
        result["kind"] = kind

    new_entry: JSON = {
        "manager": manager,
        "operation": "Apply",
        "apiVersion": api_version,
        "time": _now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": _sorted(new_set),
    }
    kept = [e for e in others if e.get("fieldsV1")]
    position = entries.index(mine) if mine is not None else len(kept)
    kept.insert(min(position, len(kept)), new_entry)
    result.setdefault("metadata", {})
    result["metadata"] = {**result["metadata"], "managedFields": kept}
    return result


# --- Update entries for ordinary writes ---------------------------------------------------


def default_manager(user_agent: str) -> str:
    """The manager of a write without `fieldManager`: the User-Agent's program name, as
    upstream's prefixFromUserAgent (`kubectl/v1.36.4 (linux/amd64) …` -> `kubectl`)."""
    return user_agent.split("/", 1)[0][:128]


def _changed(old: Any, new: Any, node: SchemaNode | None) -> FieldSet | None:
    """Fields of `new` that are added or modified relative to `old` (`_MISSING` when absent).

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
            before = old_map.get(key, _MISSING) if old_map is not None else _MISSING
            sub = _changed(before, child, node.field(key) if node is not None else None)
            if sub is not None:
                out["f:" + key] = sub
        if old_map is None:
            return {_SELF: {}, **out} if out and kind == "map" else out
        return out or None
    if isinstance(new, list) and kind == "list":
        keys = _list_keys(node)
        if keys is not None:
            items = node.items() if node is not None else None
            old_by_name: dict[str | None, Any] = {}
            if isinstance(old, list):
                old_by_name = {_element_name(e, keys): e for e in old}
            out = {}
            for element in new:
                name = _element_name(element, keys)
                if name is None:
                    continue
                before = old_by_name.get(name, _MISSING)
                if before is _MISSING:
                    sub = _added(element, items) if keys else {}
                    out[name] = {_SELF: {}, **sub} if sub else {}
                elif keys:
                    sub = _changed(before, element, items)
                    if sub:
                        out[name] = sub
            return out if out or not isinstance(old, list) else None
    if old is not _MISSING and json_equal(old, new):
        return None
    return {}


def _added(new: Any, node: SchemaNode | None) -> FieldSet:
    """`_changed(_MISSING, new, node)` for a create, built in sorted order (no `_sorted` pass)."""
    kind = node.kind if node is not None else None
    if (
        isinstance(new, dict)
        and kind in ("struct", "map", None)
        and (node is None or node.map_type != "atomic")
    ):
        out: FieldSet = {_SELF: {}} if new and kind == "map" else {}
        for key in sorted(new):
            out["f:" + key] = _added(new[key], node.field(key) if node is not None else None)
        return out
    if isinstance(new, list) and kind == "list":
        keys = _list_keys(node)
        if keys is not None:
            items = node.items() if node is not None else None
            elements: FieldSet = {}
            for element in new:
                name = _element_name(element, keys)
                if name is not None:
                    sub = _added(element, items) if keys else {}
                    elements[name] = {_SELF: {}, **sub} if sub else {}
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
    if isinstance(node, dict) and any(k != _SELF for k in node):
        node.pop(_SELF, None)
    else:
        _discard(fs, path)


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
        scope_new = _trimmed(new)
        scope_old = _trimmed(live) if live is not None else _MISSING
    fresh = scope_old is _MISSING and not (new.get("metadata") or {}).get("managedFields")
    changed = _added(scope_new, root) if fresh else (_changed(scope_old, scope_new, root) or {})
    meta = new.setdefault("metadata", {})
    entries: list[JSON] = [deep_copy(e) for e in meta.get("managedFields") or []]
    touched = bool(changed)
    if live is not None:
        # Fields this write removed leave every manager's set.
        for entry in entries:
            fs = entry.get("fieldsV1") or {}
            for path in _leaves(fs):
                if _get(live, path) is not _MISSING and _get(new, path) is _MISSING:
                    _discard(fs, path)
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
        changed_paths = _leaves(changed)
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
        time=_now(),
        fieldsType="FieldsV1",
        fieldsV1=fields if fresh else _sorted(fields),
    )
    if subresource:
        mine["subresource"] = subresource
    kept = [e for e in entries if e.get("fieldsV1")]
    _sort_entries(kept)
    if kept:
        meta["managedFields"] = kept
    else:
        meta.pop("managedFields", None)
