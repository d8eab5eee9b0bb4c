"""A real cluster with the embedded node, bound to 0.0.0.0 as `litekube server` is by default.

The `kubernetes` Service then points at the node's InternalIP, which pods reach through the
service proxy. `tests/e2e_node` binds 127.0.0.1 instead, and only one server with the
embedded node may run at a time, so this is its own package with its own package-scoped
cluster (same tools, same local registry). The listener is TLS with client authentication
required for every request that matters; it lives only as long as this package.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Cluster
from tests.e2e_node.conftest import running_node_cluster
from tests.fixtures.images import LocalRegistry, local_registry  # noqa: F401

pytestmark = pytest.mark.root


@pytest.fixture(scope="package")
def incluster_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    local_registry: LocalRegistry,  # noqa: F811
) -> Iterator[Cluster]:
    # "--bind-address 0.0.0.0": the last one wins over Cluster.start's 127.0.0.1
    directory = tmp_path_factory.mktemp("inclustercluster")
    with running_node_cluster(directory, local_registry, "--bind-address", "0.0.0.0") as c:
        yield c
