"""Dialing a pod's port for port-forward, with Go's words for the failures.

kubectl users know dial errors as Go prints them (`dial tcp 10.42.0.5:80: connect:
connection refused`), so the error streams carry that text.
"""

from __future__ import annotations

import asyncio

DIAL_TIMEOUT = 10.0

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def dial(host: str | None, port: int) -> Connection | str:
    """A connection to host:port, or why there is none."""
    if host is None:
        return "the pod has no IP address"
    try:
        return await asyncio.wait_for(asyncio.open_connection(host, port), DIAL_TIMEOUT)
    except TimeoutError:
        return f"dial tcp {host}:{port}: i/o timeout"
    except OSError as e:
        return f"dial tcp {host}:{port}: connect: {go_error(e)}"


def go_error(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return (error.strerror or str(error)).lower()
