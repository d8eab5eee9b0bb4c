"""The in-process transport: co-located components call the registry directly, no HTTP, no JSON text.

`litekube server` runs the controllers, the scheduler, simulated nodes and the embedded
node agent in the apiserver's own process. Over the unix socket each of their writes paid
an aiohttp client and server round trip and JSON encoding and decoding twice, and each watch
event was encoded, streamed and decoded per watcher. This transport implements the client's
`Transport` protocol on the same verb dispatch as the HTTP handlers (`dispatch.py`) and the
same watch sessions (`watch_session.py`), so validation, defaulting, admission, field
validation, conflicts, selectors, subresources and Status errors are the HTTP path's:

    request(method, path, query, body) ─▶ parse_path ─▶ dispatch ─▶ (code, object)
        ApiException ─▶ (code, Status dict), as the HTTP middleware renders it
    watch(path, query) ─▶ open_watch ─▶ WatchSession.events ─▶ {"type", "object"}

What is not a plain resource request (discovery, /version, the streaming pod subresources,
a watch on a single object's path) goes to the `fallback` transport, the unix socket.

Who owns which dict (no aliasing between a caller and the server):
- request bodies are copied in (one orjson round trip; the registry mutates what it is
  given, and the caller keeps its own object untouched);
- answers are fresh objects the registry built for this call (decoded from storage or from
  the copied body), handed over without a copy;
- watch events: the hub shares one decoded object and one JSON encoding per revision between
  all watchers; each in-process watcher gets its own object decoded from that encoding, so a
  consumer that mutates what it received cannot corrupt the watch cache or another watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from litekube.apiserver import errors
from litekube.apiserver.dispatch import STREAMING_SUBRESOURCES, dispatch, parse_path
from litekube.apiserver.registry import Registry
from litekube.apiserver.watch import WatchHub
from litekube.apiserver.watch_session import WatchSessions, open_watch
from litekube.client.base import Transport, WatchEventDict

log = logging.getLogger(__name__)

# What aiohttp reports as the content type of a request that carries no body.
_NO_BODY_CONTENT_TYPE = "application/octet-stream"


class InProcessTransport:
    def __init__(
        self,
        registry: Registry,
        hub: WatchHub,
        sessions: WatchSessions,
        fallback: Transport | None = None,
        user_agent: str = "litekube",
        max_in_flight: int = 64,
    ) -> None:
        self.registry = registry
        self.hub = hub
        self.sessions = sessions
        self.fallback = fallback
        # Kept for parity with HttpTransport; the server does not derive anything from the
        # User-Agent today (writes name their manager with fieldManager).
        self.user_agent = user_agent
        # At most this many requests in the registry at once, as HttpTransport's connection
        # pool allowed: a burst of controller writes waits here instead of lengthening every
        # turn of the event loop, which is what other clients' latency is made of.
        self._slots = asyncio.Semaphore(max_in_flight)

    async def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        q: Mapping[str, str] = query or {}
        rr = parse_path(path)
        if (
            rr is None
            or rr.subresource in STREAMING_SUBRESOURCES
            or (method == "GET" and rr.name is None and q.get("watch") in ("true", "1"))
        ):
            return await self._fall_back(method, path, query, body, content_type)
        if body is None:
            ctype = _NO_BODY_CONTENT_TYPE
        else:
            ctype = content_type.split(";", 1)[0].strip().lower()
            # A body that is not JSON raises here, in the caller, as HttpTransport's encoding does.
            body = orjson.loads(orjson.dumps(body))

        async def read_body() -> Any:
            return body

        try:
            async with self._slots:
                answer = await dispatch(self.registry, method, rr, q, read_body, ctype)
        except errors.ApiException as e:
            return e.code, e.status()
        except Exception as e:  # as the HTTP middleware: a Status, never a raw exception
            log.exception("internal error on %s %s", method, path)
            err = errors.internal(str(e))
            return err.code, err.status()
        return answer.code, answer.value()

    async def watch(self, path: str, query: Mapping[str, str] | None = None) -> AsyncIterator[WatchEventDict]:
        rr = parse_path(path)
        if rr is None or rr.name is not None:
            if self.fallback is None:
                yield {"type": "ERROR", "object": errors.path_not_found().status()}
                return
            async with contextlib.aclosing(self.fallback.watch(path, query)) as remote:  # type: ignore[type-var]
                async for event in remote:
                    yield event
            return
        try:
            session = open_watch(self.hub, rr.rt, rr.namespace, query or {}, self.sessions)
        except errors.ApiException as e:
            yield {"type": "ERROR", "object": e.status()}
            return
        encoded = self.hub.event_json
        async with contextlib.aclosing(session.events()) as events:  # type: ignore[type-var]
            async for ev in events:
                if ev.type == "BOOKMARK" or ev.type == "ERROR":
                    assert ev.object is not None
                    yield {"type": ev.type, "object": ev.object}  # built for this watcher
                else:
                    yield {"type": ev.type, "object": orjson.loads(encoded(ev))}

    async def close(self) -> None:
        if self.fallback is not None:
            await self.fallback.close()

    async def _fall_back(
        self, method: str, path: str, query: Mapping[str, str] | None, body: Any, content_type: str
    ) -> tuple[int, Any]:
        if self.fallback is None:
            return 404, errors.path_not_found().status()
        return await self.fallback.request(method, path, query, body, content_type)
