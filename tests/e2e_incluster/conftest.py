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

from tests.conftest import Cluster, make_cluster
from tests.e2e_node.conftest import _missing
from tests.fixtures.images import LocalRegistry, local_registry  # noqa: F401

pytestmark = pytest.mark.root


@pytest.fixture(scope="package")
def incluster_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    local_registry: LocalRegistry,  # noqa: F811
) -> Iterator[Cluster]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from tests.conftest import free_port

    http_port, https_port = free_port(), free_port()
    c = make_cluster(
        tmp_path_factory.mktemp("inclustercluster"),
        "--bind-address",  # the last one wins over Cluster.start's 127.0.0.1
        "0.0.0.0",
        "--ingress-http-port",
        str(http_port),
        "--ingress-https-port",
        str(https_port),
    )
    c.ingress_ports = (http_port, https_port)
    c.data_dir.mkdir(parents=True, exist_ok=True)
    local_registry.mirrors_yaml(c.data_dir / "registries.yaml")
    c.start(timeout=60)
    try:
        yield c
    finally:
        c.stop(timeout=90)
