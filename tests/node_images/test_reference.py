"""Image name normalisation, as docker/containerd do it, and the imagePullPolicy default."""

from __future__ import annotations

import pytest

from litekube.node.images import InvalidImageNameError, default_pull_policy, normalize, parse_reference


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.21", "docker.io/library/nginx:1.21"),
        ("fluent/fluent-bit:1.8", "docker.io/fluent/fluent-bit:1.8"),
        ("docker.io/nginx", "docker.io/library/nginx:latest"),
        ("index.docker.io/library/nginx:1.21", "docker.io/library/nginx:1.21"),
        ("registry-1.docker.io/bitnami/redis", "docker.io/bitnami/redis:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/team/app:v1", "localhost:5000/team/app:v1"),
        ("127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"),
        ("quay.io/coreos/etcd:v3.5.0", "quay.io/coreos/etcd:v3.5.0"),
        ("ghcr.io/a/b/c/d:tag_1.0-rc", "ghcr.io/a/b/c/d:tag_1.0-rc"),
        ("Registry/app", "Registry/app:latest"),  # upper case first component: a host, as docker says
        ("nginx@sha256:" + "a" * 64, "docker.io/library/nginx@sha256:" + "a" * 64),
        ("nginx:1.21@sha256:" + "b" * 64, "docker.io/library/nginx:1.21@sha256:" + "b" * 64),
    ],
)
def test_normalize(ref: str, expected: str) -> None:
    assert normalize(ref) == expected


def test_parts() -> None:
    ref = parse_reference("nginx:1.21")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == ("docker.io", "library/nginx", "1.21", None)
    assert ref.api_host() == "registry-1.docker.io"
    assert ref.with_digest("sha256:" + "c" * 64) == "docker.io/library/nginx@sha256:" + "c" * 64
    assert parse_reference("127.0.0.1:5000/x").api_host() == "127.0.0.1:5000"
    digest = "sha256:" + "d" * 64
    assert parse_reference(f"busybox@{digest}").object == digest


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "Nginx",
        "nginx:",
        "nginx:bad tag",
        " nginx",
        "nginx@sha256:short",
        "-bad/x",
        "a//b",
        "nginx:-x",
        "library/UPPER:1",
    ],
)
def test_invalid_names(ref: str) -> None:
    with pytest.raises(InvalidImageNameError) as caught:
        parse_reference(ref)
    assert caught.value.reason == "InvalidImageName"
    assert f'couldn\'t parse image name "{ref}"' in str(caught.value)


def test_uppercase_repository_message() -> None:
    with pytest.raises(InvalidImageNameError, match="repository name must be lowercase"):
        parse_reference("Nginx")


@pytest.mark.parametrize(
    ("ref", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.21", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
    ],
)
def test_default_pull_policy(ref: str, policy: str) -> None:
    assert default_pull_policy(ref) == policy
