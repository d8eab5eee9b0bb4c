"""Crafted layers that try to write outside their directory: each is refused or kept inside."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import pytest

from litekube.node.images.unpack import UnsafeLayerError, unpack_layer
from tests.fixtures.images import LayerBuilder, compress, sha256
from tests.node_images.conftest import require_root


def _unpack(where: Path, tar: bytes) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    blob = where / "layer.blob"
    blob.write_bytes(compress(tar, "gzip"))
    dest = where / "layer"
    assert unpack_layer(blob, dest, sha256(tar)) == sha256(tar)
    return dest


def _refused(where: Path, tar: bytes) -> None:
    where.mkdir(parents=True, exist_ok=True)
    blob = where / "layer.blob"
    blob.write_bytes(compress(tar, "gzip"))
    with pytest.raises(UnsafeLayerError):
        unpack_layer(blob, where / "layer", sha256(tar))
    assert sorted(p.name for p in where.iterdir()) == ["layer.blob"]  # no layer, no temporary left


def _entry(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    return info


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the layer with a file that no layer may touch."""
    directory = tmp_path / "outside"
    directory.mkdir(mode=0o755)
    (directory / "victim").write_text("untouched")
    return directory


def _untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (outside / "victim").read_text() == "untouched"
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755


def test_absolute_names_land_inside(tmp_path: Path) -> None:
    layer = LayerBuilder().raw(_entry("/abs", tarfile.DIRTYPE))
    info = _entry("/abs/file", tarfile.REGTYPE)
    info.size = 2
    dest = _unpack(tmp_path, layer.raw(info, b"in").tar_bytes())
    assert (dest / "abs" / "file").read_text() == "in"


@pytest.mark.parametrize("name", ["../escaped", "a/../../escaped", "./../escaped"])
def test_dot_dot_names_refused(tmp_path: Path, name: str) -> None:
    info = _entry(name, tarfile.REGTYPE)
    info.size = 1
    _refused(tmp_path / "w", LayerBuilder().raw(info, b"x").tar_bytes())
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("target", ["absolute", "relative"])
def test_writing_through_a_symlink_refused(tmp_path: Path, outside: Path, target: str) -> None:
    # An absolute symlink must not be followed while unpacking (it means the container's /),
    # and a relative one climbing out neither.
    link = str(outside) if target == "absolute" else "../../outside"
    for number, evil in enumerate(
        [
            LayerBuilder().symlink("lnk", link).raw(_entry("lnk/victim", tarfile.REGTYPE)),
            LayerBuilder().symlink("lnk", link).raw(_entry("lnk/new", tarfile.DIRTYPE)),
            LayerBuilder().symlink("lnk", link).raw(_entry("lnk/.wh.victim", tarfile.REGTYPE)),
            LayerBuilder().symlink("lnk", link).raw(_entry("lnk/.wh..wh..opq", tarfile.REGTYPE)),
            LayerBuilder().symlink("lnk", link).raw(_entry("lnk/sym", tarfile.SYMTYPE, "/x")),
            LayerBuilder().symlink("lnk", link).raw(_entry("lnk/hard", tarfile.LNKTYPE, "lnk")),
        ]
    ):
        _refused(tmp_path / f"w{number}", evil.tar_bytes())
        _untouched(outside)


def test_entries_replace_symlinks_instead_of_following_them(tmp_path: Path, outside: Path) -> None:
    victim = _entry("victim", tarfile.REGTYPE)
    victim.size = 5
    directory = _entry("dir", tarfile.DIRTYPE)
    directory.mode = 0o700
    layer = (
        LayerBuilder()
        .symlink("victim", str(outside / "victim"))
        .raw(victim, b"layer")
        .symlink("dir", str(outside))
        .raw(directory)
    )
    dest = _unpack(tmp_path / "w", layer.tar_bytes())
    assert (dest / "victim").read_text() == "layer" and not (dest / "victim").is_symlink()
    assert (dest / "dir").is_dir() and not (dest / "dir").is_symlink()
    assert stat.S_IMODE((dest / "dir").stat().st_mode) == 0o700
    _untouched(outside)


def test_hard_links_stay_inside(tmp_path: Path, outside: Path) -> None:
    for number, evil in enumerate(
        [
            LayerBuilder().raw(_entry("hard", tarfile.LNKTYPE, "../../outside/victim")),
            # an absolute target is the layer's own path, which does not exist here
            LayerBuilder().raw(_entry("hard", tarfile.LNKTYPE, str(outside / "victim"))),
            # linking to a symlink would link to what it points at
            LayerBuilder()
            .symlink("sym", str(outside / "victim"))
            .raw(_entry("hard", tarfile.LNKTYPE, "sym")),
        ]
    ):
        _refused(tmp_path / f"w{number}", evil.tar_bytes())
    layer = LayerBuilder().file("etc/passwd", "root\n").raw(_entry("again", tarfile.LNKTYPE, "/etc/passwd"))
    dest = _unpack(tmp_path / "inside", layer.tar_bytes())
    assert (dest / "again").stat().st_ino == (dest / "etc/passwd").stat().st_ino
    assert (outside / "victim").stat().st_nlink == 1


@pytest.mark.parametrize("name", [".wh..", ".wh...", "sub/.wh..", "sub/.wh...", "sub/.wh.", ".wh..wh."])
def test_whiteouts_of_dot_names_refused(tmp_path: Path, name: str) -> None:
    # `.wh...` hides "..": clearing it would delete the directory holding the layer.
    keep = tmp_path / "w" / "sibling"
    keep.mkdir(parents=True)
    layer = LayerBuilder().dir("sub").raw(_entry(name, tarfile.REGTYPE))
    if name == ".wh..wh.":  # AUFS metadata: ignored, not a whiteout
        _unpack(tmp_path / "w", layer.tar_bytes())
    else:
        with pytest.raises(UnsafeLayerError):
            blob = tmp_path / "w" / "layer.blob"
            tar = layer.tar_bytes()
            blob.write_bytes(compress(tar, "gzip"))
            unpack_layer(blob, tmp_path / "w" / "layer", sha256(tar))
    assert keep.is_dir() and os.path.isdir(tmp_path / "w")


def test_layer_replacing_its_own_entries(tmp_path: Path) -> None:
    require_root()  # (a whiteout is a device node)
    layer = (
        LayerBuilder()
        .file("d/sub/old", "old")
        .file("f", "file")
        .hardlink("f-link", "f")
        .raw(_entry("d", tarfile.REGTYPE))  # a file where the directory was
        .whiteout("f")  # the layer's own file hidden again
    )
    layer.dirs.discard("d")
    layer.dirs.discard("d/sub")
    layer.file("d/sub/new", "new")  # a directory again, built anew
    layer.symlink("f-link", "d/sub/new")
    dest = _unpack(tmp_path, layer.tar_bytes())
    assert sorted(os.listdir(dest / "d" / "sub")) == ["new"]
    assert stat.S_ISCHR((dest / "f").lstat().st_mode)
    assert os.readlink(dest / "f-link") == "d/sub/new"
    # a hard link to a name whose file was replaced by a symlink is refused
    evil = LayerBuilder().file("a", "a").symlink("a", "/etc/passwd").raw(_entry("b", tarfile.LNKTYPE, "a"))
    _refused(tmp_path / "evil", evil.tar_bytes())
