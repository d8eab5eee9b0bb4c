"""`litekube images pull|ls|rm|import` through click's CliRunner, on a temporary --data-dir."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from litekube.cli.images import images
from tests.fixtures.images import LocalRegistry, local_registry  # noqa: F401


def test_pull_ls_rm(tmp_path: Path, local_registry: LocalRegistry) -> None:  # noqa: F811
    data = tmp_path / "data"
    local_registry.mirrors_yaml(data / "registries.yaml")
    runner = CliRunner()
    pulled = runner.invoke(images, ["pull", "--data-dir", str(data), "--no-upstream", "nginx:1.21"])
    assert pulled.exit_code == 0, pulled.output
    assert "docker.io/library/nginx:1.21: pulled docker.io/library/nginx@sha256:" in pulled.stdout
    assert pulled.stderr.count(": done ") == 2  # one progress line per layer

    listed = runner.invoke(images, ["ls", "--data-dir", str(data)])
    assert listed.exit_code == 0, listed.output
    header, row = listed.stdout.splitlines()
    assert header.split() == ["IMAGE", "TAG", "IMAGE", "ID", "SIZE"]
    assert row.split()[:2] == ["docker.io/library/nginx", "1.21"]
    assert row.split()[3].endswith("MB")

    quiet = runner.invoke(images, ["ls", "-q", "--data-dir", str(data)])
    assert quiet.stdout.strip().startswith("sha256:")

    removed = runner.invoke(images, ["rm", "--data-dir", str(data), "nginx:1.21"])
    assert removed.exit_code == 0 and removed.stdout == "Deleted: docker.io/library/nginx:1.21\n"
    assert runner.invoke(images, ["ls", "--data-dir", str(data)]).stdout.splitlines()[1:] == []
    again = runner.invoke(images, ["rm", "--data-dir", str(data), "nginx:1.21"])
    assert again.exit_code == 1 and 'no such image "nginx:1.21"' in again.stderr


def test_pull_errors(tmp_path: Path, local_registry: LocalRegistry) -> None:  # noqa: F811
    registries = local_registry.mirrors_yaml(tmp_path / "mirrors.yaml")
    runner = CliRunner()
    missing = runner.invoke(
        images,
        ["pull", "--data-dir", str(tmp_path), "--registries", str(registries), "--no-upstream", "nginx:bad"],
    )
    assert missing.exit_code == 1
    assert missing.stderr.startswith('error: failed to pull and unpack image "docker.io/library/nginx:bad"')
    invalid = runner.invoke(images, ["pull", "--data-dir", str(tmp_path), "NGINX"])
    assert invalid.exit_code == 1 and "couldn't parse image name" in invalid.stderr


def test_import(tmp_path: Path, layouts: dict[str, Path]) -> None:
    if shutil.which("skopeo") is None:
        pytest.skip("needs skopeo")
    archive = tmp_path / "busybox.tar"
    subprocess.run(
        [
            "skopeo",
            "--insecure-policy",
            "copy",
            "--quiet",
            f"oci:{layouts['busybox']}:latest",
            f"docker-archive:{archive}:busybox:1.36",
        ],
        check=True,
        capture_output=True,
    )
    runner = CliRunner()
    result = runner.invoke(images, ["import", "--data-dir", str(tmp_path / "data"), str(archive)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("imported docker.io/library/busybox:1.36 (sha256:")
    listed = runner.invoke(images, ["ls", "--digests", "--data-dir", str(tmp_path / "data")])
    assert listed.stdout.splitlines()[0].split()[:3] == ["IMAGE", "TAG", "DIGEST"]
