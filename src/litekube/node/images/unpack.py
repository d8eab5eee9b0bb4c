"""Unpacking one layer tarball into its own directory, in the form overlayfs wants for a lower layer.

    source ─▶ decompress ─▶ queue ─▶ hash (diff_id) ─▶ tar entries ─▶ <tmp dir> ─▶ rename
             (decompress.py, in a      (the calling thread)
              thread: readahead.py)

The source is the stored blob, or the LayerFeed of its download while it arrives (feed.py),
whose end comes only once the blob's digest checked out; the directory is renamed to its
place after that end and a matching diff_id.

Each layer is unpacked once, into `layers/<diff_id>/`, and shared by every container whose
image has it; overlayfs stacks the layer directories. The OCI whiteouts of a layer become
overlayfs' own markers there:

    .wh.<name>        (delete <name> from lower layers) → character device 0/0 named <name>
    .wh..wh..opq      (hide the lower content of this dir) → xattr trusted.overlay.opaque=y on the dir

Safety: entry names are relative to the layer root; a name with `..` or one that passes
through a symlink created by the layer is refused (the layer is rejected), so is a whiteout
of "." or "..", hard links may only point at a regular file of the layer itself, symlinks are
created as they are and never followed, and block/character devices are skipped (runc
provides /dev).
Ownership, permissions (set after chown, which clears setuid), mtimes, symlinks, hard
links, FIFOs and `SCHILY.xattr.*` extended attributes (e.g. file capabilities) are kept.
The uncompressed stream is hashed as it is read and must match the image config's diff_id.
The tar entries are read with `tarfile` in stream mode but written by `_Unpacker` (never
`extract()`), which knows everything in the directory is its own work.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
import tarfile
import threading
from pathlib import Path
from typing import IO, cast

from litekube.node.images.decompress import READ, Source, decompressed
from litekube.node.images.errors import DigestMismatchError, ImagePullError
from litekube.node.images.readahead import read_ahead

log = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"


class UnsafeLayerError(ImagePullError):
    pass


class _HashingReader:
    """A read-only stream that hashes what passes through it (the layer's diff_id)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.hasher = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.source.read(size)
        self.hasher.update(data)
        return data

    def drain(self) -> str:
        while self.read(READ):
            pass
        return "sha256:" + self.hasher.hexdigest()


class _Unpacker:
    """Writes tar entries under `root`, a directory that starts empty and that only it writes.

    Because of that it knows what it made at each path (`kinds`) and skips the lstat a path
    it never made would need (most entries), and it can tell a regular file of this layer,
    the only thing a hard link may point at, without asking the filesystem.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.as_root = os.geteuid() == 0
        self.real_dirs: set[str] = {""}
        self.kinds: dict[str, str] = {}  # relative path → "d" (directory), "f" (regular file), "o" (other)
        self.dir_times: list[tuple[str, float]] = []

    def _path(self, name: str) -> tuple[str, str]:
        """(relative path, absolute path) for a tar name, refusing escapes and symlinked parents."""
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if not parts:
            return "", str(self.root)
        if ".." in parts:
            raise UnsafeLayerError(f"layer entry {name!r} escapes the layer root")
        relative = "/".join(parts)
        for end in range(1, len(parts)):
            prefix = "/".join(parts[:end])
            if prefix in self.real_dirs:
                continue
            absolute = os.path.join(self.root, prefix)
            try:
                mode = os.lstat(absolute).st_mode
            except FileNotFoundError:
                os.mkdir(absolute, 0o755)
                self.kinds[prefix] = "d"
                mode = stat.S_IFDIR
            if not stat.S_ISDIR(mode):
                raise UnsafeLayerError(f"layer entry {name!r} passes through a non-directory {prefix!r}")
            self.real_dirs.add(prefix)
        return relative, os.path.join(self.root, relative)

    def _forget(self, relative: str) -> None:
        """`relative` and all below it are gone (or are about to be replaced)."""
        self.kinds.pop(relative, None)
        self.real_dirs.discard(relative)
        below = relative + "/"
        if any(k.startswith(below) for k in self.kinds):  # (rare: a layer replacing its own dir)
            for key in [k for k in self.kinds if k.startswith(below)]:
                del self.kinds[key]
            self.real_dirs.difference_update([d for d in self.real_dirs if d.startswith(below)])

    def _clear(self, relative: str, path: str, keep_dir: bool = False) -> None:
        """Remove what this layer made earlier at `relative` (nothing else can be there)."""
        if relative not in self.kinds:
            return
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            self._forget(relative)
            return
        if stat.S_ISDIR(mode):
            if keep_dir:
                return
            shutil.rmtree(path)
        else:
            os.unlink(path)
        self._forget(relative)

    def _attributes(self, path: str, member: tarfile.TarInfo, is_link: bool = False) -> None:
        if self.as_root:
            os.lchown(path, member.uid, member.gid)
        for key, value in member.pax_headers.items():
            if key.startswith("SCHILY.xattr."):
                try:
                    os.setxattr(
                        path,
                        key[len("SCHILY.xattr.") :],
                        value.encode("utf-8", "surrogateescape"),
                        follow_symlinks=False,
                    )
                except OSError as error:
                    log.debug("xattr %s on %s: %s", key, path, error)
        if not is_link:
            os.chmod(path, member.mode & 0o7777)
            os.utime(path, (member.mtime, member.mtime))
        else:
            with contextlib.suppress(OSError, NotImplementedError):
                os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)

    def entry(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        relative, path = self._path(member.name)
        if not relative:
            return  # "./": the layer root itself, whose attributes overlayfs never shows
        base = os.path.basename(relative)
        parent = os.path.dirname(path)
        if base == OPAQUE_MARKER:
            os.setxattr(parent, OPAQUE_XATTR, b"y")
            return
        if base.startswith(WHITEOUT_PREFIX):
            if base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
                return  # other AUFS metadata (.wh..wh.plnk and friends): meaningless here
            hidden = base[len(WHITEOUT_PREFIX) :]
            if hidden in ("", ".", ".."):
                # `.wh..` would name the parent's parent: clearing it would delete outside the layer.
                raise UnsafeLayerError(
                    f"layer entry {member.name!r} is a whiteout of {hidden or 'nothing'!r}"
                )
            hidden_relative = os.path.join(os.path.dirname(relative), hidden)
            target = os.path.join(parent, hidden)
            self._clear(hidden_relative, target)
            os.mknod(target, stat.S_IFCHR | 0o600, os.makedev(0, 0))
            self.kinds[hidden_relative] = "o"
            return
        if member.isdir():
            self._clear(relative, path, keep_dir=True)
            if self.kinds.get(relative) != "d":
                os.mkdir(path, 0o755)
                self.kinds[relative] = "d"
            self.real_dirs.add(relative)
            self._attributes(path, member)
            self.dir_times.append((path, member.mtime))
            return
        self._clear(relative, path)
        self.kinds[relative] = "f" if member.isreg() or member.islnk() else "o"
        if member.isreg():
            source = tar.extractfile(member)
            assert source is not None
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, READ)
            self._attributes(path, member)
        elif member.issym():
            os.symlink(member.linkname, path)
            self._attributes(path, member, is_link=True)
        elif member.islnk():
            target_relative, target = self._path(member.linkname)
            if target_relative == relative or self.kinds.get(target_relative) != "f":
                raise UnsafeLayerError(
                    f"hard link {member.name!r} points outside the layer's files: {member.linkname!r}"
                )
            os.link(target, path, follow_symlinks=False)
        elif member.isfifo():
            os.mkfifo(path, 0o600)
            self._attributes(path, member)
        elif member.ischr() or member.isblk():
            log.debug("skipping device node %s in layer", member.name)
        else:
            log.debug("skipping tar entry %s of type %r", member.name, member.type)

    def finish(self) -> None:
        # Directory mtimes last: creating their entries changed them.
        for path, mtime in reversed(self.dir_times):
            with contextlib.suppress(OSError):
                os.utime(path, (mtime, mtime))


def unpack_layer(blob: Path, dest: Path, expected_diff_id: str | None = None) -> str:
    """Unpack the stored blob `blob` into the new directory `dest`; return the layer's diff_id."""
    with open(blob, "rb", buffering=0) as raw:
        return unpack_stream(raw, dest, expected_diff_id, blob.name)


def unpack_stream(source: Source, dest: Path, expected_diff_id: str | None, label: str) -> str:
    """Unpack the layer blob read from `source` into the new directory `dest`; return its diff_id
    (the sha256 of the uncompressed tar). `label` names the layer in errors.

    `dest` is filled under a temporary name and renamed only when the whole source was read
    (for a download: its digest checked out) and the diff_id matched, so a crash or a bad
    layer never leaves a half layer in place.
    """
    tmp = dest.with_name(f".tmp-{dest.name}-{os.getpid()}-{threading.get_ident()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(mode=0o755, parents=True)
    try:
        unpacker = _Unpacker(tmp)
        with decompressed(source, label) as compressed, read_ahead(compressed) as stream:
            hashing = _HashingReader(stream)
            try:
                with tarfile.open(fileobj=cast(IO[bytes], hashing), mode="r|", bufsize=READ) as tar:
                    for member in tar:
                        unpacker.entry(tar, member)
            except tarfile.TarError as error:
                raise ImagePullError(f"layer {label}: not a valid tar stream: {error}") from error
            diff_id = hashing.drain()
        unpacker.finish()
        if expected_diff_id is not None and diff_id != expected_diff_id:
            raise DigestMismatchError(
                f"layer {label}: uncompressed content is {diff_id}, image config says {expected_diff_id}"
            )
        try:
            os.rename(tmp, dest)
        except OSError:
            if not dest.is_dir():
                raise
            # Another unpacker finished the same layer first; theirs is as good as ours.
        return diff_id
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
