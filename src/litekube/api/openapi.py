"""The OpenAPI v3 documents served at /openapi/v3 and /openapi/v3/<api/v1 | apis/<g>/<v>>.

kubectl reads them for three things (KUBECTL-WIRE §2.3):

* validation: it looks for the PATCH operation tagged with the object's
  `x-kubernetes-group-version-kind` that takes a `fieldValidation` query parameter, and then
  leaves validation to the server (`fieldValidation=Strict`);
* `kubectl apply` computes its strategic merge patch from the component schemas
  (`x-kubernetes-patch-strategy` / `-merge-key`) when the PATCH operation accepts
  `application/strategic-merge-patch+json`;
* `kubectl explain` finds the component schema tagged with the kind and walks it.

Flow: `openapi_v3_document(gv_path)` builds one document per served group-version from the
resource table (`api.resources`): paths and operations for each resource and its `status`
and `scale` subresources, then every upstream definition reachable from them, converted
from the JSON-schema form we load (`api.schema`) to OpenAPI 3.0 form. Documents are built
once and cached as bytes; the index hashes each document so kubectl's disk cache (keyed by
URL) notices a change.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import orjson

from litekube.api.resources import RESOURCE_TYPES, ResourceType, group_versions
from litekube.api.schema import definition_name_for, definitions, ref_name
from litekube.version import KUBERNETES_GIT_VERSION

JSON = dict[str, Any]
_COMPONENTS = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
# Meta types every group-version document carries (operations reference them).
_META_DEFINITIONS = (
    _META + "DeleteOptions",
    _META + "Status",
    _META + "APIResourceList",
    _META + "WatchEvent",
    _META + "Patch",
)
_SCALE = "io.k8s.api.autoscaling.v1.Scale"
_RESPONSE_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


# --- schema conversion (JSON schema -> OpenAPI 3.0) ---------------------------------------


def _convert(schema: Any, top_level: bool = False) -> Any:
    """One schema from `_definitions.json` in OpenAPI 3.0 shape.

    `type: [X, "null"]` becomes `type: X`; a `$ref` with sibling keys is wrapped in `allOf`
    as upstream's v3 documents do (OpenAPI 3.0 ignores siblings of `$ref`); the `enum`s that
    the JSON-schema conversion added to apiVersion/kind are dropped (upstream has none).
    """
    if isinstance(schema, list):
        return [_convert(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: JSON = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if types:
                out["type"] = types[0]
        elif key == "properties" and isinstance(value, dict):
            props = {name: _convert(prop) for name, prop in value.items()}
            if top_level:
                for name in ("apiVersion", "kind"):
                    if isinstance(props.get(name), dict):
                        props[name].pop("enum", None)
            out["properties"] = props
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _convert(value)
        elif key in ("oneOf", "anyOf", "allOf"):
            out[key] = [_convert(v) for v in value]
        elif key == "$ref" and isinstance(value, str):
            target = ref_name(value)
            out["$ref"] = _COMPONENTS + target if target else value
        else:
            out[key] = value
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **out}
    return out


def _references(schema: Any, found: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref_name(ref)
            if name:
                found.add(name)
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                for prop in value.values():
                    _references(prop, found)
            elif key != "$ref":
                _references(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _references(value, found)


def _closure(roots: list[str]) -> list[str]:
    defs = definitions()
    seen: set[str] = set()
    todo = [r for r in roots if r in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        refs: set[str] = set()
        _references(defs[name], refs)
        todo.extend(r for r in refs if r in defs and r not in seen)
    return sorted(seen)


# --- paths and operations -----------------------------------------------------------------


def _param(name: str, where: str, description: str, type_: str = "string") -> JSON:
    p: JSON = {"name": name, "in": where, "description": description, "schema": {"type": type_}}
    if where == "path":
        p["required"] = True
    else:
        p["schema"]["uniqueItems"] = True
    return p


_PRETTY = _param("pretty", "query", "If 'true', then the output is pretty printed.")
_DRY_RUN = _param(
    "dryRun",
    "query",
    "When present, indicates that modifications should not be persisted. Valid values are: "
    "- All: all dry run stages will be processed",
)
_FIELD_MANAGER = _param(
    "fieldManager",
    "query",
    "fieldManager is a name associated with the actor or entity that is making these changes.",
)
_FIELD_VALIDATION = _param(
    "fieldValidation",
    "query",
    "fieldValidation instructs the server on how to handle objects in the request containing unknown "
    "or duplicate fields. Valid values are: Ignore, Warn (the default), Strict.",
)
_FORCE = _param("force", "query", 'Force is going to "force" Apply requests.', "boolean")
_LIST_PARAMS = [
    _param("allowWatchBookmarks", "query", 'requests watch events with type "BOOKMARK".', "boolean"),
    _param(
        "continue", "query", "The continue option should be set when retrieving more results from the server."
    ),
    _param("fieldSelector", "query", "A selector to restrict the list of returned objects by their fields."),
    _param("labelSelector", "query", "A selector to restrict the list of returned objects by their labels."),
    _param("limit", "query", "limit is a maximum number of responses to return for a list call.", "integer"),
    _param(
        "resourceVersion",
        "query",
        "resourceVersion sets a constraint on what resource versions a request may be served from.",
    ),
    _param(
        "resourceVersionMatch",
        "query",
        "resourceVersionMatch determines how resourceVersion is applied to list calls.",
    ),
    _param(
        "sendInitialEvents",
        "query",
        "`sendInitialEvents=true` may be set together with `watch=true`.",
        "boolean",
    ),
    _param("timeoutSeconds", "query", "Timeout for the list/watch call.", "integer"),
    _param("watch", "query", "Watch for changes to the described resources.", "boolean"),
]
_DELETE_PARAMS = [
    _DRY_RUN,
    _param(
        "gracePeriodSeconds",
        "query",
        "The duration in seconds before the object should be deleted.",
        "integer",
    ),
    _param(
        "ignoreStoreReadErrorWithClusterBreakingPotential",
        "query",
        "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error.",
        "boolean",
    ),
    _param("orphanDependents", "query", "Deprecated: please use the PropagationPolicy.", "boolean"),
    _param(
        "propagationPolicy",
        "query",
        "Whether and how garbage collection will be performed: Orphan, Background or Foreground.",
    ),
]


def _content(ref: str) -> JSON:
    return {t: {"schema": {"$ref": _COMPONENTS + ref}} for t in _RESPONSE_TYPES}


def _response(code: str, description: str, ref: str) -> JSON:
    return {code: {"description": description, "content": _content(ref)}}


def _operation(
    action: str,
    op_id: str,
    description: str,
    tag: str,
    gvk: JSON,
    params: list[JSON],
    responses: JSON,
    body: JSON | None = None,
) -> JSON:
    op: JSON = {"tags": [tag], "description": description, "operationId": op_id}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    op["responses"] = {**responses, "401": {"description": "Unauthorized"}}
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = gvk
    return op


def _camel_group(group: str) -> str:
    return group.split(".")[0].capitalize() if group else "Core"


def _resource_paths(r: ResourceType, type_name: str, list_name: str | None, paths: JSON) -> None:
    gvk = {"group": r.group, "kind": r.kind, "version": r.version}
    tag = f"{r.group.split('.')[0] if r.group else 'core'}_{r.version}"
    prefix = f"{_camel_group(r.group)}{r.version.capitalize()}"
    scope = "Namespaced" if r.namespaced else ""
    root = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
    base = f"{root}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{root}/{r.plural}"
    common = [_param("namespace", "path", "object name and auth scope, such as for teams and projects")]
    common = common if r.namespaced else []
    name_param = _param("name", "path", f"name of the {r.kind}")
    body = {"content": {"*/*": {"schema": {"$ref": _COMPONENTS + type_name}}}, "required": True}
    write_params = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]

    def kind_ops(ref: str, what: str, suffix: str, sub_gvk: JSON) -> JSON:
        patch_body = {
            "content": {t: {"schema": {"$ref": _COMPONENTS + _META + "Patch"}} for t in _PATCH_TYPES},
            "required": True,
        }
        return {
            "get": _operation(
                "get",
                f"read{prefix}{scope}{r.kind}{suffix}",
                f"read {what} of the specified {r.kind}",
                tag,
                sub_gvk,
                [],
                _response("200", "OK", ref),
            ),
            "put": _operation(
                "put",
                f"replace{prefix}{scope}{r.kind}{suffix}",
                f"replace {what} of the specified {r.kind}",
                tag,
                sub_gvk,
                write_params,
                {**_response("200", "OK", ref), **_response("201", "Created", ref)},
                {"content": {"*/*": {"schema": {"$ref": _COMPONENTS + ref}}}, "required": True},
            ),
            "patch": _operation(
                "patch",
                f"patch{prefix}{scope}{r.kind}{suffix}",
                f"partially update {what} of the specified {r.kind}",
                tag,
                sub_gvk,
                [*write_params, _FORCE],
                {**_response("200", "OK", ref), **_response("201", "Created", ref)},
                patch_body,
            ),
        }

    if list_name is not None:
        paths[base] = {
            "get": _operation(
                "list",
                f"list{prefix}{scope}{r.kind}",
                f"list or watch objects of kind {r.kind}",
                tag,
                gvk,
                _LIST_PARAMS,
                _response("200", "OK", list_name),
            ),
            "post": _operation(
                "post",
                f"create{prefix}{scope}{r.kind}",
                f"create a {r.kind}",
                tag,
                gvk,
                write_params,
                {
                    **_response("200", "OK", type_name),
                    **_response("201", "Created", type_name),
                    **_response("202", "Accepted", type_name),
                },
                body,
            ),
            "delete": _operation(
                "deletecollection",
                f"deletecollection{prefix}{scope}{r.kind}",
                f"delete collection of {r.kind}",
                tag,
                gvk,
                [*_DELETE_PARAMS, *_LIST_PARAMS],
                _response("200", "OK", _META + "Status"),
                {"content": {"*/*": {"schema": {"$ref": _COMPONENTS + _META + "DeleteOptions"}}}},
            ),
            "parameters": [*common, _PRETTY],
        }
        if r.namespaced:
            paths[f"{root}/{r.plural}"] = {
                "get": _operation(
                    "list",
                    f"list{prefix}{r.kind}ForAllNamespaces",
                    f"list or watch objects of kind {r.kind}",
                    tag,
                    gvk,
                    [],
                    _response("200", "OK", list_name),
                ),
                "parameters": [*_LIST_PARAMS, _PRETTY],
            }
    item = kind_ops(type_name, "the", "", gvk)
    item["delete"] = _operation(
        "delete",
        f"delete{prefix}{scope}{r.kind}",
        f"delete a {r.kind}",
        tag,
        gvk,
        _DELETE_PARAMS,
        {**_response("200", "OK", _META + "Status"), **_response("202", "Accepted", _META + "Status")},
        {"content": {"*/*": {"schema": {"$ref": _COMPONENTS + _META + "DeleteOptions"}}}},
    )
    paths[f"{base}/{{name}}"] = {**item, "parameters": [name_param, *common, _PRETTY]}
    if "status" in r.subresources:
        paths[f"{base}/{{name}}/status"] = {
            **kind_ops(type_name, "status", "Status", gvk),
            "parameters": [name_param, *common, _PRETTY],
        }
    if "scale" in r.subresources:
        scale_gvk = {"group": "autoscaling", "kind": "Scale", "version": "v1"}
        paths[f"{base}/{{name}}/scale"] = {
            **kind_ops(_SCALE, "scale", "Scale", scale_gvk),
            "parameters": [name_param, *common, _PRETTY],
        }


@functools.cache
def _document_and_hash(gv_path: str) -> tuple[bytes, str] | None:
    served = [r for r in RESOURCE_TYPES if _gv_path(r.group, r.version) == gv_path]
    if not served:
        return None
    paths: JSON = {}
    roots: list[str] = list(_META_DEFINITIONS)
    for r in served:
        type_name = definition_name_for(r.group, r.version, r.kind)
        if type_name is None:
            continue
        list_name = definition_name_for(r.group, r.version, r.list_kind)
        roots.append(type_name)
        if list_name:
            roots.append(list_name)
        if "scale" in r.subresources:
            roots.append(_SCALE)
        _resource_paths(r, type_name, list_name, paths)
    defs = definitions()
    schemas = {name: _convert(defs[name], top_level=True) for name in _closure(roots)}
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    body = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    # Upstream uses an uppercase SHA-512 hex digest as the hash; any content hash works.
    return body, hashlib.sha512(body).hexdigest().upper()


def openapi_v3_document(gv_path: str) -> bytes | None:
    """The serialized document for `api/v1` or `apis/<group>/<version>`; None if not served."""
    found = _document_and_hash(gv_path.strip("/"))
    return found[0] if found else None


def openapi_v3_index() -> JSON:
    """`GET /openapi/v3`: one entry per served group-version, with a content hash."""
    paths: JSON = {}
    for group, version in group_versions():
        gv = _gv_path(group, version)
        found = _document_and_hash(gv)
        if found is not None:
            paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={found[1]}"}
    return {"paths": paths}
