"""One client's watch, shared by the HTTP handler and the in-process transport.

    query ─▶ WatchParams ─▶ open_watch (selectors checked: a 400 before anything streams)
        ─▶ WatchSession.events(): WatchHub.events, each step bounded by the deadline
           (timeoutSeconds, or upstream's 30-60 min spread) and ended early by server shutdown
        ─▶ BOOKMARKs dropped unless the client allows them; an ApiException from the hub
           (410 Expired, a bad resourceVersion) becomes one ERROR event and ends the watch
        ─▶ on the way out, a BOOKMARK at the last revision seen (when allowed)

The deadline is one timer per watch, not one per event: when it fires (or the server shuts
down) while the consumer waits for the next event, that wait is cancelled, which closes the
hub's generator, what the end of a watch means anyway; when the consumer is busy between
events, the watch ends before the next one. The consumer's own work is never cancelled. Objects in the events are the hub's shared,
read-only cache entries; each front end decides how its client gets its own copy.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from litekube.api.resources import ResourceType
from litekube.apiserver import errors
from litekube.apiserver.watch import Event, WatchHub, bookmark


@dataclass(frozen=True, slots=True)
class WatchParams:
    resource_version: str
    label_selector: str
    field_selector: str
    send_initial_events: bool | None
    timeout: float  # seconds
    bookmarks: bool


def watch_params(query: Mapping[str, str]) -> WatchParams:
    try:
        timeout = float(query.get("timeoutSeconds") or 0)
    except ValueError:
        timeout = 0
    if timeout <= 0:
        timeout = random.uniform(1800, 3600)  # upstream's --min-request-timeout spread
    send_initial = query.get("sendInitialEvents")
    return WatchParams(
        resource_version=query.get("resourceVersion", ""),
        label_selector=query.get("labelSelector", ""),
        field_selector=query.get("fieldSelector", ""),
        send_initial_events=None if send_initial is None else send_initial == "true",
        timeout=timeout,
        bookmarks=query.get("allowWatchBookmarks") == "true",
    )


class WatchSessions:
    """The live watches of one server, so that shutting down ends them promptly."""

    def __init__(self) -> None:
        self.closed = False
        self._live: set[WatchSession] = set()

    def add(self, session: WatchSession) -> None:
        self._live.add(session)

    def discard(self, session: WatchSession) -> None:
        self._live.discard(session)

    def close(self) -> None:
        self.closed = True
        for session in list(self._live):
            session.stop()


class WatchSession:
    def __init__(
        self,
        hub: WatchHub,
        rt: ResourceType,
        namespace: str | None,
        params: WatchParams,
        sessions: WatchSessions,
    ) -> None:
        self.hub = hub
        self.rt = rt
        self.namespace = namespace
        self.params = params
        self._sessions = sessions
        self._stopped = False
        self._interrupted = False
        self._waiting: asyncio.Task[object] | None = None  # the consumer, while it awaits an event

    def stop(self) -> None:
        """End the watch: at once when it waits for the next event, else before the next one."""
        self._stopped = True
        if self._waiting is not None and not self._interrupted:
            self._interrupted = True
            self._waiting.cancel()

    async def events(self) -> AsyncIterator[Event]:
        p = self.params
        stream = self.hub.events(
            self.rt,
            self.namespace,
            p.resource_version,
            p.label_selector,
            p.field_selector,
            p.send_initial_events,
        )
        iterator = stream.__aiter__()
        timer = asyncio.get_running_loop().call_later(p.timeout, self.stop)
        last_rev = 0
        self._sessions.add(self)
        try:
            while not (self._stopped or self._sessions.closed):
                self._waiting = asyncio.current_task()
                try:
                    ev = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    # Ours (deadline or shutdown) ends the watch; anyone else's propagates.
                    if self._interrupted and self._waiting is not None and self._waiting.uncancel() == 0:
                        break
                    raise
                except errors.ApiException as e:
                    yield Event("ERROR", e.status(), 0)
                    break
                finally:
                    self._waiting = None
                if ev.revision > last_rev:
                    last_rev = ev.revision
                if ev.type == "BOOKMARK" and not p.bookmarks:
                    continue
                yield ev
            if p.bookmarks and last_rev:
                yield Event("BOOKMARK", bookmark(self.rt, last_rev), last_rev)
        finally:
            timer.cancel()
            self._sessions.discard(self)
            await stream.aclose()  # type: ignore[attr-defined]


def open_watch(
    hub: WatchHub,
    rt: ResourceType,
    namespace: str | None,
    query: Mapping[str, str],
    sessions: WatchSessions,
) -> WatchSession:
    """A watch session, or an ApiException (400) for selectors that do not parse."""
    params = watch_params(query)
    hub.registry.selectors(rt, params.label_selector, params.field_selector)
    return WatchSession(hub, rt, namespace, params, sessions)
