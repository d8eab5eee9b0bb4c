"""A Client from a kubeconfig file (the current context): server URL, CA, client cert or token."""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from pathlib import Path
from typing import Any

import yaml

from litekube.client.base import Client
from litekube.client.http import HttpTransport


def _material(entry: dict[str, Any], key: str) -> bytes | None:
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"])
    if entry.get(key):
        return Path(entry[key]).read_bytes()
    return None


def client_from_kubeconfig(path: str | Path, user_agent: str = "litekube") -> Client:
    config = yaml.safe_load(Path(path).read_text())
    context_name = config.get("current-context")
    context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user: dict[str, Any] = next(
        (u["user"] for u in config.get("users", []) if u["name"] == context.get("user")), {}
    )
    ctx = ssl.create_default_context()
    ca = _material(cluster, "certificate-authority")
    if cluster.get("insecure-skip-tls-verify"):
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    elif ca:
        ctx.load_verify_locations(cadata=ca.decode())
    cert, key = _material(user, "client-certificate"), _material(user, "client-key")
    if cert and key:
        # ssl wants files: write them to a private temporary directory just for the load.
        with tempfile.TemporaryDirectory(prefix="litekube-kubeconfig-") as tmp:
            os.chmod(tmp, 0o700)
            cert_path, key_path = Path(tmp) / "c.crt", Path(tmp) / "c.key"
            cert_path.write_bytes(cert)
            key_path.write_bytes(key)
            ctx.load_cert_chain(cert_path, key_path)
    transport = HttpTransport(
        cluster["server"], ssl_context=ctx, token=user.get("token"), user_agent=user_agent
    )
    return Client(transport)
