"""`pods/{name}/exec` and `pods/{name}/attach`: a command's streams over a channel WebSocket.

    request ─▶ pod + container checks (pods.py) ─▶ options (command, stdin/stdout/stderr/tty)
            ─▶ container must be running, else 500 `container not found ("x")` (the kubelet's
               words; kubectl shows `unable to upgrade connection: container not found ("x")`)
            ─▶ WebSocket upgrade (websocket.py) ─▶ backend.exec / backend.attach
            ─▶ Status on channel 3 ─▶ Close(1000)

Errors found before the upgrade are plain HTTP answers, so a client that falls back to
SPDY (kubectl does on any non-101 answer) gets the same error again and prints it. If the
client goes away mid-session the command is cancelled (exec kills it; attach detaches).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from litekube.apiserver import errors
from litekube.apiserver.rest import ResourceRequest
from litekube.node.streams import pods
from litekube.node.streams.backend import ContainerBackend, ContainerState, StreamFailure
from litekube.node.streams.websocket import (
    PROTOCOLS,
    STATUS,
    STDERR,
    STDOUT,
    ChannelSession,
    choose_protocol,
    is_websocket_upgrade,
    offered_protocols,
)

log = logging.getLogger(__name__)

SUCCESS: dict[str, Any] = {"metadata": {}, "status": "Success"}


@dataclass(frozen=True)
class StreamOptions:
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool
    command: list[str]

    @classmethod
    def parse(cls, request: web.Request) -> StreamOptions:
        tty = pods.flag(request, "tty")
        return cls(
            stdin=pods.flag(request, "stdin"),
            stdout=pods.flag(request, "stdout"),
            # The kubelet drops stderr under a TTY: the terminal merges it into stdout.
            stderr=pods.flag(request, "stderr") and not tty,
            tty=tty,
            command=request.query.getall("command", []),
        )


def exit_status(code: int, argv: list[str]) -> dict[str, Any]:
    """kubectl exits with the ExitCode cause and prints `command terminated with exit code N`."""
    if code == 0:
        return SUCCESS
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command {_go_list(argv)}, "
        f"exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_status(message: str) -> dict[str, Any]:
    error = errors.internal(message)
    status = error.status()
    status["details"] = {"causes": [{"message": message}]}
    return status


def _go_list(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"


Runner = Callable[[ChannelSession], Awaitable[dict[str, Any]]]


class ExecHandlers:
    def __init__(self, backend: ContainerBackend) -> None:
        self.backend = backend

    async def exec(self, request: web.Request, rr: ResourceRequest) -> web.StreamResponse:
        pod, container = await pods.resolve(self.backend, request, rr)
        pods.require_node(pod)
        opts = StreamOptions.parse(request)
        _require_a_stream(opts)
        if not opts.command:
            raise errors.bad_request("you must specify at least one command for the container")
        container_id = self._running(rr, container)
        if isinstance(container_id, web.Response):
            return container_id

        async def run(session: ChannelSession) -> dict[str, Any]:
            code = await self.backend.exec(
                container_id,
                opts.command,
                opts.tty,
                session.stdin if opts.stdin else None,
                session.stdout if opts.stdout else None,
                session.stderr if opts.stderr else None,
                session.resizes if opts.tty else None,
            )
            return exit_status(code, opts.command)

        return await serve(request, opts, run, "error executing command in container")

    async def attach(self, request: web.Request, rr: ResourceRequest) -> web.StreamResponse:
        pod, container = await pods.resolve(self.backend, request, rr)
        pods.require_node(pod)
        opts = StreamOptions.parse(request)
        _require_a_stream(opts)
        container_id = self._running(rr, container)
        if isinstance(container_id, web.Response):
            return container_id

        async def run(session: ChannelSession) -> dict[str, Any]:
            await self.backend.attach(
                container_id,
                session.stdin if opts.stdin else None,
                session.stdout if opts.stdout else None,
                session.stderr if opts.stderr else None,
                session.resizes if opts.tty else None,
            )
            return SUCCESS

        return await serve(request, opts, run, "error attaching to container")

    def _running(self, rr: ResourceRequest, container: str) -> str | web.Response:
        ref = self.backend.find_container(rr.namespace or "default", rr.name or "", container)
        if ref is None or ref.state != ContainerState.RUNNING or ref.container_id is None:
            # The kubelet only finds running containers; its error is plain text.
            return web.Response(status=500, text=f'container not found ("{container}")')
        return ref.container_id


def _require_a_stream(opts: StreamOptions) -> None:
    if not (opts.stdin or opts.stdout or opts.stderr):
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")


async def serve(request: web.Request, opts: StreamOptions, run: Runner, what: str) -> web.StreamResponse:
    """Upgrade, run the command against the session, end with its status and Close(1000)."""
    if not is_websocket_upgrade(request):
        # SPDY/3.1 exec is not spoken here; WebSocket v5 is what kubectl tries first.
        return web.Response(status=400, text="Upgrade request required")
    protocol = choose_protocol(request)
    if protocol is None:
        return web.Response(
            status=400,
            text=f"requested protocol(s) are not supported: {_go_list(offered_protocols(request))}; "
            f"supports {_go_list(list(PROTOCOLS))}",
        )
    session = await ChannelSession.accept(request, protocol)
    # Like the kubelet: an empty frame on the lowest output channel says "established".
    await session.send(STDOUT if opts.stdout else STDERR if opts.stderr else STATUS, b"")
    reader = asyncio.ensure_future(session.read_loop())
    work = asyncio.ensure_future(run(session))
    gone = asyncio.ensure_future(session.disconnected.wait())
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
        if work.done():
            try:
                status = work.result()
            except StreamFailure as e:
                status = internal_status(f"{what}: {e}")
            except Exception as e:  # the session must still end with a status and a Close
                log.exception("%s failed", what)
                status = internal_status(f"{what}: {e}")
            await session.finish(status)
    finally:
        for task in (work, gone):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if not session.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await session.ws.close(code=1000)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(reader, 5.0)
    return session.ws
