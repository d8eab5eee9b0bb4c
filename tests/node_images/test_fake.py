"""FakeImageService follows the same pull-policy rules and error classes as ImageService."""

from __future__ import annotations

import pytest

from litekube.node.images import FakeImageService, ImageNotFoundError, ImageNotPresentError, ImagePullError


async def test_fake_policies() -> None:
    fake = FakeImageService()
    fake.pullable("nginx:1.21", {"Cmd": ["nginx"]})
    with pytest.raises(ImageNotPresentError):
        await fake.ensure_image("nginx:1.21", "Never")
    info = await fake.ensure_image("nginx:1.21", "IfNotPresent")
    assert info.name == "docker.io/library/nginx:1.21" and info.config == {"Cmd": ["nginx"]}
    assert info.digest.startswith("docker.io/library/nginx@sha256:")
    await fake.ensure_image("nginx:1.21", "IfNotPresent")
    await fake.ensure_image("nginx:1.21", "Always")
    assert fake.pulls == ["docker.io/library/nginx:1.21"] * 2
    with pytest.raises(ImageNotFoundError, match="not found"):
        await fake.pull("nginx:bad")
    fake.fail("nginx:1.21")
    with pytest.raises(ImagePullError):
        await fake.ensure_image("nginx:1.21", "Always")
    assert fake.remove("nginx:1.21") and fake.get("nginx:1.21") is None
    fake.add("busybox")
    assert [i.name for i in fake.list()] == ["docker.io/library/busybox:latest"]
