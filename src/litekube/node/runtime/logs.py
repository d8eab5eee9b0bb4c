"""Container logs in the CRI format: reading them for `kubectl logs`, and rotating them.

conmon writes one record per line: `<RFC3339Nano time> <stdout|stderr> <F|P> <text>`; `P`
marks a partial line (the text continues in the next record), `F` a full one. `read_logs`
turns records back into the container's output, as the kubelet does:
- `tail=N` starts at the N-th record from the end; `since` drops older records;
- `timestamps` prefixes each record with its time as `2006-01-02T15:04:05.000000000Z`;
- `limit_bytes` stops after that many bytes of output;
- `follow` keeps reading as the file grows; when the file is rotated (renamed away and
  recreated by conmon after `reopen_log`) it finishes the old file and carries on with the
  new one; it ends when `is_running()` answers False and nothing is left to read.

Rotation (`rotate_log`) follows the kubelet's container log manager: the live file is
renamed to `<path>.<UTC time>`, the runtime is asked to reopen (conmon creates a fresh
file), and the oldest rotated files are deleted so at most `max_files` files remain.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

FOLLOW_POLL = 0.1
_BLOCK = 64 * 1024
_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


@dataclass(frozen=True)
class LogRecord:
    time: datetime
    nanos: int  # the sub-second part at full precision (datetime keeps microseconds only)
    stream: str
    partial: bool
    content: bytes

    def timestamp(self) -> str:
        """RFC3339 with nine fractional digits in UTC, as the kubelet prints it."""
        return self.time.strftime("%Y-%m-%dT%H:%M:%S") + f".{self.nanos:09d}Z"


def parse_time(text: str) -> tuple[datetime, int]:
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"not an RFC3339 time: {text!r}")
    seconds, fraction, zone = match.groups()
    nanos = int((fraction or "0").ljust(9, "0"))
    when = datetime.fromisoformat(seconds + ("+00:00" if zone == "Z" else zone)).astimezone(UTC)
    return when.replace(microsecond=nanos // 1000), nanos


def parse_record(line: bytes) -> LogRecord | None:
    """One CRI log line (without its newline); None for a line that is not one."""
    parts = line.split(b" ", 3)
    if len(parts) < 3 or parts[1] not in (b"stdout", b"stderr") or parts[2] not in (b"F", b"P"):
        return None
    try:
        when, nanos = parse_time(parts[0].decode())
    except (UnicodeDecodeError, ValueError):
        return None
    content = parts[3] if len(parts) == 4 else b""
    return LogRecord(when, nanos, parts[1].decode(), parts[2] == b"P", content)


def format_record(record: LogRecord, timestamps: bool) -> bytes:
    prefix = (record.timestamp() + " ").encode() if timestamps else b""
    return prefix + record.content + (b"" if record.partial else b"\n")


def tail_offset(path: Path, lines: int) -> int:
    """Byte offset where the last `lines` lines of the file begin (reads backwards in blocks)."""
    if lines <= 0:
        return path.stat().st_size
    with open(path, "rb") as file:
        end = file.seek(0, os.SEEK_END)
        position = end
        newlines = 0
        # A final newline ends the last line; it does not start another one.
        skip_last = True
        while position > 0:
            size = min(_BLOCK, position)
            position -= size
            file.seek(position)
            block = file.read(size)
            for index in range(len(block) - 1, -1, -1):
                if block[index] != 0x0A:
                    continue
                if skip_last and position + index == end - 1:
                    continue
                newlines += 1
                if newlines == lines:
                    return position + index + 1
            skip_last = False
        return 0


async def read_logs(
    path: Path,
    *,
    tail: int | None = None,
    since: datetime | None = None,
    timestamps: bool = False,
    limit_bytes: int | None = None,
    stream: str | None = None,
    follow: bool = False,
    is_running: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[bytes]:
    """The container's output from its CRI log file, formatted for `kubectl logs`."""
    try:
        file = open(path, "rb")  # noqa: ASYNC230 (local file: reads do not block for long)
    except FileNotFoundError:
        return
    remaining = limit_bytes
    try:
        if tail is not None:
            file.seek(tail_offset(path, tail))
        pending = b""
        while True:
            chunk = file.read(_BLOCK)
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    record = parse_record(line)
                    if record is None or (since is not None and record.time < since):
                        continue
                    if stream is not None and record.stream != stream:
                        continue
                    data = format_record(record, timestamps)
                    if remaining is not None:
                        data = data[:remaining]
                        remaining -= len(data)
                    if data:
                        yield data
                    if remaining is not None and remaining <= 0:
                        return
                continue
            # At the end of the file.
            if not follow:
                return
            if _rotated(path, file):
                file.close()
                try:
                    file = open(path, "rb")  # noqa: ASYNC230
                except FileNotFoundError:
                    file = open(os.devnull, "rb")  # noqa: ASYNC230 (recreated soon, or never)
                pending = b""
                continue
            if is_running is not None and not await is_running():
                # One more pass: the last lines may have landed after our read.
                last = file.read()
                if not last:
                    return
                pending += last
                continue
            await asyncio.sleep(FOLLOW_POLL)
    finally:
        file.close()


def _rotated(path: Path, file: BinaryIO) -> bool:
    fileno = file.fileno()
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fileno)
    return (current.st_ino, current.st_dev) != (opened.st_ino, opened.st_dev)


def rotated_files(path: Path) -> list[Path]:
    """Rotated copies of `path`, oldest first (the suffix is a sortable UTC time)."""
    return sorted(path.parent.glob(path.name + ".2*"))


def needs_rotation(path: Path, max_size: int) -> bool:
    try:
        return path.stat().st_size >= max_size
    except FileNotFoundError:
        return False


async def rotate_log(
    path: Path, max_files: int, reopen: Callable[[], Awaitable[None]], now: datetime | None = None
) -> Path | None:
    """Rename the live log away, have the writer reopen `path`, and keep `max_files` files.

    Returns the rotated file's path (None when there was no log to rotate).
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S.%f")
    target = path.with_name(f"{path.name}.{stamp}")
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    await reopen()
    _prune(path, max_files)
    return target


def _prune(path: Path, max_files: int) -> None:
    """Delete the oldest rotated files so that, with the live one, `max_files` remain."""
    rotated = rotated_files(path)
    for old in rotated[: max(0, len(rotated) - (max_files - 1))]:
        old.unlink(missing_ok=True)
