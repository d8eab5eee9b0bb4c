"""The content-addressed image store under `<data-dir>/images/`.

    images/
      blobs/sha256/<hex>        manifests, indexes, configs, compressed layers (verified on write)
      layers/<diff_id hex>/     each layer unpacked once (overlayfs lower form), shared by all images,
                                from the stored blob or from its download as it arrives
      index.json                image records: name → manifest digest, config, layers

Records are kept in memory and written whole to index.json with an atomic rename, so a crash
leaves either the old or the new index. Blobs and layers appear under their final name only
when complete, so a present path is always a whole, verified object. `garbage_collect()`
removes blobs and layers no record refers to, keeping layers that a mounted overlay uses.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path
from typing import IO, Any

import orjson

from litekube.node.images.decompress import Source
from litekube.node.images.errors import DigestMismatchError
from litekube.node.images.unpack import unpack_layer, unpack_stream

_COPY = 1 << 20


class ContentStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.layers = root / "layers"
        self.index_path = root / "index.json"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.layers.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = self._load()
        self._clean_temporaries()

    # ----------------------------------------------------------------- blobs

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        if (
            algorithm != "sha256"
            or len(hexdigest) != 64
            or not all(c in "0123456789abcdef" for c in hexdigest)
        ):
            raise ValueError(f"invalid digest {digest!r}")
        return self.blobs / hexdigest

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def read_blob(self, digest: str) -> bytes:
        return self.blob_path(digest).read_bytes()

    def write_blob(self, data: bytes, digest: str | None = None) -> str:
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if digest is not None and digest != actual:
            raise DigestMismatchError(f"content is {actual}, expected {digest}")
        path = self.blob_path(actual)
        if not path.exists():
            tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}-{threading.get_ident()}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return actual

    def ingest(self, source: IO[bytes], digest: str | None = None) -> tuple[str, int]:
        """Copy a stream into the store, hashing it; returns (digest, size)."""
        hasher = hashlib.sha256()
        size = 0
        tmp = self.blobs / f".tmp-ingest-{os.getpid()}-{threading.get_ident()}"
        try:
            with open(tmp, "wb") as out:
                while chunk := source.read(_COPY):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            actual = "sha256:" + hasher.hexdigest()
            if digest is not None and digest != actual:
                raise DigestMismatchError(f"content is {actual}, expected {digest}")
            os.replace(tmp, self.blob_path(actual))
            return actual, size
        finally:
            tmp.unlink(missing_ok=True)

    # ----------------------------------------------------------------- layers

    def layer_path(self, diff_id: str) -> Path:
        return self.layers / self.blob_path(diff_id).name

    def has_layer(self, diff_id: str) -> bool:
        return self.layer_path(diff_id).is_dir()

    def unpack(self, blob_digest: str, diff_id: str) -> Path:
        """Unpack a stored layer blob once (blocking: run it in a thread)."""
        dest = self.layer_path(diff_id)
        if not dest.is_dir():
            unpack_layer(self.blob_path(blob_digest), dest, expected_diff_id=diff_id)
        return dest

    def unpack_stream(self, source: Source, blob_digest: str, diff_id: str) -> Path:
        """Unpack a layer from the stream of its blob being downloaded (blocking: run it in a thread)."""
        dest = self.layer_path(diff_id)
        if not dest.is_dir():
            unpack_stream(source, dest, diff_id, self.blob_path(blob_digest).name)
        return dest

    # ----------------------------------------------------------------- records

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = orjson.loads(self.index_path.read_bytes())
        except FileNotFoundError:
            return {}
        images: dict[str, dict[str, Any]] = data.get("images", {})
        return images

    def _save(self) -> None:
        tmp = self.index_path.with_name(f".index.json.tmp-{os.getpid()}-{threading.get_ident()}")
        with open(tmp, "wb") as out:
            out.write(orjson.dumps({"version": 1, "images": self._records}, option=orjson.OPT_INDENT_2))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.index_path)

    def records(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._records)

    def get_record(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._records.get(name)

    def put_record(self, name: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._records[name] = record
            self._save()

    def remove_record(self, name: str) -> bool:
        with self._lock:
            if self._records.pop(name, None) is None:
                return False
            self._save()
            return True

    # ----------------------------------------------------------------- cleanup

    def _clean_temporaries(self) -> None:
        """Half-written blobs and half-unpacked layers of a crashed process."""
        for directory in (self.blobs, self.layers):
            for entry in directory.glob(".tmp-*"):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

    def garbage_collect(self) -> tuple[int, int]:
        """Remove unreferenced blobs and layers; returns (blobs, layers) removed."""
        with self._lock:
            blobs: set[str] = set()
            layers: set[str] = set()
            for record in self._records.values():
                for digest in (
                    record.get("index_digest"),
                    record["manifest_digest"],
                    record["id"],
                    *record.get("layers", []),
                ):
                    if digest:
                        blobs.add(digest.partition(":")[2])
                layers.update(d.partition(":")[2] for d in record["diff_ids"])
            in_use = mounted_lower_dirs()
            removed_blobs = removed_layers = 0
            for path in self.blobs.iterdir():
                if not path.name.startswith(".") and path.name not in blobs:
                    path.unlink(missing_ok=True)
                    removed_blobs += 1
            for path in self.layers.iterdir():
                if not path.name.startswith(".") and path.name not in layers and str(path) not in in_use:
                    shutil.rmtree(path, ignore_errors=True)
                    removed_layers += 1
            return removed_blobs, removed_layers


def mounted_lower_dirs() -> set[str]:
    """Every lowerdir of every overlay mount on the machine (layers we must not delete)."""
    result: set[str] = set()
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return result
    for line in text.splitlines():
        _, _, tail = line.partition(" - ")
        fields = tail.split(" ")
        if len(fields) < 3 or fields[0] != "overlay":
            continue
        for option in fields[2].split(","):
            if option.startswith("lowerdir="):
                result.update(option[len("lowerdir=") :].split(":"))
    return result
