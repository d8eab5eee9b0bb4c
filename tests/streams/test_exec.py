"""`kubectl exec / attach / cp` over the WebSocket v5 channel protocol."""

from __future__ import annotations

import asyncio
import os
import shutil

import aiohttp
import pytest

from tests.streams.conftest import KUBECTL, Env, pod
from tests.streams.terminal import Terminal


async def _running(cluster: Env, name: str = "web") -> None:
    cluster.backend.add_pod(pod(name))
    await cluster.backend.start("default", name, "main", ["sleep", "60"])


async def test_exec_prints_both_streams_and_exits_with_the_code(cluster: Env) -> None:
    await _running(cluster)
    rc, out, err = await cluster.kubectl("exec", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (rc, out) == (3, "out\n")
    assert err == "err\ncommand terminated with exit code 3\n"
    rc, out, err = await cluster.kubectl("exec", "web", "--", "true")
    assert (rc, out, err) == (0, "", "")


async def test_exec_with_piped_stdin(cluster: Env) -> None:
    await _running(cluster)
    data = b"hello\n" + b"x" * 200_000 + b"\n"
    rc, out, err = await cluster.kubectl(
        "exec", "-i", "web", "--", "sh", "-c", "tr a-z A-Z; echo done", stdin=data
    )
    assert (rc, err) == (0, "")
    assert out == data.decode().upper() + "done\n"


async def test_exec_errors(cluster: Env) -> None:
    cluster.backend.add_pod(pod("new"))
    cluster.backend.set_waiting("default", "new", "main", "ContainerCreating")
    rc, _, err = await cluster.kubectl("exec", "new", "--", "true")
    assert rc == 1
    assert 'unable to upgrade connection: container not found ("main")' in err
    await _running(cluster)
    rc, _, err = await cluster.kubectl("exec", "web", "--", "/no/such/binary")
    assert rc == 1
    assert "error executing command in container" in err
    async with aiohttp.ClientSession() as http:
        url = f"{cluster.url}/api/v1/namespaces/default/pods/web/exec?container=main&stdout=true"
        async with http.get(url) as resp:
            body = await resp.json()
    assert (resp.status, body["message"]) == (400, "you must specify at least one command for the container")


async def test_exec_tty_session(cluster: Env) -> None:
    await _running(cluster)
    term = await Terminal.spawn([KUBECTL, "exec", "-it", "web", "--", "sh"], cluster.env())
    try:
        term.send("stty size; echo $((6*7))\r")
        at = await term.expect(b"42\r\n")
        assert b"40 120" in term.output  # kubectl sent our terminal's size on channel 4
        term.send("exit 0\r")
        assert await term.wait() == 0
        assert b"42" in term.output[at - 6 :]
    finally:
        await term.close()


async def test_attach_with_stdin(cluster: Env) -> None:
    backend = cluster.backend
    backend.add_pod(pod("reader", specs=[{"name": "main", "image": "busybox", "stdin": True}]))
    await backend.start(
        "default", "reader", "main", ["sh", "-c", "while read l; do echo got:$l; done; echo bye"], stdin=True
    )
    rc, out, err = await cluster.kubectl("attach", "-i", "reader", stdin=b"x\ny\n")
    assert rc == 0, err
    assert out == "got:x\ngot:y\nbye\n"


async def test_attach_tty_like_run_rm_it(cluster: Env) -> None:
    backend = cluster.backend
    spec = [{"name": "main", "image": "busybox", "stdin": True, "stdinOnce": True, "tty": True}]
    backend.add_pod(pod("shell", specs=spec))
    await backend.start("default", "shell", "main", ["sh"], tty=True, stdin=True)
    term = await Terminal.spawn([KUBECTL, "attach", "-it", "shell"], cluster.env())
    try:
        term.send("echo $((6*7))\r")
        await term.expect(b"42\r\n")
        term.send("exit\r")
        assert await term.wait() == 0
    finally:
        await term.close()
    container = backend.current[("default", "shell", "main")]
    assert container.exit_code == 0


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs tar")
async def test_cp_both_ways(cluster: Env) -> None:
    await _running(cluster)
    local = cluster.home / "upload.txt"
    local.write_text("to the pod\n")
    target = cluster.work / "dest"
    target.mkdir()
    rc, _, err = await cluster.kubectl("cp", str(local), f"default/web:{target}/uploaded.txt")
    assert rc == 0, err
    assert (target / "uploaded.txt").read_text() == "to the pod\n"

    (cluster.work / "report.txt").write_text("from the pod\n")
    back = cluster.home / "report.txt"
    rc, _, err = await cluster.kubectl("cp", f"default/web:{cluster.work}/report.txt", str(back))
    assert rc == 0, err
    assert back.read_text() == "from the pod\n"


async def test_a_vanished_client_ends_the_command(cluster: Env) -> None:
    await _running(cluster)
    pidfile = cluster.work / "pid"
    process = await asyncio.create_subprocess_exec(
        KUBECTL,
        "exec",
        "web",
        "--",
        "sh",
        "-c",
        f"echo $$ > {pidfile}; echo started; exec sleep 30",
        stdout=asyncio.subprocess.PIPE,
        env=cluster.env(),
    )
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), 10) == b"started\n"
    pid = int(pidfile.read_text())
    process.kill()
    await process.wait()
    for _ in range(200):  # the exec'd process is killed (and reaped) within 10 s
        if not _alive(pid):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail(f"process {pid} survived its client")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
