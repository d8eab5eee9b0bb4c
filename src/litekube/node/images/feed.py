"""`LayerFeed`: a layer blob handed chunk by chunk from its download to the thread unpacking it.

    event loop (RegistryClient._fetch_blob_from)          unpack thread (unpack.unpack_stream)
      put(chunk); await room()   ── chunks ──▶              read(size) blocks until a chunk comes
      finish()  after the blob's digest checked out  ──▶    read() → b"" (end of stream)
      abort(why) on any failure                      ──▶    read() raises LayerFeedAborted
      put() drops chunks, room() never waits         ◀──    stop_reading() when the unpack ended

The end of the stream is only signalled once the compressed blob is verified and stored, and
the unpacker renames its layer directory into place only after reading that end, so a layer
streamed from an unverified download is never used. At most `limit` bytes wait in memory:
past that the download awaits `room()`, so a slow disk slows the download instead of filling
memory. A reader that hears nothing for `stall_timeout` seconds gives up (the download side
always ends with finish() or abort(); the timeout only bounds a bug or a dead event loop).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading

from litekube.node.images.errors import ImagePullError

_OPEN, _DONE, _ABORTED = "open", "done", "aborted"


class LayerFeedAborted(ImagePullError):
    """The download feeding an unpack failed or moved to another endpoint (nothing to unpack from)."""


class LayerFeed:
    def __init__(
        self, loop: asyncio.AbstractEventLoop, limit: int = 16 << 20, stall_timeout: float = 120.0
    ) -> None:
        self.loop = loop
        self.limit = limit
        self.stall_timeout = stall_timeout
        self._lock = threading.Condition()
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._state = _OPEN
        self._reason = ""
        self._reading = True
        self._room = asyncio.Event()
        self._room.set()

    # ----------------------------------------------------------------- the download's side

    def put(self, chunk: bytes) -> None:
        with self._lock:
            if self._state != _OPEN or not self._reading:
                return
            self._chunks.append(chunk)
            self._buffered += len(chunk)
            if self._buffered >= self.limit:
                self._room.clear()
            self._lock.notify()

    async def room(self) -> None:
        """Wait until the unpacker has caught up below `limit` (returns at once when it has)."""
        if not self._room.is_set():
            await self._room.wait()

    def finish(self) -> None:
        self._end(_DONE, "")

    def abort(self, reason: str) -> None:
        """Fail the reader (a no-op once finished)."""
        self._end(_ABORTED, reason)

    def _end(self, state: str, reason: str) -> None:
        with self._lock:
            if self._state == _OPEN:
                self._state, self._reason = state, reason
                if state == _ABORTED:
                    self._chunks.clear()
                    self._buffered = 0
            self._lock.notify_all()
        self._room.set()  # nothing waits for room after the end

    # ----------------------------------------------------------------- the unpacker's side

    def stop_reading(self) -> None:
        """The unpack ended (done or failed early): the download must not wait for it any more."""
        with self._lock:
            self._reading = False
            self._chunks.clear()
            self._buffered = 0
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            self.loop.call_soon_threadsafe(self._room.set)

    def read(self, size: int = -1) -> bytes:
        with self._lock:
            while not self._chunks and self._state == _OPEN:
                if not self._lock.wait(self.stall_timeout):
                    self._state, self._reason = _ABORTED, f"no data for {self.stall_timeout:.0f} s"
            if self._state == _ABORTED:
                raise LayerFeedAborted(f"layer download stopped: {self._reason}")
            if not self._chunks:
                return b""  # _DONE: the blob is complete and verified
            chunk = self._chunks.popleft()
            if 0 <= size < len(chunk):
                self._chunks.appendleft(chunk[size:])
                chunk = chunk[:size]
            was_full = self._buffered >= self.limit
            self._buffered -= len(chunk)
            if was_full and self._buffered < self.limit:
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                    self.loop.call_soon_threadsafe(self._room.set)
            return chunk
