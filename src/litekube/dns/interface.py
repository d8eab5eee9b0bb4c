"""Make the cluster DNS address (10.96.0.10) a local address of the host, and take it away.

Pods send DNS to 10.96.0.10 through their default route (the bridge); the host routes it
to itself when the address is local, so the server simply listens there (no DNAT, no
Service endpoints). The address goes on a dummy interface `litekube-dns` (created here and
deleted on stop); kernels without the dummy driver get it on `lo` instead, labelled
`lo:litekube` so it is recognisable, and only that address is deleted on stop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

log = logging.getLogger(__name__)

INTERFACE = "litekube-dns"
LOOPBACK_LABEL = "lo:litekube"


async def _ip(*args: str, check: bool = True) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if check and proc.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {err.decode().strip()}")
    return proc.returncode or 0, out.decode()


def needs_interface(address: str) -> bool:
    """Loopback and wildcard addresses are already local; anything else must be added."""
    ip = ipaddress.ip_address(address)
    return not (ip.is_loopback or ip.is_unspecified)


async def add_address(address: str, interface: str = INTERFACE) -> str:
    """Put address/32 on `interface` (a new dummy) or, failing that, on lo; return the device used."""
    code, _ = await _ip("link", "show", interface, check=False)
    if code != 0:
        code, _ = await _ip("link", "add", interface, "type", "dummy", check=False)
    device, extra = (interface, []) if code == 0 else ("lo", ["label", LOOPBACK_LABEL])
    if device == "lo":
        log.info("no dummy interface support: putting %s on lo", address)
    _, addresses = await _ip("-o", "addr", "show", "dev", device)
    if f" {address}/32 " not in addresses:
        await _ip("addr", "add", f"{address}/32", "dev", device, *extra)
    await _ip("link", "set", device, "up")
    return device


async def remove_address(address: str, device: str) -> None:
    if device == "lo":
        await _ip("addr", "del", f"{address}/32", "dev", "lo", check=False)
        return
    code, _ = await _ip("link", "show", device, check=False)
    if code == 0:
        await _ip("link", "del", device, check=False)
