"""Image pull benchmark: litekube's pull from the local registry against skopeo in the same run.

Rows (name, figure, baseline, unit), each in MB/s of compressed image content, best of
ROUNDS; the rounds interleave litekube and the baselines so both see the same machine noise:
- pull of the nginx test image (docker.io/library/nginx:1.21 through the mirrors file) into
  an empty store: downloaded, verified (blob digests and the layers' uncompressed diff_ids)
  and unpacked into one directory per layer, whiteouts converted for overlayfs, beside
  `skopeo copy docker://…/library/nginx:1.21 dir:…`. That baseline does less: it downloads
  and verifies the blobs and writes them to a directory as they are (the `dir:` transport
  neither decompresses nor unpacks anything), so this row prices unpacking too.
- the same pull beside a like-for-like baseline: that skopeo copy followed by GNU `tar -xf`
  of every layer blob into its own directory, the tars run at the same time (tar decompresses
  through gzip/zstd; it verifies no diff_id and converts no whiteouts).
- the pull without unpacking cost: the MB/s of the download-and-verify part alone (the
  store's layers kept from an earlier pull), beside the skopeo copy alone.

The registry is the tests' local docker-registry on 127.0.0.1 with images built from Debian
packages (tests/fixtures/images.py). Prints nothing; `run()` returns the rows.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 7
REPO = Path(__file__).resolve().parent.parent


def _skopeo_copy(registry_host: str, dest: Path) -> None:
    subprocess.run(
        [
            "skopeo",
            "--insecure-policy",
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            f"docker://{registry_host}/library/nginx:1.21",
            f"dir:{dest}",
        ],
        check=True,
        capture_output=True,
    )


def _untar_layers(copied: Path, manifest_layers: list[str]) -> None:
    tars = []
    for index, digest in enumerate(manifest_layers):
        target = copied / f"layer-{index}"
        target.mkdir()
        blob = copied / digest.partition(":")[2]
        tars.append(subprocess.Popen(["tar", "-xf", str(blob), "-C", str(target)]))
    for tar in tars:
        if tar.wait() != 0:
            raise RuntimeError("tar -xf of a layer failed")


def _skopeo_seconds(registry_host: str, dest: Path, untar: bool) -> float:
    import orjson

    if dest.exists():
        shutil.rmtree(dest)
    start = time.perf_counter()
    _skopeo_copy(registry_host, dest)
    if untar:
        layers = orjson.loads((dest / "manifest.json").read_bytes())["layers"]
        _untar_layers(dest, [layer["digest"] for layer in layers])
    return time.perf_counter() - start


async def run() -> list[tuple[str, float, float, str]]:
    sys.path.insert(0, str(REPO))  # the test image builders live in tests/fixtures
    from tests.fixtures.images import start_registry

    from litekube.node.images import ImageService

    with tempfile.TemporaryDirectory(prefix="litekube-images-bench-") as tmp:
        work = Path(tmp)
        registry = start_registry(work / "registry")
        try:
            mirrors = registry.mirrors_yaml(work / "registries.yaml")
            full: list[float] = []
            download: list[float] = []
            skopeo: list[float] = []
            skopeo_untar: list[float] = []
            size = 0
            for round_number in range(ROUNDS):
                data = work / f"data-{round_number}"
                async with ImageService(data, mirrors, upstream=False) as service:
                    start = time.perf_counter()
                    info = await service.pull("nginx:1.21")
                    full.append(time.perf_counter() - start)
                    size = info.size
                # Blobs gone, unpacked layers kept: the next pull only downloads and verifies.
                for blob in (data / "images" / "blobs" / "sha256").iterdir():
                    blob.unlink()
                (data / "images" / "index.json").unlink()
                async with ImageService(data, mirrors, upstream=False) as service:
                    start = time.perf_counter()
                    await service.pull("nginx:1.21")
                    download.append(time.perf_counter() - start)
                shutil.rmtree(data)
                skopeo.append(_skopeo_seconds(registry.host_port, work / "skopeo", untar=False))
                skopeo_untar.append(_skopeo_seconds(registry.host_port, work / "skopeo", untar=True))
        finally:
            registry.stop()
    megabytes = size / 1e6
    copy_only = megabytes / min(skopeo)
    return [
        (
            "image pull nginx (download+verify+unpack) vs skopeo copy",
            megabytes / min(full),
            copy_only,
            "MB/s",
        ),
        (
            "image pull nginx (dl+verify+unpack) vs skopeo copy+tar -x",
            megabytes / min(full),
            megabytes / min(skopeo_untar),
            "MB/s",
        ),
        ("image pull nginx (download+verify) vs skopeo copy", megabytes / min(download), copy_only, "MB/s"),
    ]


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(row)
