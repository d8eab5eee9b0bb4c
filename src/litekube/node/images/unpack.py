"""Unpacking one layer tarball into its own directory, in the form overlayfs wants for a lower layer.

    blob (gzip | zstd | plain tar) ─▶ decompress ─▶ hash (diff_id) ─▶ tar stream ─▶ <tmp dir> ─▶ rename

Each layer is unpacked once, into `layers/<diff_id>/`, and shared by every container whose
image has it; overlayfs stacks the layer directories. The OCI whiteouts of a layer become
overlayfs' own markers there:

    .wh.<name>        (delete <name> from lower layers) → character device 0/0 named <name>
    .wh..wh..opq      (hide the lower content of this dir) → xattr trusted.overlay.opaque=y on the dir

Safety: entry names are relative to the layer root; a name with `..` or one that passes
through a symlink created by the layer is refused (the layer is rejected), hard links may
only point inside the layer, and block/character devices are skipped (runc provides /dev).
Ownership, permissions (set after chown, which clears setuid), mtimes, symlinks, hard
links, FIFOs and `SCHILY.xattr.*` extended attributes (e.g. file capabilities) are kept.
The uncompressed stream is hashed as it is read and must match the image config's diff_id.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
import subprocess
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

from litekube.node.images.errors import DigestMismatchError, ImagePullError, UnsupportedLayerError

log = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_READ = 1 << 20


class UnsafeLayerError(ImagePullError):
    pass


class _HashingReader:
    """A read-only stream that hashes what passes through it (the layer's diff_id)."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.hasher = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.source.read(size)
        self.hasher.update(data)
        return data

    def drain(self) -> str:
        while self.read(_READ):
            pass
        return "sha256:" + self.hasher.hexdigest()


@contextlib.contextmanager
def open_layer(blob: Path) -> Iterator[Any]:
    """Yield a readable stream of the uncompressed tar in `blob`, whatever its compression."""
    with open(blob, "rb") as raw:
        magic = raw.read(4)
        raw.seek(0)
        if magic.startswith(_GZIP_MAGIC):
            yield _GzipReader(raw)
        elif magic == _ZSTD_MAGIC:
            with _zstd_stream(blob, raw) as stream:
                yield stream
        else:
            yield raw


class _GzipReader:
    """gzip decompression with large reads: zlib straight, no per-8 KiB GzipFile overhead
    (zlib's own CRC and size check per member stand in for GzipFile's). Reads
    concatenated members too (pigz -p, some registries' layers)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.decoder = zlib.decompressobj(wbits=31)
        self.pending = b""
        self.eof = False
        self.fed = False  # the current member has input: its end must come

    def _fill(self) -> None:
        while not self.pending and not self.eof:
            data = self.decoder.unconsumed_tail or self.raw.read(_READ)
            if not data:
                if self.fed:
                    raise ImagePullError("compressed layer ends inside a gzip member")
                self.eof = True
                return
            self.fed = True
            self.pending = self.decoder.decompress(data, _READ)
            if self.decoder.eof:
                rest = self.decoder.unused_data.lstrip(b"\0")  # (zero padding after the last member)
                self.decoder = zlib.decompressobj(wbits=31)
                self.fed = False
                if rest:
                    self.fed = True
                    self.pending += self.decoder.decompress(rest, _READ)

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            chunks: list[bytes] = []
            while True:
                self._fill()
                if not self.pending:
                    return b"".join(chunks)
                chunks.append(self.pending)
                self.pending = b""
        self._fill()
        data, self.pending = self.pending[:size], self.pending[size:]
        return data


@contextlib.contextmanager
def _zstd_stream(blob: Path, raw: IO[bytes]) -> Iterator[Any]:
    decoder: Any = None
    try:
        import zstandard

        decoder = zstandard.ZstdDecompressor()
    except ImportError:
        pass
    if decoder is not None:
        with decoder.stream_reader(raw) as reader:
            yield reader
        return
    binary = shutil.which("zstd")
    if binary is None:
        raise UnsupportedLayerError(
            f"layer {blob.name} is zstd-compressed: install the 'zstandard' Python package or the zstd tool"
        )
    # Without the Python binding, the zstd command line tool decodes the stream.
    process = subprocess.Popen([binary, "-dcq", str(blob)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    try:
        yield process.stdout
        while process.stdout.read(_READ):
            pass
    finally:
        process.stdout.close()
        _, err = process.communicate()
    if process.returncode != 0:
        raise UnsupportedLayerError(
            f"zstd failed on layer {blob.name}: {err.decode(errors='replace').strip()}"
        )


class _Unpacker:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.as_root = os.geteuid() == 0
        self.real_dirs: set[str] = {""}
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
                mode = stat.S_IFDIR
            if not stat.S_ISDIR(mode):
                raise UnsafeLayerError(f"layer entry {name!r} passes through a non-directory {prefix!r}")
            self.real_dirs.add(prefix)
        return relative, os.path.join(self.root, relative)

    def _clear(self, path: str, keep_dir: bool = False) -> None:
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISDIR(mode):
            if keep_dir:
                return
            shutil.rmtree(path)
        else:
            os.unlink(path)

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
            target = os.path.join(parent, base[len(WHITEOUT_PREFIX) :])
            self._clear(target)
            os.mknod(target, stat.S_IFCHR | 0o600, os.makedev(0, 0))
            return
        if member.isdir():
            self._clear(path, keep_dir=True)
            if not os.path.isdir(path):
                os.mkdir(path, 0o755)
            self.real_dirs.add(relative)
            self._attributes(path, member)
            self.dir_times.append((path, member.mtime))
            return
        self.real_dirs.discard(relative)
        self._clear(path)
        if member.isreg():
            source = tar.extractfile(member)
            assert source is not None
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, _READ)
            self._attributes(path, member)
        elif member.issym():
            os.symlink(member.linkname, path)
            self._attributes(path, member, is_link=True)
        elif member.islnk():
            _, target = self._path(member.linkname)
            if not os.path.isfile(target) or os.path.islink(target):
                raise UnsafeLayerError(
                    f"hard link {member.name!r} points outside the layer: {member.linkname!r}"
                )
            os.link(target, path)
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
    """Unpack `blob` into the new directory `dest`; return the layer's diff_id (sha256 of the tar).

    `dest` is filled under a temporary name and renamed only when the whole layer unpacked
    and its diff_id matched, so a crash never leaves a half layer in place.
    """
    tmp = dest.with_name(f".tmp-{dest.name}-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(mode=0o755, parents=True)
    try:
        unpacker = _Unpacker(tmp)
        with open_layer(blob) as stream:
            hashing = _HashingReader(stream)
            try:
                with tarfile.open(fileobj=cast(IO[bytes], hashing), mode="r|", bufsize=_READ) as tar:
                    for member in tar:
                        unpacker.entry(tar, member)
            except tarfile.TarError as error:
                raise ImagePullError(f"layer {blob.name}: not a valid tar stream: {error}") from error
            diff_id = hashing.drain()
        unpacker.finish()
        if expected_diff_id is not None and diff_id != expected_diff_id:
            raise DigestMismatchError(
                f"layer {blob.name}: uncompressed content is {diff_id}, image config says {expected_diff_id}"
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
