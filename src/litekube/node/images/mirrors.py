"""The registry mirrors file (k3s's `registries.yaml` shape) and the endpoint list of a pull.

    mirrors:
      docker.io:
        endpoint: ["http://127.0.0.1:5000"]
      "*":                      # registries without their own entry
        endpoint: ["https://mirror.example"]
    configs:
      "127.0.0.1:5000":
        auth: {username: u, password: p}      # or auth: <base64 user:pass>
        tls: {insecure_skip_verify: true, ca_file: /path/ca.pem}

A pull of `docker.io/library/nginx:1.21` tries every mirror endpoint in order, then the
registry itself (`https://registry-1.docker.io`) unless `upstream` is off. An endpoint
without a path gets the API root `/v2`; one with a path uses that path as the root, as
containerd does. Plain http is used when the endpoint says `http://`, and for loopback hosts
(127.0.0.0/8, ::1, localhost) when no scheme is given, as docker treats them as insecure.
"""

from __future__ import annotations

import base64
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from litekube.node.images.reference import DOCKER_HUB, DOCKER_HUB_API


@dataclass(frozen=True)
class Endpoint:
    """One place to fetch a registry's content from."""

    api_root: str  # "http://127.0.0.1:5000/v2"
    host: str  # "127.0.0.1:5000": the key of its `configs` entry and of credentials
    is_mirror: bool


@dataclass(frozen=True)
class HostConfig:
    username: str | None = None
    password: str | None = None
    insecure_skip_verify: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


@dataclass
class MirrorsConfig:
    mirrors: dict[str, list[str]] = field(default_factory=dict)
    configs: dict[str, HostConfig] = field(default_factory=dict)

    def endpoints(self, registry: str, upstream: bool = True) -> list[Endpoint]:
        """Where to pull `registry`'s images from, in order."""
        urls = self.mirrors.get(registry)
        if urls is None:
            urls = self.mirrors.get("*", [])
        result = [_endpoint(url, is_mirror=True) for url in urls]
        if upstream:
            host = DOCKER_HUB_API if registry == DOCKER_HUB else registry
            result.append(_endpoint(host, is_mirror=False))
        return result

    def host_config(self, host: str) -> HostConfig | None:
        config = self.configs.get(host)
        if config is None and host == DOCKER_HUB_API:
            config = self.configs.get(DOCKER_HUB)
        return config

    def ssl_for(self, host: str) -> ssl.SSLContext | bool:
        """The TLS setting aiohttp should use for `host` (True = default verification)."""
        config = self.host_config(host)
        if config is None:
            return True
        if config.insecure_skip_verify:
            return False
        if config.ca_file or config.cert_file:
            context = ssl.create_default_context(cafile=config.ca_file)
            if config.cert_file:
                context.load_cert_chain(config.cert_file, config.key_file)
            return context
        return True


def is_loopback_host(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _endpoint(url: str, is_mirror: bool) -> Endpoint:
    if "://" not in url:
        url = ("http://" if is_loopback_host(url.split("/", 1)[0]) else "https://") + url
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/v2"
    return Endpoint(api_root=f"{parts.scheme}://{parts.netloc}{path}", host=parts.netloc, is_mirror=is_mirror)


def _host_config(raw: dict[str, Any]) -> HostConfig:
    auth = raw.get("auth") or {}
    tls = raw.get("tls") or {}
    username, password = auth.get("username"), auth.get("password")
    if auth.get("auth") and not username:
        username, _, password = base64.b64decode(auth["auth"]).decode().partition(":")
    return HostConfig(
        username=username,
        password=password,
        insecure_skip_verify=bool(tls.get("insecure_skip_verify", False)),
        ca_file=tls.get("ca_file"),
        cert_file=tls.get("cert_file"),
        key_file=tls.get("key_file"),
    )


def parse_mirrors(text: str) -> MirrorsConfig:
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise ValueError("registries file: expected a mapping with 'mirrors' and 'configs'")
    mirrors = {
        str(name): [str(url) for url in (entry or {}).get("endpoint", [])]
        for name, entry in (raw.get("mirrors") or {}).items()
    }
    configs = {str(host): _host_config(entry or {}) for host, entry in (raw.get("configs") or {}).items()}
    return MirrorsConfig(mirrors=mirrors, configs=configs)


def load_mirrors(path: Path | None) -> MirrorsConfig:
    """Read the mirrors file; a missing file means no mirrors (pull from the registries themselves)."""
    if path is None or not path.exists():
        return MirrorsConfig()
    return parse_mirrors(path.read_text())


def parse_dockerconfigjson(config: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Credentials from a `kubernetes.io/dockerconfigjson` (or legacy `.dockercfg`) secret's JSON.

    Keys are normalised to registry hosts: `https://index.docker.io/v1/` → `docker.io`.
    """
    auths = config.get("auths", config)
    result: dict[str, tuple[str, str]] = {}
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            continue
        username, password = entry.get("username"), entry.get("password")
        if entry.get("auth") and not username:
            username, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        if username is None:
            continue
        result[registry_key(key)] = (str(username), str(password or ""))
    return result


def registry_key(key: str) -> str:
    """`https://index.docker.io/v1/` → `docker.io`; `http://127.0.0.1:5000` → `127.0.0.1:5000`."""
    host = urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]
    if host in ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"):
        return DOCKER_HUB
    return host
