"""Read access to the upstream Kubernetes API schemas.

The definitions come from the installed `kubernetes_validate` package (the JSON-schema form
of upstream's OpenAPI, `_definitions.json`, keys under `$defs`). They are loaded once, on
first use, and never copied into the repository.

Flow: `root_node(group, version, kind)` finds the definition whose
`x-kubernetes-group-version-kind` names the kind and wraps it in a `SchemaNode`. A node
resolves `$ref`s lazily and merges the property-level extensions (patch strategy, list type,
which upstream puts next to the `$ref`) with the referenced definition, so a walker only
ever sees one dict per field. `patch_meta()` walks a field path and reports what the
patch engines need; `unknown_fields()` walks an object and reports fields the schema does
not declare, in the path format of upstream's strict decoding errors; `type_mismatch()` reports
the first value of the wrong JSON type as Go's decoder words it (upstream answers 400 there).

Types whose JSON shape is not described by the schema (IntOrString, Quantity, Time,
RawExtension, JSON, FieldsV1, ...) are opaque leaves: nothing below them is checked.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from dataclasses import dataclass
from typing import Any, Literal

from litekube.version import SCHEMA_VERSION_DIR

JSON = dict[str, Any]
NodeKind = Literal["struct", "map", "list", "primitive", "opaque"]

_REF_PREFIXES = ("#/$defs/", "/api/_definitions.json#/$defs/", "_definitions.json#/$defs/")
# Definitions that are leaves whatever their JSON schema says: their JSON form is a scalar or
# free-form data.
_OPAQUE_DEFINITIONS = frozenset(
    {
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
        "io.k8s.apimachinery.pkg.api.resource.Quantity",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
        "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
        "io.k8s.apimachinery.pkg.runtime.RawExtension",
        "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
    }
)
# Extensions that describe the field (the property), not the referenced type.
_FIELD_EXTENSIONS = (
    "x-kubernetes-patch-strategy",
    "x-kubernetes-patch-merge-key",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
)


@functools.cache
def definitions() -> dict[str, JSON]:
    """All upstream definitions by name, e.g. `io.k8s.api.apps.v1.Deployment`."""
    path = (
        importlib.resources.files("kubernetes_validate")
        / "kubernetes-json-schema"
        / SCHEMA_VERSION_DIR
        / "_definitions.json"
    )
    data: JSON = json.loads(path.read_text(encoding="utf-8"))
    defs: dict[str, JSON] = data["$defs"]
    return defs


@functools.cache
def _gvk_index() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            index.setdefault((gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", "")), name)
    return index


def definition_name_for(group: str, version: str, kind: str) -> str | None:
    """Name of the definition tagged with this group/version/kind, if upstream has one."""
    return _gvk_index().get((group, version, kind))


def ref_name(ref: str) -> str | None:
    """Definition name a `$ref` points to (`#/$defs/X` or `/api/_definitions.json#/$defs/X`)."""
    for prefix in _REF_PREFIXES:
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return None


def _type_names(schema: JSON) -> set[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {x for x in t if x != "null"}
    return set()


class SchemaNode:
    """One field's schema with `$ref` resolved and field-level extensions kept."""

    __slots__ = ("_fields", "_go_type", "_kind", "definition", "field_schema", "schema")

    def __init__(self, field_schema: JSON) -> None:
        self.field_schema = field_schema
        self._kind: NodeKind | None = None
        # Per-node caches: every write walks its object against the schema several times.
        self._fields: dict[str, SchemaNode | None] = {}
        self._go_type: str | None = None
        self.definition: str | None = None
        schema = field_schema
        ref = schema.get("$ref")
        # Guard against pathological chains; upstream never nests more than one level.
        for _ in range(8):
            if not isinstance(ref, str):
                break
            name = ref_name(ref)
            target = definitions().get(name) if name else None
            if target is None:
                break
            self.definition = name
            schema = target
            ref = schema.get("$ref")
        self.schema = schema

    def _ext(self, key: str) -> Any:
        if key in self.field_schema:
            return self.field_schema[key]
        return self.schema.get(key)

    @property
    def kind(self) -> NodeKind:
        if self._kind is None:
            self._kind = self._compute_kind()
        return self._kind

    def _compute_kind(self) -> NodeKind:
        if self.definition in _OPAQUE_DEFINITIONS or "oneOf" in self.schema:
            return "opaque"
        types = _type_names(self.schema)
        if "array" in types:
            return "list"
        if "properties" in self.schema:
            return "struct"
        if "additionalProperties" in self.schema:
            return "map"
        if "object" in types or not types:
            # An object with no declared shape (e.g. an empty struct) accepts anything.
            return "opaque"
        return "primitive"

    @property
    def description(self) -> str:
        return str(self.field_schema.get("description") or self.schema.get("description") or "")

    @property
    def patch_strategies(self) -> tuple[str, ...]:
        value = self._ext("x-kubernetes-patch-strategy")
        return tuple(s for s in str(value).split(",") if s) if value else ()

    @property
    def merge_key(self) -> str | None:
        value = self._ext("x-kubernetes-patch-merge-key")
        return str(value) if value else None

    @property
    def list_type(self) -> str | None:
        value = self._ext("x-kubernetes-list-type")
        return str(value) if value else None

    @property
    def list_map_keys(self) -> tuple[str, ...]:
        return tuple(self._ext("x-kubernetes-list-map-keys") or ())

    @property
    def map_type(self) -> str | None:
        value = self._ext("x-kubernetes-map-type")
        return str(value) if value else None

    def field(self, name: str) -> SchemaNode | None:
        """Schema of a struct field, or of a map value; None when undeclared."""
        try:
            return self._fields[name]
        except KeyError:
            pass
        props = self.schema.get("properties")
        if isinstance(props, dict) and name in props and isinstance(props[name], dict):
            found: SchemaNode | None = _node(props[name])
            self._fields[name] = found  # declared names only: map keys are unbounded
            return found
        extra = self.schema.get("additionalProperties")
        return _node(extra) if isinstance(extra, dict) else None

    def items(self) -> SchemaNode | None:
        items = self.schema.get("items")
        return _node(items) if isinstance(items, dict) else None

    @property
    def items_are_objects(self) -> bool:
        items = self.items()
        return items is not None and items.kind in ("struct", "map")


_NODES: dict[int, SchemaNode] = {}


def _node(field_schema: JSON) -> SchemaNode:
    """The SchemaNode of a schema dict from the (process-lifetime) definitions, built once.

    Every write walks its object against the schema (unknown fields, pruning); resolving
    refs and kinds once per schema dict instead of once per field visit keeps that cheap.
    """
    node = _NODES.get(id(field_schema))
    if node is None or node.field_schema is not field_schema:
        node = SchemaNode(field_schema)
        _NODES[id(field_schema)] = node
    return node


@functools.cache
def _root_node_cached(group: str, version: str, kind: str) -> SchemaNode | None:
    name = definition_name_for(group, version, kind)
    return SchemaNode({"$ref": "#/$defs/" + name}) if name else None


def root_node(group: str, version: str, kind: str) -> SchemaNode | None:
    """Schema of a whole object of this kind, or None for kinds upstream does not know."""
    return _root_node_cached(group, version, kind)


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


@dataclass(frozen=True)
class PatchMeta:
    """What a patch engine needs to know about one field."""

    kind: NodeKind | None  # None: the field is not in the schema
    patch_strategies: tuple[str, ...] = ()  # e.g. ("merge", "retainKeys")
    merge_key: str | None = None
    list_type: str | None = None  # "atomic" | "set" | "map"
    list_map_keys: tuple[str, ...] = ()
    map_type: str | None = None  # "atomic" | "granular"

    @property
    def merges_list(self) -> bool:
        return "merge" in self.patch_strategies

    @property
    def retains_keys(self) -> bool:
        return "retainKeys" in self.patch_strategies


def meta_of(node: SchemaNode | None) -> PatchMeta:
    if node is None:
        return PatchMeta(kind=None)
    return PatchMeta(
        kind=node.kind,
        patch_strategies=node.patch_strategies,
        merge_key=node.merge_key,
        list_type=node.list_type,
        list_map_keys=node.list_map_keys,
        map_type=node.map_type,
    )


def walk(node: SchemaNode | None, path: tuple[str, ...]) -> SchemaNode | None:
    """Descend field names; list levels are stepped through to their items implicitly."""
    for name in path:
        if node is None:
            return None
        if node.kind == "list":
            node = node.items()
            if node is None:
                return None
        node = node.field(name)
    return node


def patch_meta(group: str, version: str, kind: str, path: tuple[str, ...]) -> PatchMeta:
    """Patch metadata of the field at `path` (e.g. ("spec", "template", "spec", "containers"))."""
    return meta_of(walk(root_node(group, version, kind), path))


def unknown_fields(obj: JSON) -> list[str]:
    """Paths of fields that obj's schema does not declare, as strict decoding reports them.

    Example: `spec.template.spec.containers[0].foo`. Kinds without a schema report nothing.
    """
    group, version = split_api_version(str(obj.get("apiVersion", "")))
    root = root_node(group, version, str(obj.get("kind", "")))
    if root is None:
        return []
    found: list[str] = []
    _collect_unknown(root, obj, "", found)
    return found


def _collect_unknown(node: SchemaNode, value: Any, prefix: str, found: list[str]) -> None:
    kind = node.kind
    if kind == "struct" and isinstance(value, dict):
        props = node.schema.get("properties") or {}
        extra = node.schema.get("additionalProperties")
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else key
            if key in props:
                _collect_unknown(_node(props[key]), child, path, found)
            elif isinstance(extra, dict):
                _collect_unknown(_node(extra), child, path, found)
            elif extra is not True:
                found.append(path)
    elif kind == "map" and isinstance(value, dict):
        extra = node.schema.get("additionalProperties")
        if isinstance(extra, dict):
            child_node = _node(extra)
            for key, child in value.items():
                _collect_unknown(child_node, child, f"{prefix}.{key}" if prefix else key, found)
    elif kind == "list" and isinstance(value, list):
        items = node.items()
        if items is not None:
            for i, child in enumerate(value):
                _collect_unknown(items, child, f"{prefix}[{i}]", found)


def strict_decoding_message(kind: str, version: str, paths: list[str]) -> str:
    """The 400 message for fieldValidation=Strict, worded as upstream's decoder words it.

    `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error:
    unknown field "spec.foo", unknown field "spec.bar"`
    """
    fields = ", ".join(f'unknown field "{p}"' for p in paths)
    return f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: {fields}'


def unknown_field_warnings(paths: list[str]) -> list[str]:
    """Texts of the Warning headers that fieldValidation=Warn sends, one per field."""
    return [f'unknown field "{p}"' for p in paths]


def prune_unknown(obj: JSON) -> None:
    """Drop the fields obj's schema does not declare, in place, as decoding into upstream's
    typed structs does (fieldValidation Ignore and Warn store the object without them)."""
    group, version = split_api_version(str(obj.get("apiVersion", "")))
    root = root_node(group, version, str(obj.get("kind", "")))
    if root is not None:
        _prune(root, obj)


def _prune(node: SchemaNode, value: Any) -> None:
    kind = node.kind
    if kind == "struct" and isinstance(value, dict):
        props = node.schema.get("properties") or {}
        extra = node.schema.get("additionalProperties")
        for key in list(value):
            if key in props:
                _prune(_node(props[key]), value[key])
            elif isinstance(extra, dict):
                _prune(_node(extra), value[key])
            elif extra is not True and key not in ("apiVersion", "kind"):
                del value[key]
    elif kind == "map" and isinstance(value, dict):
        extra = node.schema.get("additionalProperties")
        if isinstance(extra, dict):
            child_node = _node(extra)
            for child in value.values():
                _prune(child_node, child)
    elif kind == "list" and isinstance(value, list):
        items = node.items()
        if items is not None:
            for child in value:
                _prune(items, child)


# --- JSON types, as upstream's decoder checks them -----------------------------------------
#
# Upstream decodes a request body into Go structs; a value of the wrong JSON type fails there
# with encoding/json's UnmarshalTypeError (400), before defaulting and validation ever run.
# Go reports the *first* mismatch in document order, naming the innermost struct and the
# path of struct field names from the root (list indices and map keys do not appear).


def type_mismatch(obj: JSON) -> str | None:
    """The decoder's message for the first wrongly typed value in obj, or None.

    Example: `json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas
    of type int32`. Undeclared fields are left to `unknown_fields`; null fits every type.
    """
    group, version = split_api_version(str(obj.get("apiVersion", "")))
    root = root_node(group, version, str(obj.get("kind", "")))
    if root is None:
        return None
    return _check_type(root, obj, _short_name(root.definition), "")


def decoding_message(kind: str, version: str, detail: str) -> str:
    """`Deployment in version "v1" cannot be handled as a Deployment: <detail>`."""
    return f'{kind} in version "{version}" cannot be handled as a {kind}: {detail}'


@functools.cache
def _short_name(definition: str | None) -> str:
    return definition.rpartition(".")[2] if definition else ""


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def go_type(node: SchemaNode | None) -> str:
    """The Go type upstream names in decoding errors: `int32`, `[]v1.Container`, `map[string]string`."""
    if node is None:
        return "interface {}"
    if node._go_type is None:
        node._go_type = _go_type(node)
    return node._go_type


def _go_type(node: SchemaNode) -> str:
    kind = node.kind
    if kind == "list":
        return "[]" + go_type(node.items())
    if kind == "map":
        return "map[string]" + go_type(node.field(""))
    if kind == "struct" or node.definition:
        parts = (node.definition or "").split(".")
        return ".".join(parts[-2:]) if len(parts) >= 2 else "struct {}"
    types = _type_names(node.schema)
    fmt = node.schema.get("format")
    if "integer" in types:
        return "int32" if fmt == "int32" else "int64"
    if "number" in types:
        return "float64"
    if "boolean" in types:
        return "bool"
    if "string" in types:
        return "[]uint8" if fmt == "byte" else "string"
    return "interface {}"


def _mismatch(value: Any, struct: str, path: str, type_name: str) -> str:
    what = _json_kind(value)
    if what == "number" and type_name in ("int32", "int64"):
        what = f"number {value}"  # Go quotes the literal when a number does not fit an integer
    return f"json: cannot unmarshal {what} into Go struct field {struct}.{path} of type {type_name}"


def _integer_fits(value: Any, type_name: str) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    bits = 31 if type_name == "int32" else 63
    return -(1 << bits) <= value < (1 << bits)


def _scalar_fits(type_name: str, value: Any) -> bool:
    if type_name == "string" or type_name == "[]uint8":
        return isinstance(value, str)
    if type_name == "int32" or type_name == "int64":
        return _integer_fits(value, type_name)
    if type_name == "bool":
        return isinstance(value, bool)
    if type_name == "float64":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _check_type(node: SchemaNode, value: Any, struct: str, path: str) -> str | None:
    # Hot: runs over every written object. Scalars, most of the fields, are checked inline
    # without building their path unless they are wrong.
    if value is None:
        return None
    kind = node.kind
    if kind == "struct":
        if not isinstance(value, dict):
            return _mismatch(value, struct, path, go_type(node))
        inner = _short_name(node.definition) or struct
        props = node.schema.get("properties") or {}
        for key, child in value.items():
            if child is None or key not in props:
                continue
            child_node = node.field(key)
            if child_node is None:
                continue
            if child_node.kind == "primitive":
                type_name = go_type(child_node)
                if not _scalar_fits(type_name, child):
                    return _mismatch(child, inner, f"{path}.{key}" if path else key, type_name)
                continue
            error = _check_type(child_node, child, inner, f"{path}.{key}" if path else key)
            if error:
                return error
        return None
    if kind == "map" or kind == "list":
        if kind == "map":
            if not isinstance(value, dict):
                return _mismatch(value, struct, path, go_type(node))
            extra = node.schema.get("additionalProperties")
            children: Any = value.values()
            child_node = _node(extra) if isinstance(extra, dict) else None
        else:
            if not isinstance(value, list):
                return _mismatch(value, struct, path, go_type(node))
            children = value
            child_node = node.items()
        if child_node is not None:
            for child in children:
                error = _check_type(child_node, child, struct, path)
                if error:
                    return error
        return None
    if kind == "opaque":
        return _check_opaque(node, value, struct, path)
    type_name = go_type(node)
    return None if _scalar_fits(type_name, value) else _mismatch(value, struct, path, type_name)


def _check_opaque(node: SchemaNode, value: Any, struct: str, path: str) -> str | None:
    """Types with their own JSON decoding: accept what their UnmarshalJSON accepts."""
    name = node.definition
    if name == "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
        # A non-string is decoded as int32.
        if isinstance(value, str) or _integer_fits(value, "int32"):
            return None
        return _mismatch(value, struct, path, "int32")
    if name in (
        "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
        "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
    ):
        # Decoded as a string first, then parsed (a bad format is a different error).
        return None if isinstance(value, str) else _mismatch(value, struct, path, "string")
    return None  # Quantity, RawExtension, FieldsV1, JSON...: free-form or validated later
