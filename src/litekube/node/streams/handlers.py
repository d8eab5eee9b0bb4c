"""`PodStreams`: the four streaming pod subresources, ready to plug into the API server.

    apiserver ResourceHandlers.stream_handlers
        "log"         ─▶ LogHandler          (logs.py)
        "exec"        ─▶ ExecHandlers.exec   (exec.py over websocket.py)
        "attach"      ─▶ ExecHandlers.attach
        "portforward" ─▶ PortForwardHandler  (portforward.py over spdy.py)

all of them reaching the node only through a `ContainerBackend` (backend.py).
"""

from __future__ import annotations

from typing import Protocol

from litekube.apiserver.rest import StreamHandler
from litekube.node.streams.backend import ContainerBackend
from litekube.node.streams.exec import ExecHandlers
from litekube.node.streams.logs import FOLLOW_POLL, LogHandler
from litekube.node.streams.portforward import PortForwardHandler


class StreamHandlerTable(Protocol):
    """What `register` needs of the API server's `ResourceHandlers`."""

    stream_handlers: dict[str, StreamHandler]


class PodStreams:
    def __init__(self, backend: ContainerBackend, follow_poll: float = FOLLOW_POLL) -> None:
        self.backend = backend
        self.logs = LogHandler(backend, follow_poll)
        self._exec = ExecHandlers(backend)
        self.portforward = PortForwardHandler(backend)

    def handlers(self) -> dict[str, StreamHandler]:
        return {
            "log": self.logs,
            "exec": self._exec.exec,
            "attach": self._exec.attach,
            "portforward": self.portforward,
        }

    def register(self, table: StreamHandlerTable) -> None:
        table.stream_handlers.update(self.handlers())
