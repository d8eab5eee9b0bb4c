"""CRI log reading (tail, since, timestamps, limits, follow across rotation) and rotation."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from litekube.node.runtime.logs import (
    parse_record,
    parse_time,
    read_logs,
    rotate_log,
    rotated_files,
    tail_offset,
)

LINES = [
    "2024-01-01T00:00:01.000000001Z stdout F one",
    "2024-01-01T00:00:02.5+00:00 stderr F two",
    "2024-01-01T00:00:03.123456789Z stdout P thr",
    "2024-01-01T00:00:03.123456790Z stdout F ee",
    "2024-01-01T00:00:04Z stdout F ",
]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "0.log"
    path.write_text("\n".join(LINES) + "\n")
    return path


async def _collect(**kw: object) -> bytes:
    return b"".join([chunk async for chunk in read_logs(**kw)])  # type: ignore[arg-type]


def test_parse_record_and_time() -> None:
    record = parse_record(LINES[2].encode())
    assert record is not None
    assert (record.stream, record.partial, record.content) == ("stdout", True, b"thr")
    assert record.timestamp() == "2024-01-01T00:00:03.123456789Z"
    assert parse_record(b"garbage") is None
    assert parse_record(b"2024-01-01T00:00:00Z stdin F x") is None
    when, nanos = parse_time("2024-01-01T02:00:00.25+02:00")
    assert when == datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=UTC) and nanos == 250_000_000


async def test_plain_output_joins_partial_lines(log: Path) -> None:
    assert await _collect(path=log) == b"one\ntwo\nthree\n\n"


async def test_timestamps_tail_since_limit_and_stream(log: Path) -> None:
    with_times = await _collect(path=log, timestamps=True)
    assert with_times.splitlines()[1] == b"2024-01-01T00:00:02.500000000Z two"
    assert await _collect(path=log, tail=2) == b"ee\n\n"
    assert await _collect(path=log, tail=0) == b""
    assert await _collect(path=log, tail=100) == b"one\ntwo\nthree\n\n"
    assert await _collect(path=log, since=datetime(2024, 1, 1, 0, 0, 2, tzinfo=UTC)) == b"two\nthree\n\n"
    assert await _collect(path=log, limit_bytes=6) == b"one\ntw"
    assert await _collect(path=log, stream="stderr") == b"two\n"
    assert await _collect(path=log.with_name("missing.log")) == b""


def test_tail_offset_across_blocks(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    lines = [f"2024-01-01T00:00:00Z stdout F line {i:06d} " + "x" * 100 for i in range(2000)]
    path.write_text("\n".join(lines) + "\n")
    with open(path, "rb") as file:
        file.seek(tail_offset(path, 3))
        assert file.read().decode().splitlines() == lines[-3:]
    assert tail_offset(path, 5000) == 0


async def test_follow_sees_growth_and_rotation_and_ends_when_stopped(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_text(LINES[0] + "\n")
    running = True

    async def is_running() -> bool:
        return running

    received: list[bytes] = []

    async def follow() -> None:
        async for chunk in read_logs(path, follow=True, is_running=is_running):
            received.append(chunk)

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.15)
    with open(path, "a") as file:
        file.write("2024-01-01T00:00:05Z stdout F appended\n")
    await asyncio.sleep(0.3)

    async def reopen() -> None:
        path.write_text("2024-01-01T00:00:06Z stdout F after rotation\n")

    rotated = await rotate_log(path, max_files=3, reopen=reopen)
    assert rotated is not None and rotated.exists()
    await asyncio.sleep(0.3)
    running = False
    await asyncio.wait_for(task, 2)
    assert b"".join(received) == b"one\nappended\nafter rotation\n"


async def test_rotation_keeps_max_files(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    reopened = 0

    async def reopen() -> None:
        nonlocal reopened
        reopened += 1
        path.write_text("")

    assert await rotate_log(path, 3, reopen) is None  # nothing to rotate
    path.write_text("x\n")
    for second in range(5):
        await rotate_log(path, 3, reopen, now=datetime(2024, 1, 1, 0, 0, second, tzinfo=UTC))
    assert reopened == 5
    kept = rotated_files(path)
    assert [p.name for p in kept] == ["0.log.20240101-000003.000000", "0.log.20240101-000004.000000"]
    assert path.exists()
    assert sorted(os.listdir(tmp_path)) == sorted(["0.log", *(p.name for p in kept)])
