"""Liveness, readiness and startup probes: one `ProbeWorker` per (container, probe kind).

A worker waits `initialDelaySeconds` after the container started, then every
`periodSeconds` runs the probe through a `Prober` (bounded by `timeoutSeconds`) and keeps
consecutive counts: the result flips to success after `successThreshold` successes and to
failure after `failureThreshold` failures (upstream's prober/worker.go). Initial results:
liveness success, readiness failure (not ready until a probe passes), startup failure.
While a startup probe has not succeeded the container's liveness and readiness workers
skip their runs. Every failed run reports an Unhealthy event; a flip calls `on_change`,
which wakes the pod worker (it restarts the container on a liveness/startup failure and
recomputes readiness).

`HostProber` runs the real probes:
- httpGet: HTTP/1.1 GET to host (default pod IP) : port (number or the container port's
  name) + path, headers, scheme HTTP or HTTPS (certificate not verified); 200-399 passes,
  otherwise "HTTP probe failed with statuscode: 500";
- tcpSocket: a TCP connect;
- exec: the command in the container through the runtime, exit 0 passes;
- grpc: the standard health check `grpc.health.v1.Health/Check` (service = `grpc.service`)
  to pod IP : `grpc.port` over HTTP/2 cleartext (grpc_probe.py); SERVING passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from litekube.machinery.clock import Clock
from litekube.node.kubelet.grpc_probe import grpc_probe
from litekube.node.runtime.base import Runtime

JSON = dict[str, Any]
SUCCESS, FAILURE, UNKNOWN = "success", "failure", "unknown"
USER_AGENT = "kube-probe/1.36"


class Prober(Protocol):
    async def probe(self, probe: JSON, pod_ip: str, container: JSON, container_id: str) -> tuple[str, str]:
        """Run `probe` once: (SUCCESS | FAILURE | UNKNOWN, output for the event)."""
        ...


def resolve_port(port: Any, container: JSON) -> int | None:
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for declared in container.get("ports") or ():
        if declared.get("name") == port:
            return int(declared.get("containerPort", 0))
    return None


class HostProber:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def probe(self, probe: JSON, pod_ip: str, container: JSON, container_id: str) -> tuple[str, str]:
        timeout = float(probe.get("timeoutSeconds") or 1)
        if probe.get("exec"):
            return await self._exec(probe["exec"].get("command") or [], container_id, timeout)
        if probe.get("httpGet"):
            return await self._http(probe["httpGet"], pod_ip, container, timeout)
        if probe.get("tcpSocket"):
            return await self._tcp(probe["tcpSocket"], pod_ip, container, timeout)
        if probe.get("grpc"):
            action = probe["grpc"]
            return await grpc_probe(
                pod_ip, int(action.get("port") or 0), action.get("service") or "", timeout
            )
        return UNKNOWN, "probe has no handler"

    async def _exec(self, argv: list[str], container_id: str, limit: float) -> tuple[str, str]:
        output = bytearray()

        async def collect(chunk: bytes) -> None:
            output.extend(chunk[: 10240 - len(output)])

        try:
            code = await asyncio.wait_for(
                self.runtime.exec(container_id, list(argv), stdout=collect, stderr=collect), limit
            )
        except TimeoutError:
            return FAILURE, f"command {argv!r} timed out after {limit:g}s"
        except Exception as e:  # the runtime could not exec at all
            return UNKNOWN, str(e)
        text = output.decode(errors="replace")
        if code == 0:
            return SUCCESS, text
        return FAILURE, text or f"command {argv!r} exited with {code}"

    async def _tcp(self, action: JSON, pod_ip: str, container: JSON, limit: float) -> tuple[str, str]:
        host = action.get("host") or pod_ip
        port = resolve_port(action.get("port"), container)
        if port is None:
            return FAILURE, f"port {action.get('port')!r} not found"
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), limit)
        except TimeoutError:
            return FAILURE, f"dial tcp {host}:{port}: i/o timeout"
        except OSError as e:
            return FAILURE, f"dial tcp {host}:{port}: connect: {_errno_text(e)}"
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        return SUCCESS, ""

    async def _http(self, action: JSON, pod_ip: str, container: JSON, limit: float) -> tuple[str, str]:
        host = action.get("host") or pod_ip
        port = resolve_port(action.get("port"), container)
        scheme = (action.get("scheme") or "HTTP").lower()
        path = action.get("path") or "/"
        if not path.startswith("/"):
            path = "/" + path
        url = f"{scheme}://{host}:{port}{path}"
        if port is None:
            return FAILURE, f"port {action.get('port')!r} not found"
        context = None
        if scheme == "https":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        headers = {"Host": f"{host}:{port}", "User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
        for header in action.get("httpHeaders") or ():
            headers[header.get("name", "")] = header.get("value", "")
        request = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        try:
            async with asyncio.timeout(limit):
                reader, writer = await asyncio.open_connection(host, port, ssl=context)
                try:
                    writer.write(request.encode())
                    await writer.drain()
                    status_line = await reader.readline()
                finally:
                    writer.close()
                    with contextlib.suppress(Exception):
                        await writer.wait_closed()
        except TimeoutError:
            return (
                FAILURE,
                f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
            )
        except OSError as e:
            return FAILURE, f'Get "{url}": dial tcp {host}:{port}: connect: {_errno_text(e)}'
        parts = status_line.decode(errors="replace").split()
        code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if 200 <= code < 400:
            return SUCCESS, ""
        return FAILURE, f"HTTP probe failed with statuscode: {code}"


def _errno_text(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return (error.strerror or str(error)).lower()


@dataclass
class ProbeSettings:
    initial_delay: float
    period: float
    success_threshold: int
    failure_threshold: int

    @classmethod
    def of(cls, probe: JSON) -> ProbeSettings:
        return cls(
            float(probe.get("initialDelaySeconds") or 0),
            float(probe.get("periodSeconds") or 10),
            int(probe.get("successThreshold") or 1),
            int(probe.get("failureThreshold") or 3),
        )


OnResult = Callable[[str, str, str], Awaitable[None]]  # (kind, result, output)


class ProbeWorker:
    def __init__(
        self,
        kind: str,
        probe: JSON,
        container: JSON,
        container_id: str,
        pod_ip: str,
        prober: Prober,
        clock: Clock,
        started_at: float,
        on_result: OnResult,
        gate: Callable[[], bool] = lambda: True,
    ) -> None:
        self.kind = kind
        self.probe = probe
        self.settings = ProbeSettings.of(probe)
        self.container = container
        self.container_id = container_id
        self.pod_ip = pod_ip
        self.prober = prober
        self.clock = clock
        self.started_at = started_at  # clock.monotonic() when the container started
        self.on_result = on_result
        self.gate = gate  # False while a startup probe has not passed
        self.result = SUCCESS if kind == "liveness" else FAILURE
        self.successes = 0
        self.failures = 0
        self.output = ""
        # after a liveness/startup failure the container is being restarted: stop probing it
        self.on_hold = False

    @property
    def termination_grace(self) -> float | None:
        value = self.probe.get("terminationGracePeriodSeconds")
        return float(value) if value is not None else None

    async def tick(self) -> bool:
        """Run the probe once if due; True when the result flipped."""
        if self.on_hold or not self.gate():
            return False
        if self.clock.monotonic() - self.started_at < self.settings.initial_delay:
            return False
        outcome, output = await self.prober.probe(self.probe, self.pod_ip, self.container, self.container_id)
        self.output = output
        if outcome == UNKNOWN:
            # upstream: an error keeps the previous result and counts nothing
            await self.on_result(self.kind, UNKNOWN, output)
            return False
        if outcome == SUCCESS:
            self.successes, self.failures = self.successes + 1, 0
        else:
            self.failures, self.successes = self.failures + 1, 0
        await self.on_result(self.kind, outcome, output)
        flipped = False
        if (
            outcome == SUCCESS
            and self.result != SUCCESS
            and self.successes >= self.settings.success_threshold
        ):
            self.result, flipped = SUCCESS, True
        elif (
            outcome == FAILURE and self.result != FAILURE and self.failures >= self.settings.failure_threshold
        ):
            self.result, flipped = FAILURE, True
        if flipped and self.result == FAILURE and self.kind in ("liveness", "startup"):
            self.on_hold = True
        if self.kind == "startup" and self.result == SUCCESS:
            self.on_hold = True  # a startup probe stops once it has passed
        return flipped

    async def run(self, wake: Callable[[], None]) -> None:
        """The loop: first run at initialDelay, then every period; `wake` the pod worker on a flip."""
        delay = max(0.0, self.started_at + self.settings.initial_delay - self.clock.monotonic())
        await self.clock.sleep(delay)
        while True:
            if await self.tick():
                wake()
            await self.clock.sleep(self.settings.period)
