"""The generic store: create, read and update any resource type; the other verbs live beside it.

Every write follows the same flow as upstream's generic registry:

    request body ─▶ type/namespace checks ─▶ JSON types (400, as upstream's decoder)
        ─▶ unknown-field check (fieldValidation) ─▶ strategy (status handling, generation)
        ─▶ defaults ─▶ managedFields (the writer's Update entry) ─▶ validation (422)
        ─▶ admission-like steps (namespace exists, ClusterIP/NodePort allocation)
        ─▶ storage write with optimistic concurrency (409) ─▶ object with resourceVersion

`Registry` keeps create, get, update (`write_update`, shared by patch and scale) and the
checks; it delegates LIST to `listing.py`, PATCH to `patching.py`, DELETE to `deletion.py`
and the scale subresource to `scale.py`, whose functions take the registry. The request and
result shapes are in `registry_types.py` and re-exported here.

Only the registry (and `watch.py`) talk to storage. Objects leave here as fresh dicts the
caller may keep.
"""

from __future__ import annotations

from typing import Any

import orjson

from litekube.api import defaults as api_defaults
from litekube.api import schema as api_schema
from litekube.api import validation as api_validation
from litekube.api.managed_fields import record_update
from litekube.api.resources import RESOURCE_TYPES, ResourceType, by_kind
from litekube.api.selectors import SelectorError, parse_field_selector, parse_label_selector
from litekube.apiserver import admission, conversion, deletion, errors, listing, patching, scale, strategy
from litekube.apiserver.objects import (
    JSON,
    decode_from_storage,
    deepcopy,
    encode_for_storage,
    meta,
    new_uid,
    now_rfc3339,
    random_suffix,
)
from litekube.apiserver.registry_types import (
    NAMESPACES,
    PATCH_APPLY,
    PATCH_JSON,
    PATCH_MERGE,
    PATCH_STRATEGIC,
    PODS,
    SERVICEACCOUNTS,
    SERVICES,
    ListOptions,
    WriteOptions,
    WriteResult,
)
from litekube.apiserver.services import ServiceAllocations
from litekube.storage.types import ConflictError, KeyExistsError, KeyNotFoundError, Storage

__all__ = [
    "NAMESPACES",
    "PATCH_APPLY",
    "PATCH_JSON",
    "PATCH_MERGE",
    "PATCH_STRATEGIC",
    "SERVICES",
    "ListOptions",
    "Registry",
    "WriteOptions",
    "WriteResult",
]


class Registry:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.services = ServiceAllocations()
        # namespace name -> phase; this process is the only writer of namespaces, so the
        # map stays exact and spares a storage read on every namespaced create.
        self._namespaces: dict[str, str] = {}

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        result = await self.storage.list(NAMESPACES.storage_prefix)
        for kv in result.items:
            obj = orjson.loads(kv.value)
            self._namespaces[obj["metadata"]["name"]] = (obj.get("status") or {}).get("phase", "Active")
        services = await self.storage.list(SERVICES.storage_prefix)
        self.services.rebuild([orjson.loads(kv.value) for kv in services.items])

    # ----------------------------------------------------------------- reads
    async def get(self, rt: ResourceType, namespace: str | None, name: str) -> JSON:
        kv = await self.storage.get(rt.storage_key(namespace, name))
        if kv is None:
            raise errors.not_found(rt, name)
        return self.present(rt, decode_from_storage(kv.value, kv.mod_revision))

    async def list_objects(self, rt: ResourceType, namespace: str | None, opts: ListOptions) -> JSON:
        return await listing.list_objects(self, rt, namespace, opts)

    async def list_encoded(self, rt: ResourceType, namespace: str | None, opts: ListOptions) -> bytes | None:
        return await listing.list_encoded(self, rt, namespace, opts)

    def selectors(self, rt: ResourceType, label_selector: str, field_selector: str) -> tuple[Any, Any]:
        try:
            labels = parse_label_selector(label_selector or "")
            fields = parse_field_selector(rt, field_selector or "")
        except SelectorError as e:
            raise errors.bad_request(str(e)) from e
        return labels, fields

    # ----------------------------------------------------------------- create
    async def create(
        self, rt: ResourceType, namespace: str | None, body: Any, opts: WriteOptions, record: bool = True
    ) -> WriteResult:
        """Create; `record` False for server-side apply, which keeps its own Apply entry."""
        obj = self._check_body(rt, namespace, body)
        self.check_types(rt, obj)
        warnings = self.field_validation(rt, obj, opts)
        obj = conversion.to_stored(rt, obj)
        m = meta(obj)
        if rt.namespaced:
            m["namespace"] = namespace
            self._check_namespace_open(namespace or "", rt)
        else:
            m.pop("namespace", None)
        if not m.get("name") and not m.get("generateName"):
            raise errors.invalid(
                rt,
                "",
                [
                    {
                        "reason": "FieldValueRequired",
                        "message": "Required value: name or generateName is required",
                        "field": "metadata.name",
                    }
                ],
                f'{_kind_group(rt)} "" is invalid: metadata.name: Required value: name or generateName is required',
            )
        service_account = await self._service_account(namespace, obj) if rt is PODS else None
        for attempt in range(8):
            candidate = deepcopy(obj) if attempt else obj
            cm = meta(candidate)
            if not cm.get("name"):
                cm["name"] = cm["generateName"] + random_suffix()
            self._prepare_create(rt, candidate)
            if rt is PODS:
                admission.admit_pod(candidate, service_account)
            if record and opts.manager:
                record_update(None, candidate, opts.manager)
            self._validate(rt, candidate, None)
            if rt is SERVICES:
                self.services.allocate(candidate, dry_run=opts.dry_run, rt=rt)
            if opts.dry_run:
                return WriteResult(candidate, created=True, warnings=warnings)
            key = rt.storage_key(namespace, cm["name"])
            try:
                rev = await self.storage.create(key, self.encode(rt, candidate))
            except KeyExistsError:
                if rt is SERVICES:
                    self.services.release(candidate)
                if obj.get("metadata", {}).get("name") and not m.get("generateName"):
                    raise errors.already_exists(rt, cm["name"]) from None
                if m.get("name"):
                    raise errors.already_exists(rt, cm["name"]) from None
                continue
            cm["resourceVersion"] = str(rev)
            if rt is NAMESPACES:
                self._namespaces[cm["name"]] = "Active"
            return WriteResult(self.present(rt, candidate), created=True, warnings=warnings)
        raise errors.already_exists(rt, m.get("generateName", ""))

    async def _service_account(self, namespace: str | None, pod: JSON) -> JSON | None:
        """The pod's ServiceAccount for admission, or None while it does not exist (see admission.py)."""
        kv = await self.storage.get(
            SERVICEACCOUNTS.storage_key(namespace, admission.service_account_name(pod))
        )
        return None if kv is None else decode_from_storage(kv.value, kv.mod_revision)

    def _prepare_create(self, rt: ResourceType, obj: JSON) -> None:
        m = meta(obj)
        m["uid"] = new_uid()
        m["creationTimestamp"] = now_rfc3339()
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "selfLink"):
            m.pop(k, None)
        if strategy.tracks_generation(rt):
            m["generation"] = 1
        else:
            m.pop("generation", None)
        strategy.prepare_for_create(rt, obj)
        api_defaults.apply_defaults(obj)

    # ----------------------------------------------------------------- update
    async def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        opts: WriteOptions,
        subresource: str | None = None,
    ) -> WriteResult:
        new = self._check_body(rt, namespace, body)
        self.check_types(rt, new)
        warnings = self.field_validation(rt, new, opts)
        new = conversion.to_stored(rt, new)
        nm = meta(new)
        if nm.get("name") and nm["name"] != name:
            raise errors.bad_request(
                "the name of the object ({}) does not match the name on the URL ({})".format(nm["name"], name)
            )
        key = rt.storage_key(namespace, name)
        kv = await self.storage.get(key)
        if kv is None:
            if subresource is None and rt.kind not in ("Pod",) and nm.get("name"):
                # PUT creates, as upstream's AllowCreateOnUpdate kinds do (most but not pods).
                if rt.kind in {
                    "Namespace",
                    "Node",
                    "Event",
                    "Lease",
                    "ConfigMap",
                    "Secret",
                    "Endpoints",
                    "EndpointSlice",
                    "Service",
                    "ServiceAccount",
                }:
                    created = await self.create(rt, namespace, new, opts)
                    return created
            raise errors.not_found(rt, name)
        wanted_rv = nm.get("resourceVersion")
        if wanted_rv and wanted_rv != str(kv.mod_revision):
            raise errors.conflict(rt, name)
        old = decode_from_storage(kv.value, kv.mod_revision)
        result = await self.write_update(rt, namespace, name, old, new, kv.mod_revision, opts, subresource)
        result.warnings[:0] = warnings
        return result

    async def write_update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        old: JSON,
        new: JSON,
        old_rev: int,
        opts: WriteOptions,
        subresource: str | None,
        record: bool = True,
        manager_subresource: str | None = None,
    ) -> WriteResult:
        """Store `new` over `old`. `record` False for apply (its entry is already made);
        `manager_subresource` names the subresource in the Update entry when it differs
        from the one written (scale writes the main object)."""
        if subresource == "status":
            new = strategy.prepare_for_status_update(rt, new, old)
        elif subresource == "binding":
            pass  # spec.nodeName and the PodScheduled condition, as prepared by the binding handler
        elif subresource == "finalize":
            finalizers = (new.get("spec") or {}).get("finalizers") or []
            new = deepcopy(old)
            new.setdefault("spec", {})["finalizers"] = finalizers
        else:
            strategy.prepare_for_update(rt, new, old)
        om, nm = old["metadata"], meta(new)
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace"):
            if k in om:
                nm[k] = om[k]
            else:
                nm.pop(k, None)
        nm["name"] = om["name"]
        nm.pop("resourceVersion", None)
        if "generation" in om:
            nm["generation"] = om["generation"]
            if subresource is None and strategy.spec_part(new) != strategy.spec_part(old):
                nm["generation"] = om["generation"] + 1
        api_defaults.apply_defaults(new)
        if rt is SERVICES and subresource is None:
            self.services.carry_over(new, old)
        if nm.get("managedFields") is None and om.get("managedFields"):
            nm["managedFields"] = om["managedFields"]  # clients rarely send them back
        if record and subresource != "binding" and opts.manager:
            record_update(old, new, opts.manager, manager_subresource or subresource)
        if subresource != "binding":
            self._validate(rt, new, old)
        if rt is SERVICES and subresource is None:
            self.services.reallocate(new, old, dry_run=opts.dry_run, rt=rt)
        if opts.dry_run:
            nm["resourceVersion"] = str(old_rev)
            return WriteResult(self.present(rt, new))
        key = rt.storage_key(namespace, name)
        # An object being deleted goes away once its last finalizer is removed.
        if om.get("deletionTimestamp") and not nm.get("finalizers") and deletion.finalized(rt, new):
            return await deletion.delete_finalized(self, rt, key, name, new, old_rev)
        if _unchanged(old, new):
            # as upstream's storage: an update that changes nothing (managedFields timestamps
            # aside) is not written, so the resourceVersion stays and no watch event goes out
            same = deepcopy(old)
            meta(same)["resourceVersion"] = str(old_rev)
            return WriteResult(self.present(rt, same))
        try:
            rev = await self.storage.update(key, self.encode(rt, new), old_rev)
        except ConflictError:
            raise errors.conflict(rt, name) from None
        except KeyNotFoundError:
            raise errors.not_found(rt, name) from None
        nm["resourceVersion"] = str(rev)
        if rt is NAMESPACES:
            self._namespaces[name] = (new.get("status") or {}).get("phase", "Active")
        return WriteResult(self.present(rt, new))

    # ----------------------------------------------------------------- other verbs
    async def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_body: Any,
        patch_type: str,
        opts: WriteOptions,
        subresource: str | None = None,
    ) -> WriteResult:
        return await patching.patch(self, rt, namespace, name, patch_body, patch_type, opts, subresource)

    async def delete(
        self, rt: ResourceType, namespace: str | None, name: str, options: JSON, dry_run: bool = False
    ) -> tuple[int, JSON]:
        return await deletion.delete(self, rt, namespace, name, options, dry_run)

    async def delete_collection(
        self, rt: ResourceType, namespace: str | None, opts: ListOptions, options: JSON, dry_run: bool
    ) -> JSON:
        return await deletion.delete_collection(self, rt, namespace, opts, options, dry_run)

    async def get_scale(self, rt: ResourceType, namespace: str | None, name: str) -> JSON:
        return await scale.get_scale(self, rt, namespace, name)

    async def update_scale(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        patch_type: str | None,
        opts: WriteOptions,
    ) -> JSON:
        return await scale.update_scale(self, rt, namespace, name, body, patch_type, opts)

    # ----------------------------------------------------------------- helpers
    def _check_body(self, rt: ResourceType, namespace: str | None, body: Any) -> JSON:
        if not isinstance(body, dict):
            raise errors.bad_request(f"Object '{rt.kind}' is not a JSON object")
        obj = body
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if (kind and kind != rt.kind) or (api_version and api_version != rt.api_version):
            other = by_kind(str(api_version), str(kind))
            if other is None or other.kind != rt.kind:
                raise errors.bad_request(
                    f"the API version in the data ({api_version}) does not match the expected API version "
                    f"({rt.api_version})"
                    if kind == rt.kind
                    else f'{kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                    f'no kind "{kind}" is registered for version "{api_version}"'
                )
        obj["kind"], obj["apiVersion"] = rt.kind, rt.api_version
        m = meta(obj)
        body_ns = m.get("namespace")
        if rt.namespaced and body_ns and namespace and body_ns != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        return obj

    def _check_namespace_open(self, namespace: str, rt: ResourceType) -> None:
        phase = self._namespaces.get(namespace)
        if phase is None:
            raise errors.namespace_not_found(namespace)
        if phase == "Terminating" and rt.kind != "Event":
            raise errors.forbidden(
                f'{rt.plural} "" is forbidden: unable to create new content in namespace {namespace} '
                f"because it is being terminated",
                rt,
            )

    @staticmethod
    def check_types(rt: ResourceType, obj: JSON) -> None:
        """A value of the wrong JSON type fails decoding upstream: 400, before any other check."""
        mismatch = api_schema.type_mismatch(obj)
        if mismatch:
            raise errors.bad_request(api_schema.decoding_message(rt.kind, rt.version, mismatch))

    def field_validation(self, rt: ResourceType, obj: JSON, opts: WriteOptions) -> list[str]:
        mode = opts.field_validation or "Strict"
        if mode == "Ignore":
            unknown = api_schema.unknown_fields(obj)
            if unknown:
                api_schema.prune_unknown(obj)
            return []
        unknown = api_schema.unknown_fields(obj)
        if not unknown:
            return []
        if mode == "Strict":
            fields = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: strict decoding error: {fields}'
            )
        api_schema.prune_unknown(obj)
        return [f'unknown field "{u}"' for u in unknown]

    def _validate(self, rt: ResourceType, obj: JSON, old: JSON | None) -> None:
        causes = api_validation.validate(obj, old)
        if causes:
            body = api_validation.invalid_status(rt.kind, rt.group, meta(obj).get("name", ""), causes)
            raise errors.StatusException(body)

    @staticmethod
    def encode(rt: ResourceType, obj: JSON) -> bytes:
        """The stored bytes of `obj` (in its stored shape); see objects.encode_for_storage."""
        return encode_for_storage(obj, None if conversion.needs_conversion(rt) else rt)

    @staticmethod
    def present(rt: ResourceType, obj: JSON) -> JSON:
        if conversion.needs_conversion(rt):
            return conversion.to_served(rt, obj)
        obj["kind"], obj["apiVersion"] = rt.kind, rt.api_version
        return obj

    async def namespace_exists(self, name: str) -> bool:
        return name in self._namespaces

    def note_namespace_phase(self, name: str, phase: str) -> None:
        self._namespaces[name] = phase

    def after_delete(self, rt: ResourceType, obj: JSON) -> None:
        """Release what the object held in the registry's bookkeeping."""
        if rt is SERVICES:
            self.services.release(obj)
        elif rt is NAMESPACES:
            self._namespaces.pop(obj["metadata"]["name"], None)


def _unchanged(old: JSON, new: JSON) -> bool:
    if len(old) != len(new) or any(new.get(k) != v for k, v in old.items() if k != "metadata"):
        return False
    skip = ("resourceVersion", "managedFields")
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    if {k: v for k, v in om.items() if k not in skip} != {k: v for k, v in nm.items() if k not in skip}:
        return False

    def untimed(entries: Any) -> list[JSON]:
        return [{k: v for k, v in entry.items() if k != "time"} for entry in entries or ()]

    return untimed(om.get("managedFields")) == untimed(nm.get("managedFields"))


def _kind_group(rt: ResourceType) -> str:
    return f"{rt.kind}.{rt.group}" if rt.group else rt.kind


ALL_TYPES = RESOURCE_TYPES
