"""Fixtures of the image tests: the test image layouts and a fake registry serving them."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fixtures.images import build_images, missing_tools
from tests.node_images.fake_registry import FakeRegistry


@pytest.fixture(scope="session")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    missing = [tool for tool in missing_tools() if "registry" not in tool and tool != "skopeo"]
    if missing:
        pytest.skip(f"test images need {', '.join(missing)}")
    return build_images(tmp_path_factory.mktemp("layouts"))


@pytest.fixture
async def fake_registry(layouts: dict[str, Path]) -> AsyncIterator[FakeRegistry]:
    registry = FakeRegistry({f"library/{name}": path for name, path in layouts.items()})
    await registry.start()
    try:
        yield registry
    finally:
        await registry.close()


def require_root(*binaries: str) -> None:
    """Skip unless root (whiteouts are device nodes and trusted.* xattrs; overlay mounts)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for binary in binaries:
        if shutil.which(binary) is None:
            pytest.skip(f"needs {binary}")
