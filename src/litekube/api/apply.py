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

Ordinary writes are recorded by managed_fields.py.
"""

from __future__ import annotations

from typing import Any

import orjson

from litekube.api.fieldset import (
    JSON,
    MISSING,
    FieldSet,
    Path,
    contains,
    discard,
    element_name,
    get_path,
    has_subtree,
    key_values,
    leaves,
    list_keys,
    matches,
    now,
    object_field_set,
    path_string,
    remove_path,
    sorted_set,
)
from litekube.api.patch import apply_element_order, deep_copy, json_equal
from litekube.api.schema import SchemaNode, root_node, split_api_version


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
                result[key] = _merge(live.get(key, MISSING), value, node.field(key) if node else None)
        return result
    if isinstance(applied, list) and isinstance(live, list) and kind == "list":
        keys = list_keys(node)
        if keys is None:
            return deep_copy(applied)
        items = node.items() if node is not None else None
        merged = list(live)
        for element in applied:
            name = element_name(element, keys)
            index = next((i for i, e in enumerate(merged) if name and matches(e, name)), None)
            if index is None:
                merged.append(deep_copy(element))
            elif keys:
                merged[index] = _merge(merged[index], element, items)

        def key_of(e: Any) -> Any:
            return key_values(e, keys) if keys else e

        return apply_element_order(merged, applied, key_of)
    return deep_copy(applied)


# --- the operation ------------------------------------------------------------------------


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
    new_set = object_field_set(applied_body, root)

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
    for path in leaves(sorted_set(new_set), marked=False):
        wanted = get_path(applied_body, path)
        have = get_path(current, path)
        if have is MISSING or json_equal(wanted, have) or (wanted is None and have is None):
            continue
        for entry in others:
            if contains(entry.get("fieldsV1") or {}, path):
                if force:
                    forced.append((entry, path))
                else:
                    causes.append(
                        {
                            "type": "FieldManagerConflict",
                            "message": "conflict with " + _manager_label(entry),
                            "field": path_string(path),
                        }
                    )
    if causes:
        raise ApplyConflict(causes)
    for entry, path in forced:
        discard(entry["fieldsV1"], path)

    # Fields dropped from this manager's configuration go, unless someone else holds them.
    dropped = [p for p in leaves(previous) if not contains(new_set, p)]
    removed: list[Path] = []
    for path in sorted(dropped, key=len):
        if any(path[: len(r)] == r for r in removed):
            continue  # went with its parent
        if has_subtree(new_set, path) or any(has_subtree(e.get("fieldsV1") or {}, path) for e in others):
            continue  # still (partly) owned: only its unowned children go
        remove_path(current, path)
        removed.append(path)
        # A list or map emptied by the removal goes too, unless someone owns it as a value.
        parent = path[:-1]
        while parent and get_path(current, parent) in ([], {}) and not contains(new_set, parent):
            if any(contains(e.get("fieldsV1") or {}, parent) for e in others):
                break
            remove_path(current, parent)
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
        "time": now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": sorted_set(new_set),
    }
    kept = [e for e in others if e.get("fieldsV1")]
    position = entries.index(mine) if mine is not None else len(kept)
    kept.insert(min(position, len(kept)), new_entry)
    result.setdefault("metadata", {})
    result["metadata"] = {**result["metadata"], "managedFields": kept}
    return result


# --- Update entries for ordinary writes ---------------------------------------------------
