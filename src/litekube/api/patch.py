"""The three patch formats of the Kubernetes API: JSON merge, JSON patch, strategic merge.

All functions are pure: they copy the target and never mutate their inputs.

* `json_merge_patch` (RFC 7386, `application/merge-patch+json`): maps merge recursively,
  `null` deletes, anything else (lists included) replaces.
* `json_patch` (RFC 6902, `application/json-patch+json`): a list of add/remove/replace/
  move/copy/test operations addressed by JSON pointers.
* `strategic_merge_patch` (`application/strategic-merge-patch+json`): like a merge patch,
  but the upstream schema (`api.schema`) says how each list merges. Lists tagged
  `x-kubernetes-patch-strategy: merge` merge element-wise (by `x-kubernetes-patch-merge-key`
  for lists of objects, as a set union for lists of scalars); other lists are replaced.
  Directives understood, as kubectl sends them:

  - `"$patch": "replace" | "delete" | "merge"` inside a map, and as a list element
    (`{"$patch": "delete", "name": "side"}` removes that element, `{"$patch": "replace"}`
    makes the rest of the patch list replace the list);
  - `"$setElementOrder/<field>": [...]` gives the order of the merged list;
  - `"$retainKeys": [...]` keeps only those keys of the map (retainKeys strategy, e.g. a
    Deployment's strategy switching from RollingUpdate to Recreate drops `rollingUpdate`);
  - `"$deleteFromPrimitiveList/<field>": [...]` removes scalars from a merged scalar list.

  Kinds without a schema fall back to a JSON merge patch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litekube.api.schema import SchemaNode, root_node

JSON = dict[str, Any]

_PATCH = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


class PatchError(Exception):
    """The patch cannot be applied to the target (bad operation, path or directive)."""


def deep_copy(value: Any) -> Any:
    """Copy a JSON value; cheaper than copy.deepcopy for plain dicts and lists."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: unlike Python's ==, true is not 1 and 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


# --- RFC 7386 ------------------------------------------------------------------------------


def json_merge_patch(target: JSON, patch: JSON) -> JSON:
    """Apply an RFC 7386 merge patch; returns a new dict."""
    merged = _merge_value(target, patch)
    return merged if isinstance(merged, dict) else {}


def _merge_value(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return deep_copy(patch)
    result = {k: deep_copy(v) for k, v in target.items()} if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_value(result.get(key), value)
    return result


# --- RFC 6902 ------------------------------------------------------------------------------


def _pointer_tokens(pointer: Any) -> list[str]:
    if not isinstance(pointer, str):
        raise PatchError(f"invalid JSON pointer {pointer!r}")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f'JSON pointer "{pointer}" must start with "/"')
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _list_index(container: list[Any], token: str, pointer: str, for_add: bool) -> int:
    if for_add and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f'invalid array index "{token}" in path "{pointer}"')
    index = int(token)
    limit = len(container) if for_add else len(container) - 1
    if index > limit:
        raise PatchError(f'array index {index} out of bounds in path "{pointer}"')
    return index


def _resolve_parent(doc: Any, pointer: str, op: str) -> tuple[Any, str]:
    tokens = _pointer_tokens(pointer)
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_list_index(node, token, pointer, for_add=False)]
        else:
            raise PatchError(f'{op} operation does not apply: doc is missing path: "{pointer}"')
    return node, tokens[-1]


def _get(doc: Any, pointer: str, op: str) -> Any:
    node = doc
    for token in _pointer_tokens(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_list_index(node, token, pointer, for_add=False)]
        else:
            raise PatchError(f'{op} operation does not apply: doc is missing path: "{pointer}"')
    return node


def _add(doc: Any, pointer: str, value: Any, op: str = "add") -> Any:
    if pointer == "":
        return value
    parent, token = _resolve_parent(doc, pointer, op)
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_list_index(parent, token, pointer, for_add=True), value)
    else:
        raise PatchError(f'{op} operation does not apply: doc is missing path: "{pointer}"')
    return doc


def _remove(doc: Any, pointer: str, op: str = "remove") -> tuple[Any, Any]:
    if pointer == "":
        raise PatchError(f"{op} operation does not apply: cannot remove the whole document")
    parent, token = _resolve_parent(doc, pointer, op)
    if isinstance(parent, dict) and token in parent:
        return doc, parent.pop(token)
    if isinstance(parent, list):
        return doc, parent.pop(_list_index(parent, token, pointer, for_add=False))
    raise PatchError(f'{op} operation does not apply: doc is missing key: "{pointer}"')


def json_patch(target: JSON, ops: list[Any]) -> JSON:
    """Apply an RFC 6902 JSON patch; returns a new dict, raises PatchError on failure."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc: Any = deep_copy(target)
    for i, operation in enumerate(ops):
        if not isinstance(operation, dict):
            raise PatchError(f"operation {i} is not an object")
        op = operation.get("op")
        path = operation.get("path")
        if not isinstance(path, str):
            raise PatchError(f"operation {i} ({op}) has no valid path")
        if op in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(f'{op} operation at "{path}" has no value')
        if op == "add":
            doc = _add(doc, path, deep_copy(operation["value"]))
        elif op == "remove":
            doc, _ = _remove(doc, path)
        elif op == "replace":
            _get(doc, path, "replace")
            if path == "":
                doc = deep_copy(operation["value"])
            else:
                doc, _ = _remove(doc, path, "replace")
                doc = _add(doc, path, deep_copy(operation["value"]), "replace")
        elif op in ("move", "copy"):
            source = operation.get("from")
            if not isinstance(source, str):
                raise PatchError(f'{op} operation at "{path}" has no valid from')
            if op == "move" and path.startswith(source + "/"):
                raise PatchError(f'move operation cannot move "{source}" into its own child "{path}"')
            value = deep_copy(_get(doc, source, op))
            if op == "move":
                doc, _ = _remove(doc, source, op)
            doc = _add(doc, path, value, op)
        elif op == "test":
            if not json_equal(_get(doc, path, "test"), operation["value"]):
                raise PatchError(f'testing value "{path}" failed: test failed')
        else:
            raise PatchError(f"unexpected kind of operation: {op!r}")
    if not isinstance(doc, dict):
        raise PatchError("the patched document is not an object")
    result: JSON = doc
    return result


# --- strategic merge patch ---------------------------------------------------------------


def strategic_merge_patch(target: JSON, patch: JSON, group: str, version: str, kind: str) -> JSON:
    """Apply a strategic merge patch using the upstream schema of group/version/kind."""
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    root = root_node(group, version, kind)
    if root is None:
        return json_merge_patch(target, patch)
    return _smp_map(deep_copy(target), patch, root)


def _child(node: SchemaNode | None, name: str) -> SchemaNode | None:
    return node.field(name) if node is not None else None


def _smp_map(original: JSON, patch: JSON, node: SchemaNode | None) -> JSON:
    """Merge `patch` into `original` (already a private copy, mutated and returned)."""
    directive = patch.get(_PATCH)
    if directive == "replace":
        return {k: deep_copy(v) for k, v in patch.items() if k != _PATCH}
    if directive == "delete":
        return {}
    if directive not in (None, "merge"):
        raise PatchError(f"unknown patch type: {directive} in map: {patch}")

    retain = patch.get(_RETAIN_KEYS)
    if retain is not None:
        if not isinstance(retain, list):
            raise PatchError(f"invalid $retainKeys: {retain!r}")
        keep = set(retain)
        for key, value in patch.items():
            # `"rollingUpdate": null` next to `$retainKeys: ["type"]` is how kubectl clears it.
            if value is not None and not key.startswith("$") and key not in keep:
                raise PatchError(f"all keys in the patch must be present in $retainKeys; {key!r} is not")
        for key in [k for k in original if k not in keep]:
            del original[key]

    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            if isinstance(original.get(field), list) and isinstance(value, list):
                original[field] = [x for x in original[field] if not any(json_equal(x, v) for v in value)]
        elif key.startswith(_SET_ORDER):
            if not isinstance(value, list):
                raise PatchError(f"invalid {key}: must be a list")
            orders[key[len(_SET_ORDER) :]] = value

    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            original.pop(key, None)
            continue
        child = _child(node, key)
        current = original.get(key)
        if isinstance(value, dict):
            base = current if isinstance(current, dict) else {}
            original[key] = _smp_map(base, value, child)
        elif isinstance(value, list):
            base_list = current if isinstance(current, list) else []
            original[key] = _smp_list(base_list, value, child)
        else:
            original[key] = value

    for field, order in orders.items():
        child = _child(node, field)
        if isinstance(original.get(field), list) and child is not None and "merge" in child.patch_strategies:
            original[field] = apply_element_order(original[field], order, _merge_key_of(child.merge_key))
    return original


def _smp_list(original: list[Any], patch: list[Any], node: SchemaNode | None) -> list[Any]:
    if node is None or "merge" not in node.patch_strategies:
        return [_strip_directives(v) for v in patch]
    merge_key = node.merge_key
    items = node.items()
    if merge_key is None or not all(isinstance(v, dict) for v in patch):
        # A scalar list with the merge strategy (e.g. finalizers) is a set union.
        merged = list(original)
        for value in patch:
            if not any(json_equal(value, x) for x in merged):
                merged.append(deep_copy(value))
        return merged

    merged = list(original)
    plain: list[JSON] = []
    for element in patch:
        directive = element.get(_PATCH)
        if directive == "replace":
            # `{"$patch": "replace"}` turns the rest of the patch list into the whole list.
            return [_strip_directives(e) for e in patch if e.get(_PATCH) != "replace"]
        if directive == "delete":
            if merge_key not in element:
                raise PatchError(f"delete directive without merge key {merge_key!r}: {element}")
            merged = [e for e in merged if not _same_key(e, element, merge_key)]
        elif directive in (None, "merge"):
            plain.append(element)
        else:
            raise PatchError(f"unknown patch type: {directive} in list element: {element}")

    for element in plain:
        if merge_key not in element:
            raise PatchError(f"map: {element} does not contain declared merge key: {merge_key}")
        body = {k: v for k, v in element.items() if k != _PATCH}
        for i, existing in enumerate(merged):
            if _same_key(existing, element, merge_key):
                merged[i] = _smp_map(existing, body, items)
                break
        else:
            merged.append(_smp_map({}, body, items))
    return merged


def _merge_key_of(merge_key: str | None) -> Callable[[Any], Any]:
    def key_of(element: Any) -> Any:
        return element.get(merge_key) if merge_key and isinstance(element, dict) else element

    return key_of


def _same_key(a: Any, b: JSON, merge_key: str) -> bool:
    return isinstance(a, dict) and merge_key in a and json_equal(a[merge_key], b[merge_key])


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def apply_element_order(merged: list[Any], order: list[Any], key_of: Callable[[Any], Any]) -> list[Any]:
    """Reorder a merged list as `$setElementOrder` (or an applied list) says.

    Elements named in the order come in that order; elements the order does not name (they
    exist only on the server) keep their place after the element that preceded them.
    Example: merged [a, x, b], order [b, a] -> [b, a, x]  (x followed a).
    """

    def index_in(value: Any, pool: list[Any]) -> int:
        for i, candidate in enumerate(pool):
            if json_equal(value, candidate):
                return i
        return -1

    order_keys = [key_of(e) for e in order]
    listed = [e for e in merged if index_in(key_of(e), order_keys) >= 0]
    listed.sort(key=lambda e: index_in(key_of(e), order_keys))
    result = list(listed)
    previous: Any = None
    for element in merged:
        if index_in(key_of(element), order_keys) >= 0:
            previous = element
            continue
        position = 0 if previous is None else next(i for i, e in enumerate(result) if e is previous) + 1
        result.insert(position, element)
        previous = element
    return result
