"""Service, Endpoints and EndpointSlice tables.

Service EXTERNAL-IP depends on the type: ClusterIP and NodePort show `spec.externalIPs`
(or `<none>`); LoadBalancer shows the sorted, de-duplicated ingress IPs/hostnames followed
by the external IPs, or `<pending>`; ExternalName shows `spec.externalName`. PORT(S) is
`port/proto`, or `port:nodePort/proto`. Endpoints show at most three `ip:port` entries
and then ` + N more...`; slices do the same for ports and addresses.
"""

from __future__ import annotations

from typing import Any

from litekube.api.printers.columns import CORE, Column, age_column, format_labels, name_column
from litekube.api.printers.duration import translate_timestamp_since

SERVICE_COLUMNS = (
    name_column(),
    Column("Type", doc=(CORE + "ServiceSpec", "type")),
    Column("Cluster-IP", doc=(CORE + "ServiceSpec", "clusterIP")),
    Column("External-IP", doc=(CORE + "ServiceSpec", "externalIPs")),
    Column("Port(s)", doc=(CORE + "ServiceSpec", "ports")),
    age_column(),
    Column("Selector", priority=1, doc=(CORE + "ServiceSpec", "selector")),
)


def load_balancer_addresses(status: dict[str, Any] | None) -> str:
    """IPs (or hostnames when there is no IP) of a load balancer status, sorted and unique."""
    found: set[str] = set()
    for ingress in ((status or {}).get("loadBalancer") or {}).get("ingress") or ():
        if ingress.get("ip"):
            found.add(str(ingress["ip"]))
        elif ingress.get("hostname"):
            found.add(str(ingress["hostname"]))
    # the apiserver renders with Wide=true, so the 16-character clipping never applies
    return ",".join(sorted(found))


def _external_ip(svc: dict[str, Any]) -> str:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or ""
    external = [str(ip) for ip in spec.get("externalIPs") or ()]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        balancer = load_balancer_addresses(svc.get("status"))
        if external:
            return ",".join(([*balancer.split(",")] if balancer else []) + external)
        return balancer or "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def port_string(ports: list[dict[str, Any]] | None) -> str:
    pieces = []
    for port in ports or ():
        protocol = port.get("protocol") or "TCP"
        node_port = int(port.get("nodePort") or 0)
        if node_port > 0:
            pieces.append(f"{port.get('port', 0)}:{node_port}/{protocol}")
        else:
            pieces.append(f"{port.get('port', 0)}/{protocol}")
    return ",".join(pieces)


def service_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ()
    return [
        metadata.get("name", ""),
        spec.get("type") or "",
        cluster_ips[0] if cluster_ips else "<none>",
        _external_ip(obj),
        port_string(spec.get("ports")) or "<none>",
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
        format_labels(spec.get("selector")),
    ]


ENDPOINTS_COLUMNS = (
    name_column(),
    Column("Endpoints", doc=(CORE + "Endpoints", "subsets")),
    age_column(),
)

_MAX_SHOWN = 3


def _join_host_port(ip: str, port: object) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(endpoints: dict[str, Any]) -> str:
    subsets = endpoints.get("subsets") or ()
    if not subsets:
        return "<none>"
    shown: list[str] = []
    more = False
    count = 0
    for subset in subsets:
        addresses = subset.get("addresses") or ()
        ports = subset.get("ports") or ()
        if not ports:
            # headless services may have no ports: list bare addresses
            count += len(addresses)
            for address in addresses:
                if len(shown) == _MAX_SHOWN:
                    more = True
                    break
                shown.append(str(address.get("ip", "")))
            continue
        for port in ports:
            count += len(addresses)
            for address in addresses:
                if len(shown) == _MAX_SHOWN:
                    more = True
                    break
                shown.append(_join_host_port(str(address.get("ip", "")), port.get("port", 0)))
    text = ",".join(shown)
    return f"{text} + {count - _MAX_SHOWN} more..." if more else text


def endpoints_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata = obj.get("metadata") or {}
    return [
        metadata.get("name", ""),
        format_endpoints(obj),
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
    ]


_DISCOVERY = "io.k8s.api.discovery.v1.EndpointSlice"
ENDPOINT_SLICE_COLUMNS = (
    name_column(),
    Column("AddressType", doc=(_DISCOVERY, "addressType")),
    Column("Ports", doc=(_DISCOVERY, "ports")),
    Column("Endpoints", doc=(_DISCOVERY, "endpoints")),
    age_column(),
)


def _list_with_more(items: list[str], total: int) -> str:
    text = ",".join(items[:_MAX_SHOWN])
    if total > _MAX_SHOWN:
        return f"{text} + {total - _MAX_SHOWN} more..."
    return text or "<unset>"


def endpoint_slice_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata = obj.get("metadata") or {}
    ports = []
    for port in obj.get("ports") or ():
        if port.get("port") is not None:
            ports.append(str(port["port"]))
        elif port.get("name") is not None:
            ports.append(str(port["name"]))
        else:
            ports.append("*")
    addresses = [str(a) for endpoint in obj.get("endpoints") or () for a in endpoint.get("addresses") or ()]
    return [
        metadata.get("name", ""),
        obj.get("addressType") or "",
        _list_with_more(ports, len(ports)),
        _list_with_more(addresses, len(addresses)),
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
    ]
