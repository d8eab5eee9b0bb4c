"""What the mirrored EndpointSlices of one Endpoints object should hold (pure, no I/O).

Each subset contributes its ready `addresses` (condition ready: true) and then its
`notReadyAddresses` (ready: false), at most `max_per_subset` of them (upstream's
`--mirroring-max-endpoints-per-subset`, 1000). Addresses are grouped by (address family,
port set): subsets with the same ports and family share one group, an address listed twice
in a group counts once, and an IPv6 address lands in its own IPv6 group. Each group becomes
exactly one slice (upstream keeps the mapping 1:1 and drops what does not fit).

Worked example: subsets [{addresses [10.0.0.1, fd00::1], notReadyAddresses [10.0.0.2],
ports [{name: db, port: 5432}]}] → two groups: IPv4/db:5432 with 10.0.0.1 (ready) and
10.0.0.2 (not ready), IPv6/db:5432 with fd00::1 (ready). An address that is not an IP is
skipped and counted, so the controller can say so in an Event.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from litekube.client.base import JSON

MAX_ENDPOINTS_PER_SUBSET = 1000

PortsKey = tuple[tuple[str, int, str, str], ...]  # sorted (name, port, protocol, appProtocol)
GroupKey = tuple[str, PortsKey]  # (addressType, ports)


@dataclass
class Group:
    ports: list[JSON]
    endpoints: list[JSON] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


@dataclass
class Desired:
    groups: dict[GroupKey, Group] = field(default_factory=dict)
    invalid: int = 0  # addresses that are not IPs
    skipped: int = 0  # every address left out: invalid ones and those past the per-subset cap


def slice_ports(endpoint_ports: list[JSON]) -> list[JSON]:
    """Endpoints ports → EndpointSlice ports (same fields; defaults spelled out)."""
    out = []
    for p in endpoint_ports:
        port: JSON = {
            "name": p.get("name") or "",
            "port": p.get("port"),
            "protocol": p.get("protocol") or "TCP",
        }
        if p.get("appProtocol"):
            port["appProtocol"] = p["appProtocol"]
        out.append(port)
    return out


def ports_key(ports: list[JSON]) -> PortsKey:
    return tuple(
        sorted(
            (
                str(p.get("name") or ""),
                int(p.get("port") or 0),
                str(p.get("protocol") or "TCP"),
                str(p.get("appProtocol") or ""),
            )
            for p in ports
        )
    )


def to_endpoint(address: JSON, ready: bool) -> tuple[str, JSON] | None:
    """(addressType, endpoint) for one Endpoints address; None when its ip is not an IP."""
    try:
        ip = ipaddress.ip_address(str(address.get("ip", "")))
    except ValueError:
        return None
    endpoint: JSON = {"addresses": [str(ip)], "conditions": {"ready": ready}}  # normalised spelling
    if address.get("hostname"):
        endpoint["hostname"] = address["hostname"]
    if address.get("nodeName"):
        endpoint["nodeName"] = address["nodeName"]
    if address.get("targetRef"):
        endpoint["targetRef"] = address["targetRef"]
    return ("IPv6" if ip.version == 6 else "IPv4"), endpoint


def desired(endpoints: JSON, max_per_subset: int = MAX_ENDPOINTS_PER_SUBSET) -> Desired:
    out = Desired()
    for subset in endpoints.get("subsets") or ():
        ports = slice_ports(subset.get("ports") or [])
        pkey = ports_key(ports)
        candidates = [(a, True) for a in subset.get("addresses") or ()]
        candidates += [(a, False) for a in subset.get("notReadyAddresses") or ()]
        added = 0
        for address, ready in candidates:
            if added >= max_per_subset:
                out.skipped += 1
                continue
            converted = to_endpoint(address, ready)
            if converted is None:
                out.invalid += 1
                out.skipped += 1
                continue
            family, endpoint = converted
            added += 1
            group = out.groups.setdefault((family, pkey), Group(ports=ports))
            ip = endpoint["addresses"][0]
            if ip in group.seen or len(group.endpoints) >= max_per_subset:
                continue
            group.seen.add(ip)
            group.endpoints.append(endpoint)
    return out
