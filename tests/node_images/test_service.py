"""ImageService end to end: the local docker-registry through the mirrors file, policies, import, removal."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from litekube.node.images import (
    ImageError,
    ImageNotPresentError,
    ImageService,
    InvalidImageNameError,
    mount_rootfs,
    unmount_rootfs,
)
from tests.fixtures.images import LocalRegistry, local_registry  # noqa: F401
from tests.node_images.conftest import require_root
from tests.node_images.fake_registry import FakeRegistry


async def test_seed_names_resolve_through_mirror(tmp_path: Path, local_registry: LocalRegistry) -> None:  # noqa: F811
    mirrors = local_registry.mirrors_yaml(tmp_path / "data" / "registries.yaml")
    async with ImageService(tmp_path / "data", upstream=False) as service:  # default mirrors path
        assert service.mirrors_path == mirrors
        nginx = await service.ensure_image("nginx:1.21", "IfNotPresent")
        busybox = await service.ensure_image("busybox", "Always")
    assert nginx.name == "docker.io/library/nginx:1.21"
    assert nginx.digest == "docker.io/library/nginx@" + local_registry.manifest_digest("library/nginx:1.21")
    assert nginx.config["Cmd"] == ["nginx", "-g", "daemon off;"]
    assert nginx.config["ExposedPorts"] == {"80/tcp": {}}
    # the busybox base layer is stored once and shared by both images
    assert busybox.layer_paths[0] == nginx.layer_paths[0]
    assert len({p.name for p in (tmp_path / "data/images/layers").iterdir()}) == 2
    top = nginx.layer_paths[1]
    assert (top / "usr/sbin/nginx").is_file() and (top / "etc/nginx/nginx.conf").is_file()
    assert b"www-data" in (top / "etc/passwd").read_bytes()
    async with ImageService(tmp_path / "data", upstream=False) as service:
        sidecar = await service.pull("fluent/fluent-bit:1.8")  # seed 02's sidecar, a busybox stand-in
    assert sidecar.config["Cmd"][-1].endswith("tail -F /logs/access.log")


@pytest.mark.root
async def test_nginx_image_runs_nginx(tmp_path: Path, local_registry: LocalRegistry) -> None:  # noqa: F811
    require_root("chroot")
    mirrors = local_registry.mirrors_yaml(tmp_path / "registries.yaml")
    async with ImageService(tmp_path / "data", mirrors, upstream=False) as service:
        nginx = await service.pull("nginx:1.21")
    try:
        rootfs = mount_rootfs(nginx, tmp_path / "container")
        # every library nginx links is in the image, and its config is valid there
        checked = subprocess.run(
            ["chroot", str(rootfs), "nginx", "-t"], capture_output=True, text=True, timeout=10
        )
        assert checked.returncode == 0, checked.stderr
        shell = subprocess.run(
            ["chroot", str(rootfs), "sh", "-c", "id -u nobody; stat -c %a /tmp"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert shell.stdout.split() == ["65534", "1777"]
    finally:
        unmount_rootfs(tmp_path / "container")


async def test_multi_arch_index_from_registry(tmp_path: Path, local_registry: LocalRegistry) -> None:  # noqa: F811
    async with ImageService(
        tmp_path, local_registry.mirrors_yaml(tmp_path / "m.yaml"), upstream=False
    ) as service:
        info = await service.pull("multi")
    assert info.digest.endswith(local_registry.manifest_digest("library/multi:latest"))
    assert info.manifest_digest != info.digest.split("@")[1]
    assert (info.layer_paths[0] / "platform").read_text().strip() in ("amd64", "arm64")


async def test_pull_policies(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    mirrors = fake_registry.mirrors_yaml(tmp_path / "registries.yaml")
    async with ImageService(tmp_path / "data", mirrors, upstream=False) as service:
        with pytest.raises(ImageNotPresentError) as caught:
            await service.ensure_image("busybox", "Never")
        assert str(caught.value) == 'Container image "busybox" is not present with pull policy of Never'
        assert caught.value.reason == "ErrImageNeverPull"
        assert fake_registry.requests == []

        await service.ensure_image("busybox", "IfNotPresent")
        manifests = lambda: sum("/manifests/" in p for p, _ in fake_registry.requests)  # noqa: E731
        assert manifests() == 1
        await service.ensure_image("busybox:latest", "IfNotPresent")
        present = await service.ensure_image("docker.io/library/busybox", "Never")
        assert present.ref == "docker.io/library/busybox" and manifests() == 1
        await service.ensure_image("busybox", "Always")
        assert manifests() == 2  # Always asks the registry again (and downloads nothing new)
        assert sum("/blobs/sha256" in p for p, _ in fake_registry.requests) == 3  # config twice, layer once
        with pytest.raises(InvalidImageNameError):
            await service.ensure_image("Busybox", "IfNotPresent")
        with pytest.raises(ImageError):
            await service.ensure_image("busybox", "Sometimes")


async def test_concurrent_pulls_share_one(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    mirrors = fake_registry.mirrors_yaml(tmp_path / "registries.yaml")
    async with ImageService(tmp_path / "data", mirrors, upstream=False) as service:
        results = await asyncio.gather(*(service.pull("nginx:latest") for _ in range(5)))
    assert len({r.digest for r in results}) == 1
    assert sum("/manifests/" in p for p, _ in fake_registry.requests) == 1


async def test_pull_by_digest_and_remove(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    mirrors = fake_registry.mirrors_yaml(tmp_path / "registries.yaml")
    async with ImageService(tmp_path / "data", mirrors, upstream=False) as service:
        nginx = await service.pull("nginx")
        busybox = await service.pull("busybox")
        digest_ref = f"docker.io/library/nginx@{nginx.manifest_digest}"
        assert service.get(digest_ref) is not None  # a digest finds the tagged record
        assert [i.name for i in service.list()] == [
            "docker.io/library/busybox:latest",
            "docker.io/library/nginx:latest",
        ]
        assert service.remove("nginx")
        assert not service.remove("nginx")
        assert service.get("nginx") is None
        # the shared base layer stays for busybox; nginx's own layer and blobs are gone
        assert busybox.layer_paths[0].is_dir() and not nginx.layer_paths[1].exists()
        assert not (tmp_path / "data/images/blobs/sha256" / nginx.id.split(":")[1]).exists()
    # the index survives a restart
    reopened = ImageService(tmp_path / "data", mirrors, upstream=False)
    assert [i.name for i in reopened.list()] == ["docker.io/library/busybox:latest"]


def _skopeo(*args: str) -> None:
    if shutil.which("skopeo") is None:
        pytest.skip("needs skopeo")
    subprocess.run(["skopeo", "--insecure-policy", "copy", "--quiet", *args], check=True, capture_output=True)


async def test_import_docker_archive(tmp_path: Path, layouts: dict[str, Path]) -> None:
    archive = tmp_path / "nginx.tar"
    _skopeo(f"oci:{layouts['nginx']}:latest", f"docker-archive:{archive}:nginx:1.21")
    with tarfile.open(archive) as tar:
        assert "manifest.json" in tar.getnames()
    async with ImageService(tmp_path / "data", upstream=False) as service:
        (info,) = await service.import_archive(archive)
        assert info.name == "docker.io/library/nginx:1.21"
        assert info.config["Cmd"] == ["nginx", "-g", "daemon off;"]
        assert (info.layer_paths[1] / "usr/sbin/nginx").is_file()
        assert (await service.ensure_image("nginx:1.21", "Never")).id == info.id


async def test_import_oci_archive(tmp_path: Path, layouts: dict[str, Path]) -> None:
    archive = tmp_path / "busybox-oci.tar"
    _skopeo(f"oci:{layouts['busybox']}:latest", f"oci-archive:{archive}:1.36")
    async with ImageService(tmp_path / "data", upstream=False) as service:
        with pytest.raises(ImageError, match="pass a name"):
            await service.import_archive(archive)
        (info,) = await service.import_archive(archive, name="busybox")
        assert info.name == "docker.io/library/busybox:1.36"
        assert (info.layer_paths[0] / "bin/busybox").is_file()
        # a full name in the annotation needs no --name; a multi-platform index picks our platform
        full = tmp_path / "multi-oci.tar"
        _skopeo("--all", f"oci:{layouts['multi']}:latest", f"oci-archive:{full}:127.0.0.1:5000/team/multi:v1")
        (multi,) = await service.import_archive(full)
        assert multi.name == "127.0.0.1:5000/team/multi:v1"
        assert multi.digest.split("@")[1] != multi.manifest_digest
        bad = tmp_path / "bad.tar"
        with tarfile.open(bad, "w") as tar:
            tar.add(tmp_path / "busybox-oci.tar", arcname="something.tar")
        with pytest.raises(ImageError, match="neither a docker-archive"):
            await service.import_archive(bad)


def test_index_is_plain_json(tmp_path: Path) -> None:
    service = ImageService(tmp_path)
    assert service.list() == []
    service.store.put_record(
        "docker.io/library/x:1",
        {
            "repository": "docker.io/library/x",
            "repo_digest": "docker.io/library/x@sha256:" + "1" * 64,
            "manifest_digest": "sha256:" + "1" * 64,
            "id": "sha256:" + "2" * 64,
            "config": {},
            "size": 1,
            "layers": [],
            "diff_ids": [],
        },
    )
    data = json.loads((tmp_path / "images/index.json").read_text())
    assert list(data["images"]) == ["docker.io/library/x:1"]
    assert service.get("x:1") is not None  # no layers: present as soon as the record is
