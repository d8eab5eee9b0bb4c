from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.kubelet.fakes import Harness, build_harness


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = build_harness(tmp_path / "data")
    yield h
    for worker in list(h.kubelet.workers.values()):
        for record in worker.records():
            record.stop_probes()
    for task in h.kubelet.tasks.values():
        task.cancel()
