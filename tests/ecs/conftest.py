"""The ECS bridge's cluster tests need pods that become Ready: use the simulated-node cluster."""

from __future__ import annotations

import pytest

from tests.conftest import Cluster


@pytest.fixture
def cluster(sim_cluster: Cluster) -> Cluster:
    return sim_cluster
