"""From API objects to the proxy's model: one `ServicePort` per (service, port).

Flow: `build_model(services, slices, node_name)` walks every Service that the proxy
handles (has a ClusterIP, is not ExternalName), and for each of its ports gathers the
endpoints of the Service's EndpointSlices (label `kubernetes.io/service-name`) whose
slice port matches by name and protocol. The slice already carries the resolved target
port number, which is how `targetPort: http` (a named container port) works here.

Endpoint choice follows kube-proxy: ready endpoints; when none is ready, endpoints that
are still serving while terminating (so a rolling update does not drop connections on the
floor). An address listed in two slices counts once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from litekube.client.base import JSON

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int
    local: bool = False  # on this node (externalTrafficPolicy: Local keeps external traffic here)


@dataclass(frozen=True)
class ServicePort:
    """What the rules need to know about one port of one Service."""

    namespace: str
    service: str
    port_name: str
    protocol: str  # TCP, UDP or SCTP
    port: int
    cluster_ip: str
    node_port: int | None = None
    # addresses where the port also answers for outside traffic: LoadBalancer ingress and
    # node addresses (ServiceLB style), spec.externalIPs
    external_ips: tuple[str, ...] = ()
    external_local: bool = False  # externalTrafficPolicy: Local
    affinity_timeout: int | None = None  # seconds, sessionAffinity: ClientIP
    endpoints: tuple[Endpoint, ...] = field(default=())

    @property
    def key(self) -> str:
        """ "ns/name/proto/port-name-or-number": the readable part of chain names."""
        label = self.port_name or str(self.port)
        return f"{self.namespace}/{self.service}/{self.protocol.lower()}/{label}"


def is_proxied(service: JSON) -> bool:
    spec = service.get("spec") or {}
    ip = spec.get("clusterIP")
    return spec.get("type") != "ExternalName" and bool(ip) and ip != "None"


def build_model(
    services: Iterable[JSON],
    slices: Iterable[JSON],
    node_name: str | None = None,
    node_addresses: Iterable[str] = (),
    exclude_ips: Iterable[str] = (),
) -> list[ServicePort]:
    """Every proxied service port with its chosen endpoints, sorted by key."""
    by_service: dict[tuple[str, str], list[JSON]] = {}
    for eps in slices:
        meta = eps.get("metadata") or {}
        owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner and eps.get("addressType", "IPv4") == "IPv4":
            by_service.setdefault((meta.get("namespace") or "", owner), []).append(eps)
    excluded = set(exclude_ips)
    nodes = tuple(node_addresses)
    result: list[ServicePort] = []
    for service in services:
        if not is_proxied(service):
            continue
        meta = service.get("metadata") or {}
        spec = service.get("spec") or {}
        if spec.get("clusterIP") in excluded:
            continue
        key = (meta.get("namespace") or "default", meta.get("name") or "")
        result.extend(_service_ports(service, by_service.get(key, []), node_name, nodes))
    return sorted(result, key=lambda sp: (sp.namespace, sp.service, sp.protocol, sp.port_name, sp.port))


def _service_ports(
    service: JSON, slices: list[JSON], node_name: str | None, node_addresses: tuple[str, ...]
) -> list[ServicePort]:
    meta = service.get("metadata") or {}
    spec = service.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or ())
    if kind == "LoadBalancer":
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        external += [i["ip"] for i in ingress if i.get("ip")]
        # ServiceLB: the port answers on every node address and on localhost
        external += [*node_addresses, "127.0.0.1"]
    external_ips = tuple(sorted(set(external)))
    affinity = None
    if spec.get("sessionAffinity") == "ClientIP":
        config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        affinity = int(config.get("timeoutSeconds") or 10800)
    result = []
    for port in spec.get("ports") or ():
        protocol = port.get("protocol") or "TCP"
        if protocol not in PROTOCOLS:
            continue
        name = port.get("name") or ""
        node_port = port.get("nodePort") if kind in ("NodePort", "LoadBalancer") else None
        result.append(
            ServicePort(
                namespace=meta.get("namespace") or "default",
                service=meta.get("name") or "",
                port_name=name,
                protocol=protocol,
                port=int(port["port"]),
                cluster_ip=spec["clusterIP"],
                node_port=int(node_port) if node_port else None,
                external_ips=external_ips,
                external_local=spec.get("externalTrafficPolicy") == "Local"
                and kind in ("NodePort", "LoadBalancer"),
                affinity_timeout=affinity,
                endpoints=_endpoints(slices, name, protocol, node_name),
            )
        )
    return result


def _endpoints(
    slices: list[JSON], port_name: str, protocol: str, node_name: str | None
) -> tuple[Endpoint, ...]:
    ready: dict[str, Endpoint] = {}
    terminating: dict[str, Endpoint] = {}
    for eps in slices:
        target = None
        for p in eps.get("ports") or ():
            if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == protocol:
                target = p.get("port")
        if not target:
            continue
        for endpoint in eps.get("endpoints") or ():
            addresses = endpoint.get("addresses") or ()
            if not addresses:
                continue
            conditions = endpoint.get("conditions") or {}
            local = node_name is not None and endpoint.get("nodeName") == node_name
            chosen = Endpoint(addresses[0], int(target), local)
            # a missing condition means "unknown", which consumers treat as ready
            if conditions.get("ready", True) is not False:
                ready.setdefault(chosen.ip, chosen)
            elif conditions.get("serving") and conditions.get("terminating"):
                terminating.setdefault(chosen.ip, chosen)
    return tuple(sorted((ready or terminating).values()))
