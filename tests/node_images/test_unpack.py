"""Layer unpacking (whiteouts, opaque dirs, links, ownership, safety) and the overlay rootfs."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import pytest

from litekube.node.images import ImageInfo, ImagePullError, mount_rootfs, unmount_rootfs
from litekube.node.images.rootfs import mount_point_type
from litekube.node.images.store import ContentStore
from litekube.node.images.unpack import UnsafeLayerError, unpack_layer
from tests.fixtures.images import LayerBuilder, compress, sha256
from tests.node_images.conftest import require_root


def _unpack(tmp_path: Path, tar: bytes, name: str = "layer", compression: str = "gzip") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    blob = tmp_path / f"{name}.blob"
    blob.write_bytes(compress(tar, compression))
    dest = tmp_path / name
    assert unpack_layer(blob, dest, sha256(tar)) == sha256(tar)
    return dest


def _lower() -> bytes:
    layer = LayerBuilder()
    layer.file("etc/a", "a\n").file("etc/b", "b\n").file("data/x", "x").file("data/y", "y").file("keep", "k")
    layer.file("usr/bin/tool", "#!/bin/sh\n", mode=0o4755, uid=1000, gid=1000)
    layer.hardlink("usr/bin/tool-link", "usr/bin/tool")
    layer.symlink("etc/alink", "/etc/a").chardev("dev/null", 1, 3)
    fifo = tarfile.TarInfo("run/fifo")
    fifo.type, fifo.mode = tarfile.FIFOTYPE, 0o600
    layer.dir("run").raw(fifo)
    return layer.tar_bytes()


def _upper() -> bytes:
    return (
        LayerBuilder().whiteout("etc/a").opaque("data").file("data/z", "z").file("etc/c", "c\n").tar_bytes()
    )


@pytest.mark.root
def test_lower_layer_contents(tmp_path: Path) -> None:
    require_root()
    lower = _unpack(tmp_path, _lower())
    tool = lower / "usr/bin/tool"
    info = tool.stat()
    assert (info.st_uid, info.st_gid) == (1000, 1000)
    assert stat.S_IMODE(info.st_mode) == 0o4755  # setuid kept: chmod after chown
    assert (lower / "usr/bin/tool-link").stat().st_ino == info.st_ino
    assert os.readlink(lower / "etc/alink") == "/etc/a"
    assert not (lower / "dev/null").exists()  # device nodes are skipped
    assert stat.S_ISFIFO((lower / "run/fifo").lstat().st_mode)


@pytest.mark.root
def test_whiteouts_as_overlayfs_markers(tmp_path: Path) -> None:
    require_root()
    upper = _unpack(tmp_path, _upper(), "upper")
    whiteout = (upper / "etc/a").lstat()
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == os.makedev(0, 0)
    assert not (upper / "etc/.wh.a").exists()
    assert os.getxattr(upper / "data", "trusted.overlay.opaque") == b"y"
    assert not (upper / "data/.wh..wh..opq").exists()


@pytest.mark.root
def test_overlay_rootfs(tmp_path: Path) -> None:
    require_root()
    lower, upper = _unpack(tmp_path, _lower()), _unpack(tmp_path, _upper(), "upper")
    image = ImageInfo(
        ref="t",
        name="t",
        repository="t",
        digest="t",
        id="t",
        manifest_digest="t",
        config={},
        size=0,
        diff_ids=("a", "b"),
        layer_paths=(lower, upper),
    )
    container = tmp_path / "container"
    try:
        rootfs = mount_rootfs(image, container)
        assert mount_rootfs(image, container) == rootfs  # idempotent: no second mount
        assert mount_point_type(rootfs) == "overlay"
        assert sorted(p.name for p in (rootfs / "etc").iterdir()) == ["alink", "b", "c"]
        assert sorted(p.name for p in (rootfs / "data").iterdir()) == ["z"]
        assert (rootfs / "keep").read_text() == "k"
        (rootfs / "written").write_text("w")
        assert (container / "upper" / "written").read_text() == "w"
        assert not (lower / "written").exists()
        mounts = Path("/proc/self/mountinfo").read_text().count(str(rootfs) + " ")
        assert mounts == 1
    finally:
        unmount_rootfs(container)
    assert mount_point_type(container / "rootfs") is None
    unmount_rootfs(container)  # again: nothing to do
    unmount_rootfs(tmp_path / "never-mounted")


def test_missing_layer_refused(tmp_path: Path) -> None:
    image = ImageInfo(
        ref="t",
        name="t",
        repository="t",
        digest="t",
        id="t",
        manifest_digest="t",
        config={},
        size=0,
        diff_ids=("a",),
        layer_paths=(tmp_path / "gone",),
    )
    with pytest.raises(OSError, match="missing"):
        mount_rootfs(image, tmp_path / "c")


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_compressions(tmp_path: Path, compression: str) -> None:
    tar = LayerBuilder().file("f", "data").tar_bytes()
    assert (_unpack(tmp_path, tar, compression=compression) / "f").read_text() == "data"


def _evil(info: tarfile.TarInfo, data: bytes = b"") -> bytes:
    layer = LayerBuilder()
    info.size = len(data)
    return layer.raw(info, data).tar_bytes()


def test_path_traversal_refused(tmp_path: Path) -> None:
    escape = tarfile.TarInfo("../../escaped")
    with pytest.raises(UnsafeLayerError):
        _unpack(tmp_path / "a", _evil(escape, b"x"))
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()
    assert not (tmp_path / "a" / "layer").exists()  # nothing half-unpacked is left in place

    outside = tmp_path / "outside"
    outside.mkdir()
    layer = LayerBuilder().symlink("lnk", str(outside))
    layer.dirs.add("lnk")  # no directory entry for lnk: the next entry goes "through" the symlink
    through_link = layer.file("lnk/owned", "x").tar_bytes()
    with pytest.raises(UnsafeLayerError):
        _unpack(tmp_path / "b", through_link)
    assert not (outside / "owned").exists()

    link = tarfile.TarInfo("hard")
    link.type, link.linkname = tarfile.LNKTYPE, "../../../etc/passwd"
    with pytest.raises(UnsafeLayerError):
        _unpack(tmp_path / "c", _evil(link))


def test_corrupt_layer(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(compress(b"not a tar" * 100, "gzip"))
    with pytest.raises(ImagePullError):
        unpack_layer(blob, tmp_path / "dest")


def test_store_cleans_crash_leftovers(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    (store.blobs / ".tmp-abc").write_bytes(b"half")
    (store.layers / ".tmp-def-1").mkdir()
    ContentStore(tmp_path)
    assert list(store.blobs.iterdir()) == [] and list(store.layers.iterdir()) == []


def test_gzip_members_and_truncation(tmp_path: Path) -> None:
    import gzip

    tar = LayerBuilder().file("big", "x" * 3_000_000).file("small", "s").tar_bytes()
    # concatenated members (pigz -p style) with zero padding after the last one
    blob = tmp_path / "multi.blob"
    blob.write_bytes(gzip.compress(tar[:700_000]) + gzip.compress(tar[700_000:]) + b"\0" * 16)
    dest = tmp_path / "multi"
    assert unpack_layer(blob, dest, sha256(tar)) == sha256(tar)
    assert (dest / "big").stat().st_size == 3_000_000 and (dest / "small").read_text() == "s"

    whole = gzip.compress(tar)
    cut = tmp_path / "cut.blob"
    cut.write_bytes(whole[: len(whole) - 40])
    with pytest.raises(ImagePullError):
        unpack_layer(cut, tmp_path / "cut")
    assert not (tmp_path / "cut").exists()
