"""A real cluster with the embedded node: real containers from the local test registry.

Needs root (runc, mounts, network namespaces, nftables). The seed's image names resolve
unchanged: docker.io is mirrored to a local docker-registry holding images built from
Debian packages (tests/fixtures/images.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cluster, make_cluster
from tests.fixtures.images import LocalRegistry, local_registry  # noqa: F401

pytestmark = pytest.mark.root


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("runc", "conmon", "nft", "skopeo", "docker-registry"):
        if (
            not shutil.which(tool)
            and not os.path.exists(f"/usr/bin/{tool}")
            and not os.path.exists(f"/usr/sbin/{tool}")
        ):
            return f"{tool} is not installed"
    return None


@contextlib.contextmanager
def running_node_cluster(directory: Path, registry: LocalRegistry, *args: str) -> Iterator[Cluster]:
    """A server with the embedded node (extra `args` for `litekube server`), images mirrored
    to the local registry and Ingress on free ports; stopped on exit. Skips without root/tools."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from tests.conftest import free_port

    http_port, https_port = free_port(), free_port()
    c = make_cluster(
        directory, *args, "--ingress-http-port", str(http_port), "--ingress-https-port", str(https_port)
    )
    c.ingress_ports = (http_port, https_port)
    c.data_dir.mkdir(parents=True, exist_ok=True)
    registry.mirrors_yaml(c.data_dir / "registries.yaml")
    c.start(timeout=60)
    try:
        yield c
    finally:
        c.stop(timeout=90)


@pytest.fixture(scope="package")  # stopped when this package is done: later suites check for leaks
def node_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    local_registry: LocalRegistry,  # noqa: F811
) -> Iterator[Cluster]:
    with running_node_cluster(tmp_path_factory.mktemp("nodecluster"), local_registry) as c:
        yield c
