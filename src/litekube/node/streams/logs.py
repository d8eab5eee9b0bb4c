"""`pods/{name}/log`: a container's CRI-format log file as text/plain, optionally followed.

CRI log lines (what conmon writes) look like

    2024-05-01T10:00:00.123456789Z stdout F hello world
    2024-05-01T10:00:01.000000000+02:00 stderr P first half of a long li
    2024-05-01T10:00:01.000000001+02:00 stderr F ne, completed here

`P` records are joined with what follows on the same stream until an `F` record ends the
line. The flow of one request:

    options (tailLines, sinceSeconds|sinceTime, timestamps, limitBytes, stream, follow)
      ─▶ which file (kubelet's validateContainerLogStatus rules, errors are 400 Statuses)
      ─▶ read the rotated files (`<log>.<UTC time>`, oldest first; runtime/logs.py makes
         them), then the live file to its end: filter by time and stream; keep only the
         last tailLines of all of it
      ─▶ follow: poll for appended bytes (and a rotated file) while the same container
         instance is running; once it is not, read what is left and end the body.

With timestamps each line starts with its time in the kubelet's fixed nine-digit form
(`2024-05-01T10:00:00.123456789Z`). limitBytes cuts the body after that many bytes, even
inside a line.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from aiohttp import web

from litekube.apiserver import errors
from litekube.apiserver.rest import ResourceRequest
from litekube.node.runtime.logs import rotated_files
from litekube.node.streams import pods
from litekube.node.streams.backend import ContainerBackend, ContainerRef, ContainerState

FOLLOW_POLL = 0.1  # seconds between looks at a followed file
_READ_SIZE = 64 * 1024
_TIMESTAMP = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_ns: int | None = None  # epoch nanoseconds; earlier lines are skipped
    limit_bytes: int | None = None
    stream: str | None = None  # "stdout" / "stderr"; None = both

    @classmethod
    def parse(cls, request: web.Request, now: float | None = None) -> LogOptions:
        q = request.query
        since_seconds = _int_param(q.get("sinceSeconds"), "sinceSeconds", minimum=1)
        since_time = q.get("sinceTime")
        if since_seconds is not None and since_time:
            raise errors.bad_request("at most one of `sinceTime` or `sinceSeconds` may be specified")
        since_ns = None
        if since_seconds is not None:
            since_ns = int(((time.time() if now is None else now) - since_seconds) * 1e9)
        elif since_time:
            parsed = parse_timestamp(since_time.encode())
            if parsed is None:
                raise errors.bad_request(f'parsing time "{since_time}" as RFC3339: invalid sinceTime')
            since_ns = parsed
        stream = {"": None, "All": None, "Stdout": "stdout", "Stderr": "stderr"}.get(q.get("stream", ""), "?")
        if stream == "?":
            raise errors.bad_request(f"stream: Unsupported value: {q.get('stream')!r}")
        return cls(
            follow=pods.flag(request, "follow"),
            previous=pods.flag(request, "previous"),
            timestamps=pods.flag(request, "timestamps"),
            tail_lines=_int_param(q.get("tailLines"), "tailLines", minimum=0),
            since_ns=since_ns,
            limit_bytes=_int_param(q.get("limitBytes"), "limitBytes", minimum=1),
            stream=stream,
        )


def _int_param(raw: str | None, name: str, minimum: int) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise errors.bad_request(f"{name}: Invalid value: {raw!r}: must be an integer") from None
    if value < minimum:
        raise errors.bad_request(
            f"{name}: Invalid value: {value}: must be greater than or equal to {minimum}"
        )
    return value


# ---------------------------------------------------------------- CRI format
@dataclass(frozen=True)
class LogLine:
    timestamp: bytes  # as written in the file
    stream: str
    content: bytes  # with its trailing newline, once complete


def parse_timestamp(raw: bytes) -> int | None:
    """RFC 3339 (with up to nine fraction digits) → epoch nanoseconds."""
    m = _TIMESTAMP.match(raw)
    if m is None:
        return None
    zone = m.group(3).decode()
    base = datetime.fromisoformat(m.group(1).decode() + ("+00:00" if zone == "Z" else zone))
    fraction = (m.group(2) or b"").decode().ljust(9, "0")
    return int(base.timestamp()) * 1_000_000_000 + int(fraction)


def format_timestamp(raw: bytes) -> bytes:
    """The kubelet's output form: nine fraction digits, `Z` for UTC, else the file's offset."""
    m = _TIMESTAMP.match(raw)
    if m is None:
        return raw
    fraction = (m.group(2) or b"").ljust(9, b"0")
    zone = m.group(3)
    if zone in (b"+00:00", b"-00:00"):
        zone = b"Z"
    return m.group(1) + b"." + fraction + zone


class CriParser:
    """Turns appended file bytes into complete lines, joining `P` records per stream."""

    def __init__(self) -> None:
        self._rest = b""
        self._partial: dict[str, tuple[bytes, bytes]] = {}

    def feed(self, data: bytes) -> Iterator[LogLine]:
        self._rest += data
        *records, self._rest = self._rest.split(b"\n")
        for record in records:
            line = self._record(record)
            if line is not None:
                yield line

    def flush(self) -> Iterator[LogLine]:
        """At the end of a container's life: what is still pending, as it is."""
        if self._rest:
            line = self._record(self._rest)
            self._rest = b""
            if line is not None:
                yield line
        for stream, (timestamp, content) in sorted(self._partial.items()):
            yield LogLine(timestamp, stream, content)
        self._partial.clear()

    def _record(self, record: bytes) -> LogLine | None:
        parts = record.split(b" ", 3)
        if len(parts) < 3 or parts[1] not in (b"stdout", b"stderr"):
            return None  # not a CRI record (a torn write, a foreign line): skip it
        timestamp, stream = parts[0], parts[1].decode()
        tag = parts[2]
        if tag not in (b"F", b"P"):  # untagged legacy form: "<time> <stream> <text>"
            content, tag = b" ".join(parts[2:]), b"F"
        else:
            content = parts[3] if len(parts) > 3 else b""
        first, pending = self._partial.pop(stream, (timestamp, b""))
        if tag == b"P":
            self._partial[stream] = (first, pending + content)
            return None
        return LogLine(first, stream, pending + content + b"\n")


# ---------------------------------------------------------------- the handler
class LogHandler:
    def __init__(self, backend: ContainerBackend, poll: float = FOLLOW_POLL) -> None:
        self.backend = backend
        self.poll = poll

    async def __call__(self, request: web.Request, rr: ResourceRequest) -> web.StreamResponse:
        pod, container = await pods.resolve(self.backend, request, rr)
        opts = LogOptions.parse(request)
        if not (pod.get("spec") or {}).get("nodeName"):
            return _text_response()  # upstream: no host yet, so no location and an empty body
        namespace, name = rr.namespace or "default", rr.name or ""
        ref = self.backend.find_container(namespace, name, container)
        path = self._choose_file(namespace, name, container, ref, opts.previous)
        following = (
            opts.follow and not opts.previous and ref is not None and ref.state == ContainerState.RUNNING
        )
        response = _text_response()
        await response.prepare(request)
        writer = _LimitedWriter(request, response, opts)
        try:
            await self._copy(path, writer, opts, (namespace, name, container, ref) if following else None)
        except (ConnectionError, _LimitReached):
            pass
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response

    def _choose_file(
        self, namespace: str, pod: str, container: str, ref: ContainerRef | None, previous: bool
    ) -> Path:
        """upstream validateContainerLogStatus: previous, running, terminated, last terminated, waiting."""
        if previous:
            path = self.backend.log_path(namespace, pod, container, True)
            if path is None:
                raise errors.bad_request(
                    f'previous terminated container "{container}" in pod "{pod}" not found'
                )
            return path
        path = self.backend.log_path(namespace, pod, container, False)
        if ref is not None and ref.state == ContainerState.WAITING:
            # CrashLoopBackOff and friends still show the last run's log.
            path = path or self.backend.log_path(namespace, pod, container, True)
        if path is not None:
            return path
        reason = ref.reason if ref is not None and ref.reason else "ContainerCreating"
        if ref is not None and ref.state == ContainerState.EXITED:
            raise errors.bad_request(f'container "{container}" in pod "{pod}" is terminated')
        detail = {
            "ErrImagePull": "image can't be pulled",
            "ImagePullBackOff": "trying and failing to pull image",
        }.get(reason, reason)
        raise errors.bad_request(f'container "{container}" in pod "{pod}" is waiting to start: {detail}')

    async def _copy(
        self,
        path: Path,
        writer: _LimitedWriter,
        opts: LogOptions,
        follow: tuple[str, str, str, ContainerRef | None] | None,
    ) -> None:
        parser = CriParser()
        handle = _open(path)
        try:
            # The whole log first (rotated files, then the live one); tailLines keeps only
            # the last lines of it.
            tail: collections.deque[LogLine] | None = (
                collections.deque(maxlen=opts.tail_lines) if opts.tail_lines is not None else None
            )
            for line in _read_history(path, handle, parser):
                if tail is not None:
                    if _selected(line, opts):
                        tail.append(line)
                else:
                    await writer.line(line)
            if tail is not None:
                for line in tail:
                    await writer.line(line)
            if follow is None:
                for line in parser.flush():
                    await writer.line(line)
                return
            namespace, pod, container, ref = follow
            while True:
                await asyncio.sleep(self.poll)
                if writer.client_gone():
                    return  # aiohttp does not cancel us when the client leaves; stop polling
                now = self.backend.find_container(namespace, pod, container)
                ended = (
                    now is None
                    or now.state != ContainerState.RUNNING
                    or now.container_id != (ref.container_id if ref else None)
                )
                for line in _read_all(handle, parser):
                    await writer.line(line)
                if _rotated(path, handle):
                    # The old file is read to its end above; carry on at the start of the new one.
                    if handle is not None:
                        handle.close()
                    handle = _open(path)
                    for line in _read_all(handle, parser):
                        await writer.line(line)
                if ended:
                    for line in parser.flush():
                        await writer.line(line)
                    return
        finally:
            if handle is not None:
                handle.close()


class _LimitReached(Exception):
    pass


class _LimitedWriter:
    def __init__(self, request: web.Request, response: web.StreamResponse, opts: LogOptions) -> None:
        self.request = request
        self.response = response
        self.opts = opts
        self.left = opts.limit_bytes

    def client_gone(self) -> bool:
        transport = self.request.transport
        return transport is None or transport.is_closing()

    async def line(self, line: LogLine) -> None:
        if not _selected(line, self.opts):
            return
        data = line.content
        if self.opts.timestamps:
            data = format_timestamp(line.timestamp) + b" " + data
        if self.left is not None:
            data = data[: self.left]
            self.left -= len(data)
        await self.response.write(data)
        if self.left is not None and self.left <= 0:
            raise _LimitReached


def _selected(line: LogLine, opts: LogOptions) -> bool:
    if opts.stream is not None and line.stream != opts.stream:
        return False
    if opts.since_ns is not None:
        when = parse_timestamp(line.timestamp)
        if when is not None and when < opts.since_ns:
            return False
    return True


def _text_response() -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    return response


def _open(path: Path) -> BinaryIO | None:
    try:
        return open(path, "rb")  # closed by the caller's finally
    except FileNotFoundError:
        return None  # the writer has not created it yet: an empty log so far


def _read_all(handle: BinaryIO | None, parser: CriParser) -> Iterator[LogLine]:
    if handle is None:
        return
    while chunk := handle.read(_READ_SIZE):
        yield from parser.feed(chunk)


def _read_history(path: Path, handle: BinaryIO | None, parser: CriParser) -> Iterator[LogLine]:
    """The rotated files of `path` oldest first, then the live file open as `handle`.

    The live file is opened before the rotated ones are listed, so a rotation in between
    shows up as a rotated file with our handle's inode, which is skipped (read once, as
    the live one). One parser runs across the files: a `P` record at the end of one file
    is completed by the `F` record at the start of the next.
    """
    live = os.fstat(handle.fileno()) if handle is not None else None
    for old in rotated_files(path):
        try:
            with open(old, "rb") as file:
                mine = os.fstat(file.fileno())
                if live is not None and (mine.st_ino, mine.st_dev) == (live.st_ino, live.st_dev):
                    continue
                yield from _read_all(file, parser)
        except FileNotFoundError:
            continue  # pruned while we listed
    yield from _read_all(handle, parser)


def _rotated(path: Path, handle: BinaryIO | None) -> bool:
    """Has the writer moved on to a new file (rotation: rename + create) or truncated ours?"""
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return False
    if handle is None:
        return True
    mine = os.fstat(handle.fileno())
    return (mine.st_ino, mine.st_dev) != (current.st_ino, current.st_dev) or current.st_size < handle.tell()
