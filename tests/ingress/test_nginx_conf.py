"""Golden nginx.conf files for the seed's Ingresses and each path type / annotation, and `nginx -t`.

Regenerate after an intended change: LITEKUBE_UPDATE_GOLDEN=1 pytest tests/ingress/test_nginx_conf.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from litekube.ingress.certificates import default_certificate, write_certificates
from litekube.ingress.model import RoutingModel, build_model
from litekube.ingress.nginx_conf import UPSTREAM_KEEPALIVE, RenderConfig, render
from tests.ingress.cases import CASES, split

GOLDEN = Path(__file__).parent / "golden"
DATA_DIR = Path("/var/lib/litekube/ingress")


def model_of(name: str) -> RoutingModel:
    kinds = split(CASES[name]())
    return build_model(
        kinds["Ingress"], kinds["IngressClass"], kinds["Service"], kinds["EndpointSlice"], kinds["Secret"]
    )


def golden_text(name: str) -> str:
    text = render(model_of(name), RenderConfig(DATA_DIR))
    # certificate files are named by content digest; test certificates are generated per run
    return re.sub(r"-[0-9a-f]{16}\.pem", "-<digest>.pem", text)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_conf_matches_golden(name: str) -> None:
    path = GOLDEN / f"{name}.conf"
    text = golden_text(name)
    if os.environ.get("LITEKUBE_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_every_case_has_a_golden_file_and_no_strays() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.conf")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_case_passes_nginx_check(name: str, tmp_path: Path) -> None:
    if shutil.which("nginx", path="/usr/sbin:/usr/bin") is None:
        pytest.skip("nginx is not installed")
    model = model_of(name)
    config = RenderConfig(tmp_path)  # `nginx -t` does not bind the ports
    for sub in ("logs", "tmp"):
        (tmp_path / sub).mkdir()
    default_certificate(config.ssl_dir)
    write_certificates(config.ssl_dir, model.certificates)
    text = render(model, config)
    # the same text as the golden file, apart from the directory
    normalized = re.sub(r"-[0-9a-f]{16}\.pem", "-<digest>.pem", text.replace(str(tmp_path), str(DATA_DIR)))
    assert normalized == golden_text(name)
    (tmp_path / "nginx.conf").write_text(text)
    result = subprocess.run(
        ["nginx", "-t", "-q", "-c", str(tmp_path / "nginx.conf"), "-p", f"{tmp_path}/"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    assert result.returncode == 0, result.stderr


def test_every_upstream_keeps_connections_to_the_backends_alive() -> None:
    text = render(model_of("seed-08-and-09"), RenderConfig(DATA_DIR))
    blocks = re.findall(r"upstream (\S+) \{\n(.*?)\n    \}", text, re.S)
    assert len(blocks) == 2
    for _, body in blocks:
        directives = [line.strip() for line in body.splitlines()]
        assert [d for d in directives if d.startswith("keepalive")] == list(UPSTREAM_KEEPALIVE)
    # keep-alive upstream needs HTTP/1.1 and no "Connection: close" forwarded: ingress-nginx's
    # map sends "upgrade" for WebSockets and an empty header (= cleared) otherwise
    assert "proxy_http_version 1.1;" in text
    assert "proxy_set_header Connection $connection_upgrade;" in text
    assert 'map $http_upgrade $connection_upgrade { default upgrade; "" ""; }' in text
