"""The distribution client against a fake registry: auth flows, digests, platforms, endpoint order."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from litekube.node.images import (
    DigestMismatchError,
    ImageAuthError,
    ImageNotFoundError,
    ImagePullError,
    ImageService,
    Platform,
)
from litekube.node.images.distribution import parse_challenge
from tests.fixtures.images import BUSYBOX_CONFIG, LayerBuilder, tag, write_image
from tests.node_images.fake_registry import PASSWORD, USER, FakeRegistry


def _service(tmp_path: Path, registry: FakeRegistry, **kwargs: object) -> ImageService:
    mirrors = registry.mirrors_yaml(tmp_path / "registries.yaml")
    return ImageService(tmp_path / "data", mirrors, upstream=False, **kwargs)  # type: ignore[arg-type]


def _manifest_digest(layout: Path, name: str = "latest") -> str:
    index = json.loads((layout / "index.json").read_text())
    return str(
        next(
            m["digest"]
            for m in index["manifests"]
            if m["annotations"]["org.opencontainers.image.ref.name"] == name
        )
    )


def test_parse_challenge() -> None:
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:library/nginx:pull",
    }


async def test_anonymous_pull(tmp_path: Path, fake_registry: FakeRegistry, layouts: dict[str, Path]) -> None:
    async with _service(tmp_path, fake_registry) as service:
        info = await service.pull("busybox")
    assert info.name == "docker.io/library/busybox:latest"
    assert info.digest == "docker.io/library/busybox@" + _manifest_digest(layouts["busybox"])
    assert info.config["Cmd"] == ["sh"]
    assert (info.layer_paths[0] / "bin" / "busybox").is_file()
    assert (info.layer_paths[0] / "bin" / "sh").stat().st_ino == (
        info.layer_paths[0] / "bin" / "busybox"
    ).stat().st_ino


async def test_bearer_token_flow(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    fake_registry.auth = "bearer"
    async with _service(tmp_path, fake_registry) as service:
        await service.pull("busybox:latest")
    token_requests = [path for path, _ in fake_registry.requests if path.startswith("/token")]
    # one token for the repository scope, reused for the manifest, config and layer
    assert len(token_requests) == 1
    assert "scope=repository:library/busybox:pull" in unquote(token_requests[0])
    blob_auth = [auth for path, auth in fake_registry.requests if "/blobs/" in path and auth]
    assert blob_auth and all(auth.startswith("Bearer ") for auth in blob_auth)


async def test_bearer_token_with_credentials(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    fake_registry.auth = "bearer"
    fake_registry.require_credentials = True
    async with _service(tmp_path, fake_registry) as service:
        with pytest.raises(ImageAuthError):
            await service.pull("busybox")
        info = await service.pull("busybox", pull_secrets={"docker.io": (USER, PASSWORD)})
    assert info.name == "docker.io/library/busybox:latest"


async def test_basic_auth(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    fake_registry.auth = "basic"
    async with _service(tmp_path, fake_registry) as service:
        with pytest.raises(ImageAuthError) as caught:
            await service.pull("busybox")
        assert caught.value.reason == "ErrImagePull"
        with pytest.raises(ImageAuthError):
            await service.pull("busybox", pull_secrets={fake_registry.host_port: (USER, "wrong")})
        # credentials keyed by the mirror host (as a dockerconfigjson for the mirror would be)
        await service.pull("busybox", pull_secrets={fake_registry.host_port: (USER, PASSWORD)})


async def test_basic_auth_from_mirrors_file(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    fake_registry.auth = "basic"
    mirrors = fake_registry.mirrors_yaml(tmp_path / "registries.yaml")
    mirrors.write_text(
        mirrors.read_text() + f'configs:\n  "{fake_registry.host_port}":\n'
        f"    auth: {{username: {USER}, password: {PASSWORD}}}\n"
    )
    async with ImageService(tmp_path / "data", mirrors, upstream=False) as service:
        await service.pull("busybox")


async def test_blob_digest_mismatch(
    tmp_path: Path, fake_registry: FakeRegistry, layouts: dict[str, Path]
) -> None:
    manifest = json.loads(
        (
            layouts["busybox"] / "blobs" / "sha256" / _manifest_digest(layouts["busybox"]).split(":")[1]
        ).read_text()
    )
    layer = manifest["layers"][0]["digest"]
    fake_registry.corrupt.add(layer)
    async with _service(tmp_path, fake_registry) as service:
        with pytest.raises(DigestMismatchError, match="unexpected commit digest"):
            await service.pull("busybox")
        assert service.get("busybox") is None
    assert not (tmp_path / "data" / "images" / "blobs" / "sha256" / layer.split(":")[1]).exists()
    assert list((tmp_path / "data" / "images" / "blobs" / "sha256").glob(".tmp-*")) == []


async def test_manifest_digest_mismatch(
    tmp_path: Path, fake_registry: FakeRegistry, layouts: dict[str, Path]
) -> None:
    digest = _manifest_digest(layouts["busybox"])
    fake_registry.corrupt.add(digest)
    async with _service(tmp_path, fake_registry) as service:
        with pytest.raises(DigestMismatchError):
            await service.pull(f"busybox@{digest}")
    fake_registry.corrupt.clear()
    fake_registry.wrong_manifest_digest_header = True
    async with _service(tmp_path, fake_registry) as service:
        with pytest.raises(DigestMismatchError, match="manifest digest mismatch"):
            await service.pull("busybox")


async def test_platform_selection(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    async with _service(tmp_path, fake_registry, target=Platform("linux", "amd64")) as service:
        amd64 = await service.pull("multi")
    async with _service(tmp_path / "arm", fake_registry, target=Platform("linux", "arm64", "v8")) as service:
        arm64 = await service.pull("multi")
    assert (amd64.layer_paths[0] / "platform").read_text() == "amd64\n"
    assert (arm64.layer_paths[0] / "platform").read_text() == "arm64\n"
    # imageID is the index digest the tag resolved to, the same for both platforms
    assert amd64.digest == arm64.digest and amd64.manifest_digest != arm64.manifest_digest
    async with _service(tmp_path / "s390", fake_registry, target=Platform("linux", "s390x")) as service:
        with pytest.raises(ImageNotFoundError, match="no match for platform"):
            await service.pull("multi")


async def test_not_found_message(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    async with _service(tmp_path, fake_registry) as service:
        with pytest.raises(ImageNotFoundError) as caught:
            await service.pull("nginx:bad")
    assert str(caught.value) == (
        'failed to pull and unpack image "docker.io/library/nginx:bad": failed to resolve '
        'reference "docker.io/library/nginx:bad": docker.io/library/nginx:bad: not found'
    )


async def test_mirrors_in_order(
    tmp_path: Path, fake_registry: FakeRegistry, layouts: dict[str, Path]
) -> None:
    # A dead mirror first and one without the image second: the third one serves it.
    empty = FakeRegistry({})
    await empty.start()
    try:
        mirrors = tmp_path / "registries.yaml"
        mirrors.write_text(
            f'mirrors:\n  docker.io:\n    endpoint: ["http://127.0.0.1:1", "{empty.url}", '
            f'"{fake_registry.url}"]\n'
        )
        async with ImageService(tmp_path / "data", mirrors, upstream=False) as service:
            await service.pull("busybox")
        assert any("/manifests/" in path for path, _ in empty.requests)
    finally:
        await empty.close()
    unreachable = tmp_path / "dead.yaml"
    unreachable.write_text('mirrors:\n  docker.io:\n    endpoint: ["http://127.0.0.1:1"]\n')
    async with ImageService(tmp_path / "data2", unreachable, upstream=False) as service:
        with pytest.raises(ImagePullError, match=r"127\.0\.0\.1:1"):
            await service.pull("busybox")


@pytest.mark.parametrize("compression", ["zstd", "none"])
async def test_layer_compressions(tmp_path: Path, fake_registry: FakeRegistry, compression: str) -> None:
    layout = tmp_path / "layout"
    layer = LayerBuilder().file("etc/hello", "hi\n").symlink("etc/link", "hello").tar_bytes()
    tag(layout, write_image(layout, [layer], BUSYBOX_CONFIG, compression=compression), "latest")
    fake_registry.layouts["library/compressed"] = layout
    async with _service(tmp_path, fake_registry) as service:
        info = await service.pull("compressed")
    assert (info.layer_paths[0] / "etc" / "hello").read_text() == "hi\n"
    assert (info.layer_paths[0] / "etc" / "link").readlink() == Path("hello")


async def test_diff_id_mismatch(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    layout = tmp_path / "layout"
    layer = LayerBuilder().file("a", "a").tar_bytes()
    descriptor = write_image(layout, [layer], BUSYBOX_CONFIG)
    # Rewrite the config to claim another diff_id (and the manifest to point at that config).
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / descriptor["digest"].split(":")[1]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    config["rootfs"]["diff_ids"] = ["sha256:" + "0" * 64]
    from tests.fixtures.images import _write_blob

    manifest["config"].update(_write_blob(layout, json.dumps(config).encode()))
    tag(
        layout,
        {"mediaType": manifest["mediaType"], **_write_blob(layout, json.dumps(manifest).encode())},
        "latest",
    )
    fake_registry.layouts["library/lying"] = layout
    async with _service(tmp_path, fake_registry) as service:
        with pytest.raises(DigestMismatchError, match="image config says"):
            await service.pull("lying")
