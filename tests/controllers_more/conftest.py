from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.controllers.harness import Env


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    environment = Env()
    yield environment
    await environment.stop()
