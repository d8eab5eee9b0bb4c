"""Discovery documents: aggregated (apidiscovery.k8s.io/v2) and the legacy lists.

kubectl chooses the format from the response Content-Type alone (KUBECTL-WIRE §2.1), so the
handler must send `AGGREGATED_CONTENT_TYPE` exactly when it sends the aggregated body.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson

from litekube.api.resources import RESOURCE_TYPES, ResourceType, group_versions

JSON = dict[str, Any]

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

_RW = ["get", "patch", "update"]
# subresource -> (response group, version, kind or None for the parent kind, verbs)
_SUBRESOURCES: dict[str, tuple[str | None, str | None, str | None, list[str]]] = {
    "status": (None, None, None, _RW),
    "scale": ("autoscaling", "v1", "Scale", _RW),
    "log": ("", "v1", "Pod", ["get"]),
    "exec": ("", "v1", "PodExecOptions", ["create", "get"]),
    "attach": ("", "v1", "PodAttachOptions", ["create", "get"]),
    "portforward": ("", "v1", "PodPortForwardOptions", ["create", "get"]),
    "binding": ("", "v1", "Binding", ["create"]),
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "finalize": ("", "v1", "Namespace", ["update"]),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ["create"]),
}


def _sub(rt: ResourceType, name: str) -> tuple[str, str, str, list[str]]:
    g, v, k, verbs = _SUBRESOURCES[name]
    return (rt.group if g is None else g, rt.version if v is None else v, rt.kind if k is None else k, verbs)


def _aggregated_resource(rt: ResourceType) -> JSON:
    res: JSON = {
        "resource": rt.plural,
        "singularResource": rt.singular,
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "verbs": sorted(rt.verbs),
    }
    if rt.short_names:
        res["shortNames"] = list(rt.short_names)
    if rt.categories:
        res["categories"] = list(rt.categories)
    subs = []
    for name in rt.subresources:
        g, v, k, verbs = _sub(rt, name)
        subs.append(
            {"subresource": name, "responseKind": {"group": g, "version": v, "kind": k}, "verbs": verbs}
        )
    if subs:
        res["subresources"] = subs
    return res


def _group_entry(group: str) -> JSON:
    versions = []
    for g, v in group_versions():
        if g != group:
            continue
        resources = [_aggregated_resource(rt) for rt in RESOURCE_TYPES if rt.group == g and rt.version == v]
        versions.append({"version": v, "resources": resources, "freshness": "Current"})
    return {"metadata": {"name": group, "creationTimestamp": None}, "versions": versions}


@cache
def aggregated(core: bool) -> bytes:
    groups: list[str] = []
    for g, _ in group_versions():
        if (g == "") == core and g not in groups:
            groups.append(g)
    body = {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": [_group_entry(g) for g in groups],
    }
    return orjson.dumps(body)


@cache
def api_versions() -> bytes:
    return orjson.dumps(
        {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
        }
    )


@cache
def api_group_list() -> bytes:
    groups: dict[str, list[str]] = {}
    for g, v in group_versions():
        if g:
            groups.setdefault(g, []).append(v)
    items = []
    for g, versions in groups.items():
        vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
        items.append({"name": g, "versions": vs, "preferredVersion": vs[0]})
    return orjson.dumps({"kind": "APIGroupList", "apiVersion": "v1", "groups": items})


def api_group(group: str) -> bytes | None:
    versions = [v for g, v in group_versions() if g == group]
    if not versions:
        return None
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return orjson.dumps(
        {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": vs, "preferredVersion": vs[0]}
    )


@cache
def api_resource_list(group: str, version: str) -> bytes | None:
    types = [rt for rt in RESOURCE_TYPES if rt.group == group and rt.version == version]
    if not types:
        return None
    resources: list[JSON] = []
    for rt in types:
        r: JSON = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": sorted(rt.verbs),
        }
        if rt.short_names:
            r["shortNames"] = list(rt.short_names)
        if rt.categories:
            r["categories"] = list(rt.categories)
        resources.append(r)
        for name in rt.subresources:
            g, v, k, verbs = _sub(rt, name)
            sr: JSON = {
                "name": f"{rt.plural}/{name}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": k,
                "verbs": verbs,
            }
            if (g, v) != (rt.group, rt.version):
                sr["group"], sr["version"] = g, v
            resources.append(sr)
    gv = f"{group}/{version}" if group else version
    return orjson.dumps(
        {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
    )
