"""Field sets: the FieldsV1 trie that `metadata.managedFields` stores, and paths into objects.

`field_set(value, node)` encodes which fields a value sets, following the upstream schema
(`f:<field>` for struct and map keys, `k:{...}` for elements of lists keyed by
`x-kubernetes-list-map-keys` or a merge key, `v:<json>` for set elements, "." for a node
owned as well as its children). The helpers walk, test and edit such tries and read or
remove the value a path names in an object. Server-side apply (apply.py) and the recording
of ordinary writes (managed_fields.py) are built on them.
"""

from __future__ import annotations

import datetime
from typing import Any

import orjson

from litekube.api.patch import json_equal
from litekube.api.schema import SchemaNode

JSON = dict[str, Any]
FieldSet = dict[str, Any]  # the FieldsV1 trie: {"f:spec": {"f:replicas": {}}, ...}
Path = tuple[str, ...]

SELF = "."
# Fields the apiserver owns or that identify the object; they never enter a field set.
IGNORED_TOP = ("apiVersion", "kind", "status")
IGNORED_META = (
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
KEY_DEFAULTS = {"protocol": "TCP"}


# --- field sets ---------------------------------------------------------------------------


def list_keys(node: SchemaNode | None) -> tuple[str, ...] | None:
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


def key_values(element: Any, keys: tuple[str, ...]) -> JSON | None:
    if not isinstance(element, dict):
        return None
    values: JSON = {}
    for key in keys:
        if key in element:
            values[key] = element[key]
        elif key in KEY_DEFAULTS:
            values[key] = KEY_DEFAULTS[key]
    return values or None


def element_name(element: Any, keys: tuple[str, ...]) -> str | None:
    if keys == ():
        return "v:" + orjson.dumps(element, option=orjson.OPT_SORT_KEYS).decode()
    values = key_values(element, keys)
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
        keys = list_keys(node)
        if keys is None:
            return out
        items = node.items() if node is not None else None
        for element in value:
            name = element_name(element, keys)
            if name is None:
                continue
            sub = field_set(element, items) if keys else {}
            out[name] = {SELF: {}, **sub} if sub else {}
    return out


def trimmed(obj: JSON) -> JSON:
    """obj without the fields no manager ever owns (identity, server-set metadata, status)."""
    trimmed = {k: v for k, v in obj.items() if k not in IGNORED_TOP}
    meta = trimmed.get("metadata")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in IGNORED_META}
        if meta:
            trimmed["metadata"] = meta
        else:
            trimmed.pop("metadata")
    return trimmed


def object_field_set(obj: JSON, node: SchemaNode | None) -> FieldSet:
    return field_set(trimmed(obj), node)


def leaves(fs: FieldSet, prefix: Path = (), marked: bool = True) -> list[Path]:
    """Owned paths: leaves, plus (if `marked`) inner nodes marked with "."."""
    found: list[Path] = []
    for name, child in fs.items():
        if name == SELF:
            continue
        path = (*prefix, name)
        if not child or (marked and SELF in child):
            found.append(path)
        found.extend(leaves(child, path, marked))
    return found


def contains(fs: FieldSet, path: Path) -> bool:
    node: Any = fs
    for name in path:
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return not node or SELF in node


def has_subtree(fs: FieldSet, path: Path) -> bool:
    node: Any = fs
    for name in path:
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return True


def discard(fs: FieldSet, path: Path) -> None:
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
        elif child == {SELF: {}}:
            parent[name] = {}  # owned itself, now with no owned children: a leaf
            break
        else:
            break


def sorted_set(fs: FieldSet) -> FieldSet:
    return {k: sorted_set(fs[k]) for k in sorted(fs, key=lambda k: (k != SELF, k))}


# --- navigating objects by field-set paths ------------------------------------------------


def matches(element: Any, name: str) -> bool:
    kind, _, raw = name.partition(":")
    if kind == "v":
        return json_equal(element, orjson.loads(raw))
    if kind == "k" and isinstance(element, dict):
        wanted: JSON = orjson.loads(raw)
        return all(json_equal(element.get(k, KEY_DEFAULTS.get(k)), v) for k, v in wanted.items())
    return False


MISSING = object()


def get_path(obj: Any, path: Path) -> Any:
    for name in path:
        if name.startswith("f:") and isinstance(obj, dict):
            obj = obj.get(name[2:], MISSING)
        elif isinstance(obj, list):
            obj = next((e for e in obj if matches(e, name)), MISSING)
        else:
            return MISSING
        if obj is MISSING:
            return MISSING
    return obj


def remove_path(obj: Any, path: Path) -> None:
    parent = get_path(obj, path[:-1])
    name = path[-1]
    if name.startswith("f:") and isinstance(parent, dict):
        parent.pop(name[2:], None)
    elif isinstance(parent, list):
        parent[:] = [e for e in parent if not matches(e, name)]


def path_string(path: Path) -> str:
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


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
