"""Unpacking a layer from its download as the chunks arrive (LayerFeed), and the pulls that use it."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from litekube.node.images import DigestMismatchError, ImageService
from litekube.node.images.feed import LayerFeed, LayerFeedAborted
from litekube.node.images.unpack import UnsafeLayerError, unpack_stream
from tests.fixtures.images import BUSYBOX_CONFIG, LayerBuilder, compress, sha256, tag, write_image
from tests.node_images.fake_registry import FakeRegistry


def _layer() -> bytes:
    layer = LayerBuilder().file("etc/hello", "hi\n").symlink("etc/link", "hello")
    return layer.file("big", os.urandom(300_000)).hardlink("big-link", "big").tar_bytes()


def _feed_in_pieces(feed: LayerFeed, blob: bytes, sizes: tuple[int, ...]) -> None:
    position = 0
    for number in range(len(blob)):
        if position >= len(blob):
            break
        size = sizes[number % len(sizes)]
        feed.put(blob[position : position + size])
        position += size


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
async def test_unpack_from_chunks(tmp_path: Path, compression: str) -> None:
    tar = _layer()
    feed = LayerFeed(asyncio.get_running_loop())
    _feed_in_pieces(feed, compress(tar, compression), (1, 3, 7, 4096, 65536, 100_000))
    feed.finish()
    dest = tmp_path / "layer"
    assert await asyncio.to_thread(unpack_stream, feed, dest, sha256(tar), "test") == sha256(tar)
    assert (dest / "etc/hello").read_text() == "hi\n" and (dest / "etc/link").readlink() == Path("hello")
    assert (dest / "big").stat().st_size == 300_000
    assert (dest / "big-link").stat().st_ino == (dest / "big").stat().st_ino


async def test_layer_appears_only_after_finish(tmp_path: Path) -> None:
    # Every byte is there but the download has not vouched for the blob's digest yet.
    tar = _layer()
    feed = LayerFeed(asyncio.get_running_loop())
    feed.put(compress(tar, "gzip"))
    dest = tmp_path / "layer"
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(unpack_stream(feed, dest, sha256(tar), "t")))
    thread.start()
    thread.join(0.3)
    assert thread.is_alive() and not dest.exists()
    feed.finish()
    thread.join(10)
    assert result == [sha256(tar)] and dest.is_dir()


async def test_aborted_download_leaves_nothing(tmp_path: Path) -> None:
    blob = compress(_layer(), "gzip")
    feed = LayerFeed(asyncio.get_running_loop())
    feed.put(blob[: len(blob) // 2])
    feed.abort("connection reset")
    feed.put(blob[len(blob) // 2 :])  # (ignored after the end)
    with pytest.raises(LayerFeedAborted, match="connection reset"):
        await asyncio.to_thread(unpack_stream, feed, tmp_path / "layer", None, "t")
    assert os.listdir(tmp_path) == []


async def test_download_waits_for_a_slow_unpacker() -> None:
    feed = LayerFeed(asyncio.get_running_loop(), limit=100)
    feed.put(b"a" * 60)
    await asyncio.wait_for(feed.room(), 5)  # below the limit: no wait
    feed.put(b"b" * 60)
    waiting = asyncio.ensure_future(feed.room())
    await asyncio.sleep(0)
    assert not waiting.done()
    assert await asyncio.to_thread(feed.read, 1000) == b"a" * 60
    await asyncio.wait_for(waiting, 5)
    feed.stop_reading()  # an unpacker that gave up: the download goes on without waiting
    feed.put(b"c" * 500)
    await asyncio.wait_for(feed.room(), 5)


def _image(tmp_path: Path, registry: FakeRegistry, name: str, tar: bytes) -> str:
    layout = tmp_path / f"layout-{name}"
    descriptor = write_image(layout, [tar], BUSYBOX_CONFIG)
    tag(layout, descriptor, "latest")
    registry.layouts[f"library/{name}"] = layout
    return str(descriptor["digest"])


@pytest.mark.timeout(30)
async def test_unsafe_layer_fails_the_pull_without_stalling_the_download(
    tmp_path: Path, fake_registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The unpack stops at the first entry while most of the blob is still to come, more of it
    # than the feed holds: the download must finish (not wait for room forever).
    escape = tarfile.TarInfo("../escaped")
    tar = LayerBuilder().raw(escape).file("filler", os.urandom(2_000_000)).tar_bytes()
    _image(tmp_path, fake_registry, "evil", tar)
    monkeypatch.setattr("litekube.node.images.service.LayerFeed", functools.partial(LayerFeed, limit=4096))
    mirrors = fake_registry.mirrors_yaml(tmp_path / "registries.yaml")
    async with ImageService(tmp_path / "data", mirrors, upstream=False) as service:
        with pytest.raises(UnsafeLayerError):
            await service.pull("evil")
        assert service.get("evil") is None
    assert list((tmp_path / "data/images/layers").iterdir()) == []
    assert not (tmp_path / "escaped").exists()


async def test_corrupt_blob_leaves_no_layer(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    tar = _layer()
    _image(tmp_path, fake_registry, "corrupt", tar)
    fake_registry.corrupt.add(sha256(compress(tar, "gzip")))
    mirrors = fake_registry.mirrors_yaml(tmp_path / "registries.yaml")
    async with ImageService(tmp_path / "data", mirrors, upstream=False) as service:
        with pytest.raises(DigestMismatchError, match="unexpected commit digest"):
            await service.pull("corrupt")
    assert list((tmp_path / "data/images/layers").iterdir()) == []


async def test_retried_blob_unpacks_from_the_store(tmp_path: Path, fake_registry: FakeRegistry) -> None:
    # The first mirror has the manifest but not the blob: the streamed unpack is abandoned and
    # the layer is unpacked from the blob the second mirror gave.
    tar = _layer()
    _image(tmp_path, fake_registry, "retried", tar)
    first = FakeRegistry(dict(fake_registry.layouts), missing_blobs={sha256(compress(tar, "gzip"))})
    await first.start()
    try:
        mirrors = tmp_path / "registries.yaml"
        mirrors.write_text(f'mirrors:\n  docker.io:\n    endpoint: ["{first.url}", "{fake_registry.url}"]\n')
        async with ImageService(tmp_path / "data", mirrors, upstream=False) as service:
            info = await service.pull("retried")
    finally:
        await first.close()
    assert any("/blobs/" in path for path, _ in first.requests)
    assert (info.layer_paths[0] / "big").stat().st_size == 300_000
    assert [p.name for p in (tmp_path / "data/images/layers").iterdir()] == [sha256(tar).split(":")[1]]


async def test_zstd_tool_when_the_binding_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("zstd") is None:
        pytest.skip("needs the zstd tool")
    monkeypatch.setitem(sys.modules, "zstandard", None)  # `import zstandard` now fails
    tar = _layer()
    blob = compress(tar, "zstd")
    feed = LayerFeed(asyncio.get_running_loop())
    _feed_in_pieces(feed, blob, (5000,))
    feed.finish()
    assert await asyncio.to_thread(unpack_stream, feed, tmp_path / "layer", sha256(tar), "t") == sha256(tar)
    assert (tmp_path / "layer/etc/hello").read_text() == "hi\n"

    cut = LayerFeed(asyncio.get_running_loop())
    cut.put(blob[: len(blob) // 2])
    cut.abort("connection reset")
    with pytest.raises(LayerFeedAborted):  # the download's failure, not zstd's complaint
        await asyncio.to_thread(unpack_stream, cut, tmp_path / "cut", None, "t")
    assert "cut" not in os.listdir(tmp_path)


async def test_failed_pull_stops_the_other_layers_unpacks(
    tmp_path: Path, fake_registry: FakeRegistry
) -> None:
    # One layer is half downloaded (and half unpacked) when the other one turns out corrupt:
    # the pull fails at once, and the cancelled layer's unpack thread is waited for and cleans up.
    held, corrupt = _layer(), LayerBuilder().file("other", "x").tar_bytes()
    layout = tmp_path / "layout"
    tag(layout, write_image(layout, [held, corrupt], BUSYBOX_CONFIG), "latest")
    fake_registry.layouts["library/two"] = layout
    fake_registry.held_blobs.add(sha256(compress(held, "gzip")))
    fake_registry.corrupt.add(sha256(compress(corrupt, "gzip")))
    mirrors = fake_registry.mirrors_yaml(tmp_path / "registries.yaml")
    async with ImageService(tmp_path / "data", mirrors, upstream=False) as service:
        with pytest.raises(DigestMismatchError):
            await service.pull("two")
        assert os.listdir(tmp_path / "data/images/layers") == []
        fake_registry.release.set()
        fake_registry.held_blobs.clear()
        fake_registry.corrupt.clear()
        info = await service.pull("two")  # and a new pull completes
    assert (info.layer_paths[0] / "etc/hello").read_text() == "hi\n"
