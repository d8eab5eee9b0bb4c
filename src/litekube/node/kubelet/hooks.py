"""postStart and preStop lifecycle handlers: exec, httpGet, sleep (and legacy tcpSocket).

`run_handler` returns None on success or the error text for the FailedPostStartHook /
FailedPreStopHook event. It is bounded by the caller's timeout (preStop: what is left of
the grace period), as upstream's handlers are.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litekube.machinery.clock import Clock
from litekube.node.kubelet.probes import SUCCESS, HostProber
from litekube.node.runtime.base import Runtime

JSON = dict[str, Any]


async def run_handler(
    handler: JSON,
    runtime: Runtime,
    clock: Clock,
    container: JSON,
    container_id: str,
    pod_ip: str,
    limit: float,
) -> str | None:
    try:
        async with asyncio.timeout(max(limit, 0.001)):
            if handler.get("exec"):
                argv = list(handler["exec"].get("command") or [])
                collected = bytearray()

                async def collect(chunk: bytes) -> None:
                    collected.extend(chunk[: 10240 - len(collected)])

                code = await runtime.exec(container_id, argv, stdout=collect, stderr=collect)
                if code != 0:
                    return (
                        f"command '{' '.join(argv)}' exited with {code}: {collected.decode(errors='replace')}"
                    )
                return None
            if handler.get("httpGet") or handler.get("tcpSocket"):
                prober = HostProber(runtime)
                probe = {k: v for k, v in handler.items() if k in ("httpGet", "tcpSocket")}
                probe["timeoutSeconds"] = max(int(limit), 1)
                result, output = await prober.probe(probe, pod_ip, container, container_id)
                return None if result == SUCCESS else output
            if handler.get("sleep"):
                await clock.sleep(float(handler["sleep"].get("seconds") or 0))
                return None
    except TimeoutError:
        return f"lifecycle hook did not finish within {limit:g}s"
    except Exception as e:  # the runtime refused the exec, the container is gone...
        return str(e)
    return None
