"""read_ahead: a stream read by one thread and consumed by another, errors and early exits included."""

from __future__ import annotations

import io
import threading

import pytest

from litekube.node.images.readahead import MAX_CHUNKS, read_ahead


class _Failing:
    def __init__(self, good: bytes) -> None:
        self.source = io.BytesIO(good)

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(min(size, 10))
        if not data:
            raise OSError("disk on fire")
        return data


def test_reads_everything_in_any_sizes() -> None:
    data = bytes(range(256)) * 2000
    with read_ahead(io.BytesIO(data)) as stream:
        parts = [stream.read(size) for size in (1, 7, 70_000, 3)]
        parts.append(stream.read())
        assert stream.read(10) == b""
    assert b"".join(parts) == data


def test_source_error_reaches_the_reader() -> None:
    with read_ahead(_Failing(b"x" * 25)) as stream:
        assert stream.read(100) == b"x" * 10
        with pytest.raises(OSError, match="disk on fire"):
            while stream.read(100):
                pass


def test_early_exit_stops_the_reading_thread() -> None:
    before = threading.active_count()
    endless = io.BytesIO(b"y" * (1 << 16) * (MAX_CHUNKS * 4))  # more than the queue holds
    with pytest.raises(RuntimeError), read_ahead(endless) as stream:
        stream.read(1)
        raise RuntimeError("the consumer gave up")
    assert threading.active_count() == before
