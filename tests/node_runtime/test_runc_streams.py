"""exec and attach against real containers (root only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from litekube.node.runtime import RuntimeFailure
from tests.node_runtime.conftest import Harness

pytestmark = pytest.mark.root

LONG_RUNNING = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"]


class Collector:
    def __init__(self) -> None:
        self.data = b""

    async def __call__(self, chunk: bytes) -> None:
        self.data += chunk


async def _chunks(*chunks: bytes, delay: float = 0.0) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(delay)
        yield chunk


async def test_exec_without_tty_pipes_and_exit_code(harness: Harness) -> None:
    config = harness.config(LONG_RUNNING, env=[("GREETING", "hi")])
    await harness.run(config)
    out, err = Collector(), Collector()
    code = await harness.runtime.exec(
        config.id,
        ["sh", "-c", 'read x; echo "$GREETING $x"; echo bad >&2; exit 7'],
        stdin=_chunks(b"there\n"),
        stdout=out,
        stderr=err,
    )
    assert code == 7
    assert out.data == b"hi there\n"
    assert err.data == b"bad\n"


async def test_exec_with_tty_resize_and_exit_code(harness: Harness) -> None:
    config = harness.config(LONG_RUNNING)
    await harness.run(config)
    out = Collector()

    async def resizes() -> AsyncIterator[tuple[int, int]]:
        yield (100, 40)

    # stty reports the terminal size after the resize; `tty` proves a terminal is there.
    code = await harness.runtime.exec(
        config.id,
        ["sh"],
        tty=True,
        stdin=_chunks(b"sleep 0.3; tty; stty size; exit 5\n"),
        stdout=out,
        resize=resizes(),
    )
    assert code == 5
    text = out.data.replace(b"\r", b"")
    assert b"/dev/pts/" in text
    assert b"40 100" in text


async def test_exec_in_missing_or_exited_container_fails(harness: Harness) -> None:
    with pytest.raises(RuntimeFailure):
        await harness.runtime.exec("litekube-nope", ["true"])
    config = harness.config(["true"])
    await harness.run(config)
    await harness.runtime.wait(config.id, within=5)
    with pytest.raises(RuntimeFailure, match="not running"):
        await harness.runtime.exec(config.id, ["true"])


async def test_attach_reads_stdout_and_feeds_stdin(harness: Harness) -> None:
    config = harness.config(
        ["sh", "-c", "echo ready; read line; echo got $line; exit 0"], stdin=True, stdin_once=True
    )
    await harness.run(config)
    out = Collector()
    await asyncio.wait_for(
        harness.runtime.attach(config.id, stdin=_chunks(b"ping\n", delay=0.2), stdout=out), timeout=10
    )
    status = await harness.runtime.wait(config.id, within=5)
    assert status.exit_code == 0
    assert b"got ping" in out.data
    assert "got ping" in config.log_path.read_text()


async def test_attach_to_tty_container_with_resize(harness: Harness) -> None:
    config = harness.config(["sh"], tty=True, stdin=True, stdin_once=True)
    await harness.run(config)
    out = Collector()

    async def resizes() -> AsyncIterator[tuple[int, int]]:
        yield (120, 33)

    script = b"sleep 0.3; stty size; exit 4\n"
    await asyncio.wait_for(
        harness.runtime.attach(config.id, stdin=_chunks(script, delay=0.2), stdout=out, resize=resizes()),
        timeout=10,
    )
    status = await harness.runtime.wait(config.id, within=5)
    assert status.exit_code == 4
    assert b"33 120" in out.data
