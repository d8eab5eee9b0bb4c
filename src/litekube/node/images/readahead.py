"""`read_ahead(stream)`: decompress a layer in one thread while another unpacks what came out.

    producer thread: stream.read(READ) ─▶ bounded queue ─▶ consumer (hash, tar, file writes)

Inflating is about half the CPU of unpacking a gzip layer and the other half (the diff_id
hash, tar parsing, writing files) only needs its output, so the two halves of one layer
run on two cores at once. Both halves release the GIL in their heavy parts (inflate,
sha256, write). At most MAX_CHUNKS chunks wait in the queue.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator

from litekube.node.images.decompress import READ, Source

MAX_CHUNKS = 32
_END = b""


class _ReadAhead:
    def __init__(self, stream: Source) -> None:
        self.stream = stream
        self.chunks: queue.Queue[bytes | BaseException] = queue.Queue(MAX_CHUNKS)
        self.stopping = False
        self.current = b""
        self.offset = 0
        self.done = False
        self.thread = threading.Thread(target=self._produce, name="layer-inflate", daemon=True)

    def _produce(self) -> None:
        try:
            while not self.stopping:
                data = self.stream.read(READ)
                self.chunks.put(data)
                if not data:
                    return
        except BaseException as error:  # handed to the consumer, who raises it
            self.chunks.put(error)

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            parts = []
            while data := self.read(READ):
                parts.append(data)
            return b"".join(parts)
        if self.offset >= len(self.current):
            if self.done:
                return _END
            item = self.chunks.get()
            if isinstance(item, BaseException):
                self.done = True
                raise item
            if not item:
                self.done = True
                return _END
            self.current, self.offset = item, 0
        start = self.offset
        if start == 0 and size >= len(self.current):
            self.offset = len(self.current)
            return self.current
        self.offset = min(start + size, len(self.current))
        return self.current[start : self.offset]

    def stop(self) -> None:
        """Let the producer end (it may be blocked on a full queue) and wait for it."""
        self.stopping = True
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):
                while True:
                    self.chunks.get_nowait()
            self.thread.join(0.05)


@contextlib.contextmanager
def read_ahead(stream: Source) -> Iterator[Source]:
    reader = _ReadAhead(stream)
    reader.thread.start()
    try:
        yield reader
    finally:
        reader.stop()
