"""Upstream's AtomicWriter: a directory of files that changes all at once.

Layout of a configMap/secret/downwardAPI/projected volume directory:

    ..2025_01_01_00_00_00.123456789/   the payload, written completely first
    ..data -> ..2025_01_01_...          one symlink; renaming over it is the atomic switch
    app.conf -> ..data/app.conf         one stable link per top-level name

`write(payload)` does nothing when the payload matches what `..data` holds; otherwise it
writes a new timestamped directory, swaps `..data` with rename(2) (a reader sees the old
or the new set of files, never a mix), adds links for new names, removes links for names
gone, and deletes the old payload directory.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = "..data"


@dataclass(frozen=True)
class FileProjection:
    data: bytes
    mode: int = 0o644


def _current(target: Path) -> dict[str, FileProjection] | None:
    data = target / DATA_DIR
    if not data.is_symlink():
        return None
    root = target / os.readlink(data)
    found: dict[str, FileProjection] = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(root))] = FileProjection(
                path.read_bytes(), path.stat().st_mode & 0o7777
            )
    return found


def write(target: Path, payload: dict[str, FileProjection], gid: int | None = None) -> bool:
    """Make `target` hold exactly `payload` (relative path → content); True when it changed."""
    target.mkdir(parents=True, exist_ok=True)
    if _current(target) == payload:
        return False
    stamp = time.strftime("%Y_%m_%d_%H_%M_%S", time.gmtime()) + f".{time.time_ns() % 10**9:09d}"
    new_dir = target / f"..{stamp}"
    new_dir.mkdir()
    for relative, projection in payload.items():
        path = new_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(projection.data)
        os.chmod(path, projection.mode)
        if gid is not None:
            try:
                os.chown(path, -1, gid)
            except PermissionError:
                pass  # not root (unit tests): group ownership is best-effort
    old_link = target / DATA_DIR
    old_dir = target / os.readlink(old_link) if old_link.is_symlink() else None
    temporary = target / "..data_tmp"
    temporary.unlink(missing_ok=True)
    os.symlink(new_dir.name, temporary)
    os.replace(temporary, old_link)
    top_level = {Path(relative).parts[0] for relative in payload}
    for name in top_level:
        link = target / name
        if not link.is_symlink():
            os.symlink(f"{DATA_DIR}/{name}", link)
    for entry in target.iterdir():
        if entry.name.startswith(".."):
            continue
        if entry.is_symlink() and entry.name not in top_level:
            entry.unlink()
    if old_dir is not None and old_dir != new_dir:
        shutil.rmtree(old_dir, ignore_errors=True)
    return True
