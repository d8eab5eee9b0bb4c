"""`kubectl logs` against PodStreams: file reading, options, follow, and upstream's errors."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from litekube.node.streams import ContainerState
from litekube.node.streams.logs import CriParser, format_timestamp, parse_timestamp
from tests.streams.conftest import Env, pod

RECORDS = (
    b"2024-05-01T10:00:00.000000001Z stdout F first\n"
    b"2024-05-01T10:00:01.5Z stderr F second (stderr)\n"
    b"2024-05-01T10:00:02.000000000+02:00 stdout P third, begun\n"
    b"2024-05-01T10:00:02.100000000+02:00 stdout F  and ended\n"
    b"2024-05-01T10:00:03.000000000Z stdout F fourth\n"
)


def test_cri_parser_joins_partials_per_stream_across_reads() -> None:
    parser = CriParser()
    data = (
        b"2024-05-01T10:00:00Z stdout P ab\n"
        b"2024-05-01T10:00:01Z stderr F err\n"
        b"2024-05-01T10:00:02Z stdout F cd\n"
        b"2024-05-01T10:00:03Z stdout P tail"
    )
    lines = []
    for i in range(len(data)):  # byte by byte: records may be cut anywhere
        lines += list(parser.feed(data[i : i + 1]))
    assert [(x.stream, x.content, x.timestamp) for x in lines] == [
        ("stderr", b"err\n", b"2024-05-01T10:00:01Z"),
        ("stdout", b"abcd\n", b"2024-05-01T10:00:00Z"),
    ]
    assert [x.content for x in parser.flush()] == [b"tail"]


def test_timestamps_use_nine_digits_and_z() -> None:
    assert format_timestamp(b"2024-05-01T10:00:01.5Z") == b"2024-05-01T10:00:01.500000000Z"
    assert format_timestamp(b"2024-05-01T10:00:01+00:00") == b"2024-05-01T10:00:01.000000000Z"
    assert format_timestamp(b"2024-05-01T10:00:01.1+02:00") == b"2024-05-01T10:00:01.100000000+02:00"
    assert parse_timestamp(b"2024-05-01T12:00:00.000000002+02:00") == parse_timestamp(
        b"2024-05-01T10:00:00.000000002Z"
    )
    assert parse_timestamp(b"yesterday") is None


async def test_logs_tail_timestamps_since_and_limit(cluster: Env) -> None:
    cluster.backend.add_pod(pod("web"))
    cluster.backend.add_log("default", "web", "main", RECORDS)
    rc, out, err = await cluster.kubectl("logs", "web")
    assert (rc, err) == (0, "")
    assert out == "first\nsecond (stderr)\nthird, begun and ended\nfourth\n"

    rc, out, _ = await cluster.kubectl("logs", "web", "--tail=2")
    assert out == "third, begun and ended\nfourth\n"

    rc, out, _ = await cluster.kubectl("logs", "web", "--timestamps", "--tail=3")
    assert out.splitlines() == [
        "2024-05-01T10:00:01.500000000Z second (stderr)",
        "2024-05-01T10:00:02.000000000+02:00 third, begun and ended",
        "2024-05-01T10:00:03.000000000Z fourth",
    ]
    # 10:00:02+02:00 is 08:00:02Z, before the cut-off; fourth is after it.
    rc, out, _ = await cluster.kubectl("logs", "web", "--since-time=2024-05-01T10:00:01Z")
    assert out == "second (stderr)\nfourth\n"
    rc, out, _ = await cluster.kubectl("logs", "web", "--limit-bytes=9")
    assert out == "first\nsec"


async def test_logs_previous_and_errors(cluster: Env) -> None:
    backend = cluster.backend
    backend.add_pod(pod("web"))
    backend.add_log("default", "web", "main", b"2024-05-01T10:00:00Z stdout F now\n")
    rc, out, err = await cluster.kubectl("logs", "web", "--previous")
    assert rc == 1
    assert 'previous terminated container "main" in pod "web" not found' in err
    backend.add_log(
        "default",
        "web",
        "main",
        b"2024-05-01T09:00:00Z stdout F before\n",
        previous=True,
        state=ContainerState.EXITED,
    )
    rc, out, err = await cluster.kubectl("logs", "web", "-p")
    assert (rc, out) == (0, "before\n")

    backend.add_pod(pod("new"))
    backend.set_waiting("default", "new", "main", "ContainerCreating")
    rc, out, err = await cluster.kubectl("logs", "new")
    assert rc == 1
    assert (
        'Error from server (BadRequest): container "main" in pod "new" is waiting to start: ContainerCreating'
        in err
    )

    rc, out, err = await cluster.kubectl("logs", "nope")
    assert rc == 1 and 'pods "nope" not found' in err

    # kubectl always names a container; other clients may not, and must choose.
    backend.add_pod(pod("two", ["a", "b"]))
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{cluster.url}/api/v1/namespaces/default/pods/two/log") as resp:
            body = await resp.json()
        assert resp.status == 400
        assert body["message"] == "a container name must be specified for pod two, choose one of: [a b]"
        async with http.get(f"{cluster.url}/api/v1/namespaces/default/pods/two/log?container=c") as resp:
            body = await resp.json()
        assert (resp.status, body["message"]) == (400, "container c is not valid for pod two")


async def test_logs_follow_streams_until_the_container_exits(cluster: Env) -> None:
    backend = cluster.backend
    backend.add_pod(pod("job"))
    await backend.start("default", "job", "main", ["sh", "-c", "echo one; sleep 0.6; echo two; sleep 0.3"])
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *_kubectl(cluster), "logs", "-f", "job", stdout=asyncio.subprocess.PIPE, env=cluster.env()
    )
    assert process.stdout is not None
    first = await asyncio.wait_for(process.stdout.readline(), 10)
    assert first == b"one\n"
    assert time.monotonic() - started < 0.9  # streamed before the container ended
    rest = await asyncio.wait_for(process.stdout.read(), 10)
    assert rest == b"two\n"
    assert await asyncio.wait_for(process.wait(), 10) == 0
    container = backend.current[("default", "job", "main")]
    assert container.state == ContainerState.EXITED


def _kubectl(cluster: Env) -> list[str]:
    from tests.streams.conftest import KUBECTL

    return [KUBECTL]


async def test_follow_carries_on_after_a_rotation(cluster: Env) -> None:
    backend = cluster.backend
    backend.add_pod(pod("rot"))
    container = await backend.start(
        "default", "rot", "main", ["sh", "-c", "echo one; sleep 0.5; echo two; sleep 0.2"]
    )
    process = await asyncio.create_subprocess_exec(
        *_kubectl(cluster), "logs", "-f", "rot", stdout=asyncio.subprocess.PIPE, env=cluster.env()
    )
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), 10) == b"one\n"
    # Like the kubelet's log manager: rename the live file; the writer then starts a new one.
    container.log_path.rename(container.log_path.with_suffix(".log.20240501-100000"))
    assert await asyncio.wait_for(process.stdout.read(), 10) == b"two\n"
    assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_follow_stops_when_the_client_leaves(cluster: Env) -> None:
    backend = cluster.backend
    backend.add_pod(pod("quiet"))
    await backend.start("default", "quiet", "main", ["sh", "-c", "echo hi; exec sleep 30"])
    url = f"{cluster.url}/api/v1/namespaces/default/pods/quiet/log?container=main&follow=true"
    handler_tasks_before = len(asyncio.all_tasks())
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert await resp.content.readline() == b"hi\n"
    # With the client gone, the handler notices at its next poll and ends.
    for _ in range(100):
        if len(asyncio.all_tasks()) <= handler_tasks_before:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the follow handler is still polling")
