"""`kubectl logs` reads the rotated files (oldest first) before the live one."""

from __future__ import annotations

from litekube.node.streams.logs import CriParser, _open, _read_history
from tests.streams.conftest import Env, pod

OLDEST = b"2024-05-01T10:00:00Z stdout F one\n2024-05-01T10:00:01Z stdout F two\n"
# a long line split by the rotation: its P half ends one file, its F half starts the next
OLDER = b"2024-05-01T10:00:02Z stderr F three\n2024-05-01T10:00:03Z stdout P fo\n"
LIVE = b"2024-05-01T10:00:03Z stdout F ur\n2024-05-01T10:00:04Z stdout F five\n"


def rotated(cluster: Env, name: str) -> None:
    container = cluster.backend.add_log("default", name, "main", LIVE)
    log = container.log_path
    # the names runtime/logs.py gives rotated files: `<log>.<UTC time>`
    log.with_name(log.name + ".20240501-100001.000000").write_bytes(OLDEST)
    log.with_name(log.name + ".20240501-100003.500000").write_bytes(OLDER)


async def test_full_tail_and_since_cover_rotated_files(cluster: Env) -> None:
    cluster.backend.add_pod(pod("rotated"))
    rotated(cluster, "rotated")
    rc, out, err = await cluster.kubectl("logs", "rotated")
    assert (rc, err) == (0, "")
    assert out == "one\ntwo\nthree\nfour\nfive\n"
    rc, out, _ = await cluster.kubectl("logs", "rotated", "--tail=4")
    assert out == "two\nthree\nfour\nfive\n"
    rc, out, _ = await cluster.kubectl("logs", "rotated", "--since-time=2024-05-01T10:00:01Z")
    assert out == "two\nthree\nfour\nfive\n"
    rc, out, _ = await cluster.kubectl("logs", "rotated", "--timestamps", "--tail=1")
    assert out == "2024-05-01T10:00:04.000000000Z five\n"


def test_a_file_rotated_after_opening_is_read_once(cluster: Env) -> None:
    container = cluster.backend.add_log("default", "race", "main", LIVE)
    log = container.log_path
    handle = _open(log)
    assert handle is not None
    with handle:
        # rotation between opening the live file and listing the rotated ones
        log.rename(log.with_name(log.name + ".20240501-100005.000000"))
        log.write_bytes(b"")
        lines = [line.content for line in _read_history(log, handle, CriParser())]
    assert lines == [b"ur\n", b"five\n"]
