"""LIST: paged reads of a resource type, with selectors and continue tokens.

    ListOptions ─▶ selectors (400 if unparsable) ─▶ start revision (continue token, or an
        Exact resourceVersion) ─▶ storage pages at that revision ─▶ keep what the selectors
        match until `limit` ─▶ List with resourceVersion (and `continue` when more remain)

A continue token is base64 of {"rv": revision, "start": last key read}, so the next page
reads the same revision after that key; a compacted revision answers 410 Gone.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING

import orjson

from litekube.api.resources import ResourceType
from litekube.apiserver import conversion, errors
from litekube.apiserver.objects import JSON, decode_from_storage, encoded_with_revision
from litekube.apiserver.registry_types import ListOptions
from litekube.storage.types import CompactedError, KeyValue

if TYPE_CHECKING:
    from litekube.apiserver.registry import Registry


async def list_objects(
    registry: Registry, rt: ResourceType, namespace: str | None, opts: ListOptions
) -> JSON:
    labels, fields = registry.selectors(rt, opts.label_selector, opts.field_selector)
    items: list[JSON] = []

    def keep(kv: KeyValue) -> bool:
        obj = decode_from_storage(kv.value, kv.mod_revision)
        if labels.matches((obj.get("metadata") or {}).get("labels")) and fields.matches(obj):
            items.append(registry.present(rt, obj))
            return True
        return False

    list_meta = await scan(registry, rt, namespace, opts, keep)
    return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": list_meta, "items": items}


async def list_encoded(
    registry: Registry, rt: ResourceType, namespace: str | None, opts: ListOptions
) -> bytes | None:
    """The List as JSON bytes without decoding every object, or None when selectors need decoding.

    Stored objects start with a known prefix (see objects.encode_for_storage), so the
    resourceVersion is spliced in as bytes; 5,000 pods list several times faster this way.
    """
    if opts.label_selector or opts.field_selector or conversion.needs_conversion(rt):
        return None
    chunks: list[bytes] = []

    def keep(kv: KeyValue) -> bool:
        chunks.append(encoded_with_revision(kv.value, kv.mod_revision, rt))
        return True

    list_meta = await scan(registry, rt, namespace, opts, keep)
    head = orjson.dumps({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": list_meta})
    return head[:-1] + b',"items":[' + b",".join(chunks) + b"]}"


async def scan(
    registry: Registry,
    rt: ResourceType,
    namespace: str | None,
    opts: ListOptions,
    keep: Callable[[KeyValue], bool],
) -> JSON:
    """Read pages until `limit` objects were kept (selectors filter after the read) or the end."""
    prefix = rt.storage_prefix + (f"{namespace}/" if rt.namespaced and namespace else "")
    revision = 0
    start_after: str | None = None
    if opts.continue_token:
        revision, start_after = decode_continue(opts.continue_token)
    elif opts.resource_version not in ("", "0") and opts.resource_version_match == "Exact":
        revision = parse_rv(opts.resource_version)
    kept = 0
    more = False
    last_key: str | None = None
    try:
        while True:
            want = opts.limit - kept if opts.limit else 0
            page = await registry.storage.list(prefix, revision, want, start_after)
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
        list_meta["continue"] = encode_continue(revision, last_key)
    return list_meta


def parse_rv(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise errors.bad_request(f"invalid resource version: {text!r}") from None
    if value < 0:
        raise errors.bad_request(f"invalid resource version: {text!r}")
    return value


def encode_continue(revision: int, key: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": key})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        return int(data["rv"]), str(data["start"])
    except Exception:
        raise errors.bad_request("continue key is not valid: illegal base64 data") from None
