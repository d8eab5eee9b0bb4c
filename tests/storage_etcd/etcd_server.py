"""A real, throwaway etcd for tests: free loopback ports, a temporary data dir, killed after.

`running_etcd(directory)` starts `/usr/bin/etcd` (Debian's etcd-server, 3.4) as a single
member, waits until its JSON gateway answers, yields its client URL and in `finally` kills
it and waits for it, so nothing is left running. Tests skip when the binary is missing.
Short heartbeat/election timings make a fresh member elect itself in tens of milliseconds,
cheap enough for one etcd per test (every contract test expects a store at revision 0).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import free_port

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def etcd_available() -> bool:
    return os.access(ETCD, os.X_OK)


def skip_without_etcd() -> None:
    if not etcd_available():
        pytest.skip("etcd is not installed (Debian package etcd-server)")


@contextmanager
def running_etcd(directory: Path, *, client_port: int = 0, timeout: float = 20.0) -> Iterator[str]:
    """Start etcd with its data in directory/etcd-data; yield http://127.0.0.1:PORT."""
    skip_without_etcd()
    client = f"http://127.0.0.1:{client_port or free_port()}"
    peer = f"http://127.0.0.1:{free_port()}"
    directory.mkdir(parents=True, exist_ok=True)
    log = open(directory / "etcd.log", "ab")  # closed in finally, after etcd exits
    process = subprocess.Popen(
        [
            ETCD,
            "--name=test",
            f"--data-dir={directory / 'etcd-data'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=test={peer}",
            "--heartbeat-interval=10",
            "--election-timeout=50",
            "--logger=zap",
            "--log-level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"etcd exited with {process.returncode}: {(directory / 'etcd.log').read_text()[-2000:]}"
                )
            try:
                request = urllib.request.Request(
                    f"{client}/v3/kv/range", data=b'{"key":"AA=="}', method="POST"
                )
                with urllib.request.urlopen(request, timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield client
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        log.close()
