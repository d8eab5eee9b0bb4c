"""PATCH: JSON, merge, strategic-merge and server-side apply patches.

    read the stored object ─▶ apply the patch to its served form ─▶ JSON types (400)
        ─▶ unknown fields (not for JSON patches) ─▶ resourceVersion precondition (409)
        ─▶ Registry.write_update ─▶ on a 409 the patch did not ask for: re-read and retry

An apply patch to a missing object creates it (`apply_create`), with the Apply entry that
server-side apply already made instead of an Update entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litekube.api import patch as api_patch
from litekube.api.apply import ApplyConflict, server_side_apply
from litekube.api.resources import ResourceType
from litekube.apiserver import conversion, errors
from litekube.apiserver.objects import JSON, decode_from_storage, meta
from litekube.apiserver.registry_types import (
    PATCH_APPLY,
    PATCH_JSON,
    PATCH_MERGE,
    PATCH_STRATEGIC,
    WriteOptions,
    WriteResult,
)

if TYPE_CHECKING:
    from litekube.apiserver.registry import Registry


async def patch(
    registry: Registry,
    rt: ResourceType,
    namespace: str | None,
    name: str,
    patch_body: Any,
    patch_type: str,
    opts: WriteOptions,
    subresource: str | None = None,
) -> WriteResult:
    key = rt.storage_key(namespace, name)
    for _ in range(10):
        kv = await registry.storage.get(key)
        if kv is None:
            if patch_type == PATCH_APPLY and subresource is None:
                return await apply_create(registry, rt, namespace, name, patch_body, opts)
            raise errors.not_found(rt, name)
        old = decode_from_storage(kv.value, kv.mod_revision)
        new = apply_patch(rt, conversion.to_served(rt, old), patch_body, patch_type, opts)
        registry.check_types(rt, new)
        warnings = registry.field_validation(rt, new, opts) if patch_type != PATCH_JSON else []
        new = conversion.to_stored(rt, new)
        wanted_rv = (new.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != str(kv.mod_revision):
            # The patch itself carried a resourceVersion precondition.
            if _patch_sets_rv(patch_body):
                raise errors.conflict(rt, name)
        try:
            result = await registry.write_update(
                rt,
                namespace,
                name,
                old,
                new,
                kv.mod_revision,
                opts,
                subresource,
                record=patch_type != PATCH_APPLY,
            )
        except errors.ApiException as e:
            if e.code == 409 and e.reason == "Conflict" and not _patch_sets_rv(patch_body):
                continue  # someone wrote in between: re-read and re-apply the patch
            raise
        result.warnings[:0] = warnings
        return result
    raise errors.conflict(rt, name)


def apply_patch(rt: ResourceType, old: JSON, patch_body: Any, patch_type: str, opts: WriteOptions) -> JSON:
    try:
        if patch_type == PATCH_JSON:
            if not isinstance(patch_body, list):
                raise errors.bad_request(
                    "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
                )
            return api_patch.json_patch(old, patch_body)
        if not isinstance(patch_body, dict):
            raise errors.bad_request("the body of the patch must be a JSON object")
        if patch_type == PATCH_MERGE:
            return api_patch.json_merge_patch(old, patch_body)
        if patch_type == PATCH_STRATEGIC:
            return api_patch.strategic_merge_patch(old, patch_body, rt.group, rt.version, rt.kind)
        if patch_type == PATCH_APPLY:
            _check_apply_body(rt, patch_body, meta(old).get("name", ""))
            return server_side_apply(old, patch_body, opts.field_manager, opts.force)
    except api_patch.PatchError as e:
        raise errors.ApiException(422, "Invalid", str(e)) from e
    except ApplyConflict as e:
        raise errors.ApiException(409, "Conflict", str(e), {"causes": e.causes}) from e
    raise errors.unsupported_media_type(patch_type)


async def apply_create(
    registry: Registry, rt: ResourceType, namespace: str | None, name: str, body: Any, opts: WriteOptions
) -> WriteResult:
    _check_apply_body(rt, body, name)
    try:
        obj = server_side_apply(None, body, opts.field_manager, opts.force)
    except ApplyConflict as e:  # cannot happen on create, but keep the contract
        raise errors.ApiException(409, "Conflict", str(e), {"causes": e.causes}) from e
    meta(obj)["name"] = name
    return await registry.create(rt, namespace, obj, opts, record=False)


def _check_apply_body(rt: ResourceType, body: Any, name: str) -> None:
    if not isinstance(body, dict) or not body.get("apiVersion") or not body.get("kind"):
        raise errors.bad_request("invalid object type: /, Kind=")
    if (body.get("metadata") or {}).get("name") not in (None, name):
        raise errors.bad_request(
            f"the name of the object ({body['metadata']['name']}) does not match the name on the URL ({name})"
        )


def _patch_sets_rv(patch_body: Any) -> bool:
    if isinstance(patch_body, dict):
        return bool((patch_body.get("metadata") or {}).get("resourceVersion"))
    if isinstance(patch_body, list):
        return any(
            isinstance(op, dict) and op.get("path") == "/metadata/resourceVersion" for op in patch_body
        )
    return False
