"""This machine's own address, as the node agent reports it and the API server advertises it.

`primary_ipv4()` is the address the default route leaves from. No packet is sent: a UDP
socket's `connect` only asks the kernel which source address it would use, so this works
offline and never touches the network. With no default route, 127.0.0.1.

`advertise_address(bind)` is the address the API server publishes in the `kubernetes`
Service's Endpoints and EndpointSlice (upstream's `--advertise-address`): a specific
non-loopback bind address is advertised as is; a wildcard bind (0.0.0.0, ::) advertises
`primary_ipv4()`, the same address the embedded node reports as its InternalIP; a loopback
bind stays on loopback (pods cannot reach it: see docs/services.md).
"""

from __future__ import annotations

import ipaddress
import socket

# TEST-NET-1 (RFC 5737): documentation-only, never contacted, only used to pick a route
_ROUTE_PROBE = ("192.0.2.1", 9)


def primary_ipv4() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(_ROUTE_PROBE)
            address = str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"
    return address if address and address != "0.0.0.0" else "127.0.0.1"


def advertise_address(bind_address: str) -> str:
    try:
        ip = ipaddress.ip_address(bind_address)
    except ValueError:  # a host name: let the resolver say which address it is
        try:
            ip = ipaddress.ip_address(socket.gethostbyname(bind_address))
        except (OSError, ValueError):
            return primary_ipv4()
    if ip.is_unspecified:
        return primary_ipv4()
    if ip.is_loopback:
        return "127.0.0.1" if ip.version == 4 else str(ip)
    return str(ip)
