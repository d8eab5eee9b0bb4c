"""The scale subresource: an autoscaling/v1 Scale view of spec.replicas.

    GET  ─▶ read the object ─▶ Scale {spec.replicas, status.replicas, status.selector}
    PUT / PATCH ─▶ read ─▶ Scale of it, patched (strategic patches merge: Scale has no
        patch strategies) or replaced (resourceVersion checked, 409) ─▶ replicas an
        integer ≥ 0 (400 / 422) ─▶ Registry.write_update of the main object, recorded in
        managedFields under the `scale` subresource ─▶ Scale of the result

A patch that loses a race with another writer re-reads and retries; a PUT does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litekube.api.resources import ResourceType
from litekube.api.selectors import format_label_selector
from litekube.apiserver import errors
from litekube.apiserver.objects import JSON, deepcopy
from litekube.apiserver.patching import apply_patch
from litekube.apiserver.registry_types import PATCH_MERGE, PATCH_STRATEGIC, WriteOptions

if TYPE_CHECKING:
    from litekube.apiserver.registry import Registry


async def get_scale(registry: Registry, rt: ResourceType, namespace: str | None, name: str) -> JSON:
    return to_scale(rt, await registry.get(rt, namespace, name))


async def update_scale(
    registry: Registry,
    rt: ResourceType,
    namespace: str | None,
    name: str,
    body: Any,
    patch_type: str | None,
    opts: WriteOptions,
) -> JSON:
    for _ in range(10):
        obj = await registry.get(rt, namespace, name)
        scale = to_scale(rt, obj)
        if patch_type is not None:
            scale = apply_patch(
                rt, scale, body, patch_type if patch_type != PATCH_STRATEGIC else PATCH_MERGE, opts
            )
        else:
            if not isinstance(body, dict):
                raise errors.bad_request("invalid Scale body")
            rv = (body.get("metadata") or {}).get("resourceVersion")
            if rv and rv != obj["metadata"]["resourceVersion"]:
                raise errors.conflict(rt, name)
            scale = body
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise errors.bad_request("spec.replicas must be an integer")
        if replicas < 0:
            cause = {
                "reason": "FieldValueInvalid",
                "field": "spec.replicas",
                "message": f"Invalid value: {replicas}: must be greater than or equal to 0",
            }
            raise errors.invalid(
                rt,
                name,
                [cause],
                f'Scale.autoscaling "{name}" is invalid: spec.replicas: {cause["message"]}',
            )
        new = deepcopy(obj)
        new.setdefault("spec", {})["replicas"] = replicas
        try:
            result = await registry.write_update(
                rt,
                namespace,
                name,
                obj,
                new,
                int(obj["metadata"]["resourceVersion"]),
                opts,
                None,
                manager_subresource="scale",
            )
        except errors.ApiException as e:
            if e.code == 409 and patch_type is not None:
                continue
            raise
        return to_scale(rt, result.obj)
    raise errors.conflict(rt, name)


def to_scale(rt: ResourceType, obj: JSON) -> JSON:
    m = obj["metadata"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = spec.get("selector")
    if rt.kind == "ReplicationController":
        sel_text = ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items()))
    else:
        sel_text = format_label_selector(selector) if selector else ""
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in m
        },
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0), "selector": sel_text},
    }
