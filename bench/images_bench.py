"""Image pull benchmark: litekube's pull from the local registry against `skopeo copy` in the same run.

Rows (name, figure, baseline, unit):
- pull of the nginx test image (docker.io/library/nginx:1.21 through the mirrors file) into
  an empty store, downloaded, verified and unpacked, in MB/s of compressed content, beside
  `skopeo copy docker://…/library/nginx:1.21 dir:…` of the same image (download and verify,
  no unpacking), best of 3 for each.
- the same pull without unpacking cost: the MB/s of the download-and-verify part alone
  (the store's layers kept from an earlier pull), beside the same skopeo figure.

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

ROUNDS = 3
REPO = Path(__file__).resolve().parent.parent


def _skopeo_seconds(registry_host: str, dest: Path) -> float:
    if dest.exists():
        shutil.rmtree(dest)
    start = time.perf_counter()
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
            skopeo = [_skopeo_seconds(registry.host_port, work / "skopeo") for _ in range(ROUNDS)]
        finally:
            registry.stop()
    megabytes = size / 1e6
    baseline = megabytes / min(skopeo)
    return [
        ("image pull nginx (download+verify+unpack) vs skopeo copy", megabytes / min(full), baseline, "MB/s"),
        ("image pull nginx (download+verify) vs skopeo copy", megabytes / min(download), baseline, "MB/s"),
    ]


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(row)
