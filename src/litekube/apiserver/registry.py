"""The generic store: create, read, update, patch, delete and list any resource type.

Every verb follows the same flow as upstream's generic registry:

    request body ─▶ type/namespace checks ─▶ JSON types (400, as upstream's decoder)
        ─▶ unknown-field check (fieldValidation) ─▶ strategy (status handling, generation)
        ─▶ defaults ─▶ managedFields (the writer's Update entry) ─▶ validation (422)
        ─▶ admission-like steps (namespace exists, ClusterIP/NodePort allocation)
        ─▶ storage write with optimistic concurrency (409) ─▶ object with resourceVersion

Only this module (and `watch.py`) talk to storage. Objects leave here as fresh dicts the
caller may keep.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from litekube.api import defaults as api_defaults
from litekube.api import patch as api_patch
from litekube.api import schema as api_schema
from litekube.api import validation as api_validation
from litekube.api.apply import ApplyConflict, default_manager, record_update, server_side_apply
from litekube.api.resources import RESOURCE_TYPES, ResourceType, by_kind, lookup
from litekube.api.selectors import SelectorError, parse_field_selector, parse_label_selector
from litekube.apiserver import conversion, errors, strategy
from litekube.apiserver.objects import (
    JSON,
    decode_from_storage,
    deepcopy,
    encode_for_storage,
    encoded_with_revision,
    meta,
    now_rfc3339,
    random_suffix,
)
from litekube.apiserver.services import ServiceAllocations
from litekube.storage.types import (
    CompactedError,
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Storage,
)


def _builtin(plural: str) -> ResourceType:
    rt = lookup("", "v1", plural)
    assert rt is not None
    return rt


NAMESPACES = _builtin("namespaces")
SERVICES = _builtin("services")

PATCH_JSON = "application/json-patch+json"
PATCH_MERGE = "application/merge-patch+json"
PATCH_STRATEGIC = "application/strategic-merge-patch+json"
PATCH_APPLY = "application/apply-patch+yaml"


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_validation: str = "Strict"  # Strict | Warn | Ignore (kubectl sends Strict by default)
    field_manager: str = ""
    force: bool = False
    user_agent: str = ""  # names the manager of writes without fieldManager

    @property
    def manager(self) -> str:
        return self.field_manager or default_manager(self.user_agent)


@dataclass
class WriteResult:
    obj: JSON
    created: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class ListOptions:
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""


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
        return self._present(rt, decode_from_storage(kv.value, kv.mod_revision))

    async def list_objects(self, rt: ResourceType, namespace: str | None, opts: ListOptions) -> JSON:
        labels, fields = self.selectors(rt, opts.label_selector, opts.field_selector)
        items: list[JSON] = []

        def keep(kv: KeyValue) -> bool:
            obj = decode_from_storage(kv.value, kv.mod_revision)
            if labels.matches((obj.get("metadata") or {}).get("labels")) and fields.matches(obj):
                items.append(self._present(rt, obj))
                return True
            return False

        list_meta = await self._scan(rt, namespace, opts, keep)
        return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": list_meta, "items": items}

    async def list_encoded(self, rt: ResourceType, namespace: str | None, opts: ListOptions) -> bytes | None:
        """The List as JSON bytes without decoding every object, or None when selectors need decoding.

        Stored objects start with `{"metadata":{` (see objects.encode_for_storage), so the
        resourceVersion is spliced in as bytes; 5,000 pods list several times faster this way.
        """
        if opts.label_selector or opts.field_selector or conversion.needs_conversion(rt):
            return None
        chunks: list[bytes] = []

        def keep(kv: KeyValue) -> bool:
            chunks.append(encoded_with_revision(kv.value, kv.mod_revision))
            return True

        list_meta = await self._scan(rt, namespace, opts, keep)
        head = orjson.dumps({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": list_meta})
        return head[:-1] + b',"items":[' + b",".join(chunks) + b"]}"

    async def _scan(
        self, rt: ResourceType, namespace: str | None, opts: ListOptions, keep: Callable[[KeyValue], bool]
    ) -> JSON:
        """Read pages until `limit` objects were kept (selectors filter after the read) or the end."""
        prefix = rt.storage_prefix + (f"{namespace}/" if rt.namespaced and namespace else "")
        revision = 0
        start_after: str | None = None
        if opts.continue_token:
            revision, start_after = _decode_continue(opts.continue_token)
        elif opts.resource_version not in ("", "0") and opts.resource_version_match == "Exact":
            revision = _parse_rv(opts.resource_version)
        kept = 0
        more = False
        last_key: str | None = None
        try:
            while True:
                want = opts.limit - kept if opts.limit else 0
                page = await self.storage.list(prefix, revision, want, start_after)
                revision = page.revision
                for kv in page.items:
                    kept += keep(kv)
                    last_key = kv.key
                if not page.more:
                    break
                start_after = last_key
                if opts.limit and kept >= opts.limit:
                    more = True
                    break
        except CompactedError as e:
            raise errors.gone(
                "The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter, or use the continue token "
                f"in this response to retrieve the remainder of the results. ({e})"
            ) from e
        list_meta: JSON = {"resourceVersion": str(revision)}
        if more and last_key is not None:
            list_meta["continue"] = _encode_continue(revision, last_key)
        return list_meta

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
        self._check_types(rt, obj)
        warnings = self._field_validation(rt, obj, opts)
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
        for attempt in range(8):
            candidate = deepcopy(obj) if attempt else obj
            cm = meta(candidate)
            if not cm.get("name"):
                cm["name"] = cm["generateName"] + random_suffix()
            self._prepare_create(rt, candidate)
            if record and opts.manager:
                record_update(None, candidate, opts.manager)
            self._validate(rt, candidate, None)
            if rt is SERVICES:
                self.services.allocate(candidate, dry_run=opts.dry_run, rt=rt)
            if opts.dry_run:
                return WriteResult(candidate, created=True, warnings=warnings)
            key = rt.storage_key(namespace, cm["name"])
            try:
                rev = await self.storage.create(key, encode_for_storage(candidate))
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
            return WriteResult(self._present(rt, candidate), created=True, warnings=warnings)
        raise errors.already_exists(rt, m.get("generateName", ""))

    def _prepare_create(self, rt: ResourceType, obj: JSON) -> None:
        m = meta(obj)
        m["uid"] = str(uuid.uuid4())
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
        self._check_types(rt, new)
        warnings = self._field_validation(rt, new, opts)
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
        result = await self._write_update(rt, namespace, name, old, new, kv.mod_revision, opts, subresource)
        result.warnings[:0] = warnings
        return result

    async def _write_update(
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
            return WriteResult(self._present(rt, new))
        key = rt.storage_key(namespace, name)
        # An object being deleted goes away once its last finalizer is removed.
        if om.get("deletionTimestamp") and not nm.get("finalizers") and self._finalized(rt, new):
            try:
                rev, _ = await self.storage.delete(key, old_rev)
            except ConflictError:
                raise errors.conflict(rt, name) from None
            except KeyNotFoundError:
                raise errors.not_found(rt, name) from None
            self._after_delete(rt, new)
            nm["resourceVersion"] = str(rev)
            return WriteResult(self._present(rt, new))
        try:
            rev = await self.storage.update(key, encode_for_storage(new), old_rev)
        except ConflictError:
            raise errors.conflict(rt, name) from None
        except KeyNotFoundError:
            raise errors.not_found(rt, name) from None
        nm["resourceVersion"] = str(rev)
        if rt is NAMESPACES:
            self._namespaces[name] = (new.get("status") or {}).get("phase", "Active")
        return WriteResult(self._present(rt, new))

    @staticmethod
    def _finalized(rt: ResourceType, obj: JSON) -> bool:
        if rt is NAMESPACES:
            return not (obj.get("spec") or {}).get("finalizers")
        return True

    # ----------------------------------------------------------------- patch
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
        key = rt.storage_key(namespace, name)
        for _ in range(10):
            kv = await self.storage.get(key)
            if kv is None:
                if patch_type == PATCH_APPLY and subresource is None:
                    return await self._apply_create(rt, namespace, name, patch_body, opts)
                raise errors.not_found(rt, name)
            old = decode_from_storage(kv.value, kv.mod_revision)
            new = self._apply_patch(rt, conversion.to_served(rt, old), patch_body, patch_type, opts)
            self._check_types(rt, new)
            warnings = self._field_validation(rt, new, opts) if patch_type != PATCH_JSON else []
            new = conversion.to_stored(rt, new)
            wanted_rv = (new.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != str(kv.mod_revision):
                # The patch itself carried a resourceVersion precondition.
                if _patch_sets_rv(patch_body):
                    raise errors.conflict(rt, name)
            try:
                result = await self._write_update(
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

    def _apply_patch(
        self, rt: ResourceType, old: JSON, patch_body: Any, patch_type: str, opts: WriteOptions
    ) -> JSON:
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
                self._check_apply_body(rt, patch_body, meta(old).get("name", ""))
                return server_side_apply(old, patch_body, opts.field_manager, opts.force)
        except api_patch.PatchError as e:
            raise errors.ApiException(422, "Invalid", str(e)) from e
        except ApplyConflict as e:
            raise errors.ApiException(409, "Conflict", str(e), {"causes": e.causes}) from e
        raise errors.unsupported_media_type(patch_type)

    async def _apply_create(
        self, rt: ResourceType, namespace: str | None, name: str, body: Any, opts: WriteOptions
    ) -> WriteResult:
        self._check_apply_body(rt, body, name)
        try:
            obj = server_side_apply(None, body, opts.field_manager, opts.force)
        except ApplyConflict as e:  # cannot happen on create, but keep the contract
            raise errors.ApiException(409, "Conflict", str(e), {"causes": e.causes}) from e
        meta(obj)["name"] = name
        return await self.create(rt, namespace, obj, opts, record=False)

    @staticmethod
    def _check_apply_body(rt: ResourceType, body: Any, name: str) -> None:
        if not isinstance(body, dict) or not body.get("apiVersion") or not body.get("kind"):
            raise errors.bad_request("invalid object type: /, Kind=")
        if (body.get("metadata") or {}).get("name") not in (None, name):
            raise errors.bad_request(
                f"the name of the object ({body['metadata']['name']}) does not match "
                f"the name on the URL ({name})"
            )

    # ----------------------------------------------------------------- delete
    async def delete(
        self, rt: ResourceType, namespace: str | None, name: str, options: JSON, dry_run: bool = False
    ) -> tuple[int, JSON]:
        key = rt.storage_key(namespace, name)
        for _ in range(10):
            kv = await self.storage.get(key)
            if kv is None:
                raise errors.not_found(rt, name)
            obj = decode_from_storage(kv.value, kv.mod_revision)
            m = obj["metadata"]
            pre = options.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != m.get("uid"):
                raise errors.conflict(
                    rt,
                    name,
                    f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {m.get('uid')}",
                )
            if pre.get("resourceVersion") and pre["resourceVersion"] != m.get("resourceVersion"):
                raise errors.conflict(
                    rt,
                    name,
                    f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                    f"ResourceVersion in object meta: {m.get('resourceVersion')}",
                )
            policy = options.get("propagationPolicy")
            if policy is None and options.get("orphanDependents") is not None:
                policy = "Orphan" if options["orphanDependents"] else "Background"
            finalizers = list(m.get("finalizers") or [])
            if policy == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            elif policy == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
            graceful = self._grace_period(rt, obj, options)
            if rt is NAMESPACES:
                if not m.get("deletionTimestamp"):
                    m["deletionTimestamp"] = now_rfc3339()
                    m["deletionGracePeriodSeconds"] = 0
                    obj["status"] = {**(obj.get("status") or {}), "phase": "Terminating"}
                if (obj.get("spec") or {}).get("finalizers") or finalizers:
                    m["finalizers"] = finalizers
                    if not m["finalizers"]:
                        m.pop("finalizers")
                    return 200, await self._store_deleting(rt, key, obj, kv.mod_revision, dry_run)
            elif finalizers or graceful:
                if m.get("deletionTimestamp"):
                    if finalizers != list(m.get("finalizers") or []):
                        m["finalizers"] = finalizers
                        return 200, await self._store_deleting(rt, key, obj, kv.mod_revision, dry_run)
                    # Upstream answers 202 Accepted while a graceful deletion is pending.
                    return 200 if finalizers else 202, self._present(rt, obj)
                m["deletionTimestamp"] = now_rfc3339() if not graceful else _rfc3339_in(graceful)
                m["deletionGracePeriodSeconds"] = graceful
                if finalizers:
                    m["finalizers"] = finalizers
                return 200, await self._store_deleting(rt, key, obj, kv.mod_revision, dry_run)
            if dry_run:
                return 200, self._present(rt, obj)
            try:
                rev, _ = await self.storage.delete(key, kv.mod_revision)
            except ConflictError:
                continue
            except KeyNotFoundError:
                raise errors.not_found(rt, name) from None
            self._after_delete(rt, obj)
            m["resourceVersion"] = str(rev)
            return 200, self._present(rt, obj)
        raise errors.conflict(rt, name)

    async def _store_deleting(self, rt: ResourceType, key: str, obj: JSON, rev: int, dry_run: bool) -> JSON:
        if dry_run:
            return self._present(rt, obj)
        try:
            new_rev = await self.storage.update(key, encode_for_storage(obj), rev)
        except ConflictError:
            raise errors.conflict(rt, obj["metadata"]["name"]) from None
        obj["metadata"]["resourceVersion"] = str(new_rev)
        if rt is NAMESPACES:
            self._namespaces[obj["metadata"]["name"]] = "Terminating"
        return self._present(rt, obj)

    @staticmethod
    def _grace_period(rt: ResourceType, obj: JSON, options: JSON) -> int:
        """Seconds of graceful deletion: only pods bound to a node that is running them get one."""
        if rt.kind != "Pod" or rt.group:
            return 0
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        grace = int(grace)
        if obj["metadata"].get("deletionGracePeriodSeconds") is not None:
            grace = min(grace, int(obj["metadata"]["deletionGracePeriodSeconds"]))
        return max(grace, 0)

    def _after_delete(self, rt: ResourceType, obj: JSON) -> None:
        if rt is SERVICES:
            self.services.release(obj)
        elif rt is NAMESPACES:
            self._namespaces.pop(obj["metadata"]["name"], None)

    async def delete_collection(
        self, rt: ResourceType, namespace: str | None, opts: ListOptions, options: JSON, dry_run: bool
    ) -> JSON:
        listed = await self.list_objects(rt, namespace, opts)
        for item in listed["items"]:
            try:
                await self.delete(
                    rt, item["metadata"].get("namespace"), item["metadata"]["name"], options, dry_run
                )
            except errors.ApiException as e:
                if e.code != 404:
                    raise
        return listed

    # ----------------------------------------------------------------- scale
    async def get_scale(self, rt: ResourceType, namespace: str | None, name: str) -> JSON:
        return self._to_scale(rt, await self.get(rt, namespace, name))

    async def update_scale(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        patch_type: str | None,
        opts: WriteOptions,
    ) -> JSON:
        for _ in range(10):
            obj = await self.get(rt, namespace, name)
            scale = self._to_scale(rt, obj)
            if patch_type is not None:
                scale = self._apply_patch(
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
                result = await self._write_update(
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
            return self._to_scale(rt, result.obj)
        raise errors.conflict(rt, name)

    @staticmethod
    def _to_scale(rt: ResourceType, obj: JSON) -> JSON:
        from litekube.api.selectors import format_label_selector

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
                k: m[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in m
            },
            "spec": {"replicas": spec.get("replicas", 0)},
            "status": {"replicas": status.get("replicas", 0), "selector": sel_text},
        }

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
    def _check_types(rt: ResourceType, obj: JSON) -> None:
        """A value of the wrong JSON type fails decoding upstream: 400, before any other check."""
        mismatch = api_schema.type_mismatch(obj)
        if mismatch:
            raise errors.bad_request(api_schema.decoding_message(rt.kind, rt.version, mismatch))

    def _field_validation(self, rt: ResourceType, obj: JSON, opts: WriteOptions) -> list[str]:
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
    def _present(rt: ResourceType, obj: JSON) -> JSON:
        if conversion.needs_conversion(rt):
            return conversion.to_served(rt, obj)
        obj["kind"], obj["apiVersion"] = rt.kind, rt.api_version
        return obj

    async def namespace_exists(self, name: str) -> bool:
        return name in self._namespaces


def _kind_group(rt: ResourceType) -> str:
    return f"{rt.kind}.{rt.group}" if rt.group else rt.kind


def _parse_rv(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise errors.bad_request(f"invalid resource version: {text!r}") from None
    if value < 0:
        raise errors.bad_request(f"invalid resource version: {text!r}")
    return value


def _encode_continue(revision: int, key: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": key})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        return int(data["rv"]), str(data["start"])
    except Exception:
        raise errors.bad_request("continue key is not valid: illegal base64 data") from None


def _patch_sets_rv(patch_body: Any) -> bool:
    if isinstance(patch_body, dict):
        return bool((patch_body.get("metadata") or {}).get("resourceVersion"))
    if isinstance(patch_body, list):
        return any(
            isinstance(op, dict) and op.get("path") == "/metadata/resourceVersion" for op in patch_body
        )
    return False


def _rfc3339_in(seconds: int) -> str:
    import datetime

    t = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


ALL_TYPES = RESOURCE_TYPES
