"""The mirrors file (registries.yaml) and credentials from imagePullSecrets."""

from __future__ import annotations

import base64
from pathlib import Path

from litekube.node.images import parse_dockerconfigjson
from litekube.node.images.mirrors import is_loopback_host, load_mirrors, parse_mirrors

MIRRORS = """
mirrors:
  docker.io:
    endpoint: ["http://127.0.0.1:5000", "https://mirror.example/v2/hub"]
  "*":
    endpoint: ["mirror.example:8443"]
configs:
  "127.0.0.1:5000":
    auth: {username: bob, password: pw}
  "mirror.example:8443":
    auth: {auth: Ym9iOnB3Mg==}
    tls: {insecure_skip_verify: true}
"""


def test_endpoints_in_order_then_upstream() -> None:
    config = parse_mirrors(MIRRORS)
    roots = [e.api_root for e in config.endpoints("docker.io")]
    assert roots == [
        "http://127.0.0.1:5000/v2",
        "https://mirror.example/v2/hub",
        "https://registry-1.docker.io/v2",
    ]
    assert [e.is_mirror for e in config.endpoints("docker.io")] == [True, True, False]
    assert [e.api_root for e in config.endpoints("docker.io", upstream=False)][
        -1
    ] == "https://mirror.example/v2/hub"


def test_wildcard_mirror_and_loopback_upstream() -> None:
    config = parse_mirrors(MIRRORS)
    assert [e.api_root for e in config.endpoints("quay.io")] == [
        "https://mirror.example:8443/v2",
        "https://quay.io/v2",
    ]
    empty = parse_mirrors("")
    assert [e.api_root for e in empty.endpoints("localhost:5000")] == ["http://localhost:5000/v2"]
    assert [e.api_root for e in empty.endpoints("127.0.0.1:5000")] == ["http://127.0.0.1:5000/v2"]
    assert empty.endpoints("docker.io", upstream=False) == []


def test_configs() -> None:
    config = parse_mirrors(MIRRORS)
    local = config.host_config("127.0.0.1:5000")
    assert local is not None and (local.username, local.password) == ("bob", "pw")
    remote = config.host_config("mirror.example:8443")
    assert remote is not None and (remote.username, remote.password) == ("bob", "pw2")
    assert config.ssl_for("mirror.example:8443") is False
    assert config.ssl_for("quay.io") is True


def test_missing_file_means_no_mirrors(tmp_path: Path) -> None:
    assert load_mirrors(tmp_path / "registries.yaml").mirrors == {}
    (tmp_path / "registries.yaml").write_text(MIRRORS)
    assert "docker.io" in load_mirrors(tmp_path / "registries.yaml").mirrors


def test_loopback_hosts() -> None:
    assert (
        is_loopback_host("127.0.0.1:5000")
        and is_loopback_host("localhost")
        and is_loopback_host("[::1]:5000")
    )
    assert not is_loopback_host("10.0.0.1:5000") and not is_loopback_host("docker.io")


def test_dockerconfigjson() -> None:
    encoded = base64.b64encode(b"carol:pa:ss").decode()
    creds = parse_dockerconfigjson(
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": encoded},
                "127.0.0.1:5000": {"username": "u", "password": "p"},
                "http://ghcr.io/": {"auth": base64.b64encode(b"x:y").decode()},
            }
        }
    )
    assert creds == {"docker.io": ("carol", "pa:ss"), "127.0.0.1:5000": ("u", "p"), "ghcr.io": ("x", "y")}
    # the legacy .dockercfg shape has the registries at the top level
    assert parse_dockerconfigjson({"quay.io": {"username": "q", "password": "r"}}) == {"quay.io": ("q", "r")}
