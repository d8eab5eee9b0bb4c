"""The `kubernetes` Service's endpoints: where pods find the API server (upstream's endpoint reconciler).

Upstream the API server itself keeps two objects in `default` pointing at its advertise
address; here the Endpoints controller does it, with the address the server was given
(`APIServer.advertise_address`, the node IP for a wildcard bind):

    Endpoints     kubernetes  labels {endpointslice.kubernetes.io/skip-mirror: "true"}
                  one subset: addresses [{ip}], ports [{name: https, port, protocol: TCP}]
    EndpointSlice kubernetes  labels {kubernetes.io/service-name: kubernetes}, no managed-by
                  addressType IPv4 (IPv6 for a v6 address), one endpoint {addresses [ip],
                  conditions {ready: true}}, ports as above

The skip-mirror label keeps the mirroring controller away (the slice is written here), and
the missing managed-by label keeps the EndpointSlice controller away (the Service has no
selector). Any other slice labelled for the `kubernetes` Service is deleted, as upstream
does with slices of a family it no longer serves. Writes happen only when the content or
labels differ, so a resync is free.
"""

from __future__ import annotations

import ipaddress

from litekube.api.patch import deep_copy, json_equal
from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client

NAMESPACE = "default"
NAME = "kubernetes"
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
SERVICE_NAME = "kubernetes.io/service-name"


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


ENDPOINTS = _rt("", "v1", "endpoints")
ENDPOINT_SLICES = _rt("discovery.k8s.io", "v1", "endpointslices")


def is_apiserver_service(namespace: str | None, name: str) -> bool:
    return namespace == NAMESPACE and name == NAME


def endpoint_ports(service: JSON, api_port: int) -> list[JSON]:
    """Every Service port leads to the one port the server listens on."""
    ports = (service.get("spec") or {}).get("ports") or [{"name": "https"}]
    return [
        {"name": p.get("name", "https"), "port": api_port, "protocol": p.get("protocol", "TCP")}
        for p in ports
    ]


def desired_endpoints(address: str, ports: list[JSON]) -> JSON:
    return {
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {SKIP_MIRROR: "true"}},
        "subsets": [{"addresses": [{"ip": address}], "ports": ports}],
    }


def desired_slice(address: str, ports: list[JSON]) -> JSON:
    family = "IPv6" if ipaddress.ip_address(address).version == 6 else "IPv4"
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {SERVICE_NAME: NAME}},
        "addressType": family,
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": ports,
    }


async def _current(client: Client, rt: ResourceType) -> JSON | None:
    try:
        return await client.get(rt, NAME, NAMESPACE)
    except ApiError as e:
        if e.not_found:
            return None
        raise


async def sync_apiserver_endpoints(
    client: Client, service: JSON, address: str, api_port: int, slices: list[JSON]
) -> None:
    """Converge both objects; `slices` are the cached EndpointSlices of `default`."""
    ports = endpoint_ports(service, api_port)
    await _converge(client, ENDPOINTS, desired_endpoints(address, ports), ("subsets",))
    want = desired_slice(address, ports)
    for other in slices:
        meta = other["metadata"]
        if (meta.get("labels") or {}).get(SERVICE_NAME) == NAME and (
            meta["name"] != NAME or other.get("addressType") != want["addressType"]
        ):
            try:
                await client.delete(ENDPOINT_SLICES, meta["name"], NAMESPACE)
            except ApiError as e:
                if not e.not_found:
                    raise
    await _converge(client, ENDPOINT_SLICES, want, ("addressType", "endpoints", "ports"))


async def _converge(client: Client, rt: ResourceType, want: JSON, fields: tuple[str, ...]) -> None:
    current = await _current(client, rt)
    if current is None:
        await client.create(rt, want, NAMESPACE)
        return
    labels = want["metadata"]["labels"]
    if (current["metadata"].get("labels") or {}) == labels and all(
        json_equal(current.get(f), want[f]) for f in fields
    ):
        return
    body = deep_copy(current)
    body["metadata"]["labels"] = dict(labels)
    for f in fields:
        body[f] = want[f]
    await client.update(rt, body)
