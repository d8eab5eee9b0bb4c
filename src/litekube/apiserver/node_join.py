"""Joining nodes: the node token, the CA download, per-node credentials and pod CIDRs.

The join flow (k3s's, in miniature):

    server start ─▶ <data-dir>/tls/node-token (0600):  K10<sha256 of the CA PEM>::node:<secret>
    agent ──GET /cacerts (anonymous)──▶ the CA PEM; the agent checks its sha256 against the
          hash in the token, so a man in the middle cannot hand it another CA
    agent ──POST /v1-litekube/node-credentials  Authorization: Bearer node:<secret>
            {"nodeName": "n1", "addresses": ["10.0.0.5"]}  (now over TLS verified by that CA)──▶
          {"clientCertificate", "clientKey"}    CN=system:node:n1, O=system:nodes: the agent's
                                                identity for every API call (x509 auth)
          {"servingCertificate", "servingKey"}  the agent's stream port (10250), SANs = the
                                                addresses and the node name, so the API
                                                server can verify whom it proxies to
          {"podCIDR": "10.244.1.0/24"}          this node's pod range (node IPAM, below)

Pod CIDRs: each node gets its own /24 of 10.244.0.0/16. 10.244.0.0/24 stays the embedded
node's (its kubelet always takes it); a joining node keeps the range its Node object already
has, otherwise it gets the lowest /24 no Node uses and no join in flight has reserved.

Also here: the API server's own client certificate for the agents' stream ports
(`kube-apiserver-kubelet-client`, group system:masters), issued once under tls/.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import secrets
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from litekube.api.resources import lookup
from litekube.apiserver import errors
from litekube.apiserver.pki import ClusterPKI, _issue, _key_pem, _name, _write_private
from litekube.apiserver.registry import Registry
from litekube.apiserver.registry_types import ListOptions

CACERTS_PATH = "/cacerts"
CREDENTIALS_PATH = "/v1-litekube/node-credentials"
TOKEN_PREFIX = "K10"
CLUSTER_CIDR = ipaddress.ip_network("10.244.0.0/16")
EMBEDDED_NODE_CIDR = "10.244.0.0/24"
KUBELET_CLIENT_CN = "kube-apiserver-kubelet-client"

_nodes = lookup("", "v1", "nodes")
assert _nodes is not None
NODES = _nodes


def ca_hash(ca_pem: bytes) -> str:
    return hashlib.sha256(ca_pem).hexdigest()


def format_token(ca_pem: bytes, secret: str) -> str:
    return f"{TOKEN_PREFIX}{ca_hash(ca_pem)}::node:{secret}"


def parse_token(token: str) -> tuple[str | None, str]:
    """(CA hash or None, the credential the agent presents): `K10<hash>::node:<s>` or a bare one."""
    token = token.strip()
    if token.startswith(TOKEN_PREFIX) and "::" in token:
        pin, credential = token[len(TOKEN_PREFIX) :].split("::", 1)
        return pin.lower(), credential
    return None, token


class NodeJoin:
    def __init__(self, registry: Registry, pki: ClusterPKI) -> None:
        self.registry = registry
        self.pki = pki
        self.ca_pem = pki.ca_cert.read_bytes()
        self.token_path = pki.ca_cert.parent / "node-token"
        self.secret = self._ensure_secret()
        self._lock = asyncio.Lock()
        self._reserved: dict[str, str] = {}  # node name → pod CIDR handed out, not yet on a Node
        self.kubelet_client_cert, self.kubelet_client_key = self._ensure_kubelet_client()

    @property
    def token(self) -> str:
        return format_token(self.ca_pem, self.secret)

    def _ensure_secret(self) -> str:
        """The secret survives restarts; a token made for another CA is rewritten with this one's hash."""
        secret = ""
        if self.token_path.exists():
            _, credential = parse_token(self.token_path.read_text())
            secret = credential.removeprefix("node:")
        if not secret:
            secret = secrets.token_hex(24)
        _write_private(self.token_path, (format_token(self.ca_pem, secret) + "\n").encode())
        return secret

    def _ensure_kubelet_client(self) -> tuple[Path, Path]:
        tls = self.pki.ca_cert.parent
        cert, key = tls / "kubelet-client.crt", tls / "kubelet-client.key"
        if not (cert.exists() and key.exists()):
            pem_cert, pem_key = self._issue(_name(KUBELET_CLIENT_CN, "system:masters"), client=True)
            _write_private(key, pem_key)
            cert.write_bytes(pem_cert)
        return cert, key

    def _issue(
        self, subject: x509.Name, client: bool, sans: list[x509.GeneralName] | None = None
    ) -> tuple[bytes, bytes]:
        loaded = serialization.load_pem_private_key(self.pki.ca_key.read_bytes(), None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        ca_cert = x509.load_pem_x509_certificate(self.ca_pem)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        key, cert = _issue(loaded, ca_cert, subject, usage, sans)
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)

    def accepts(self, header: str | None) -> bool:
        if not header or not header.lower().startswith("bearer "):
            return False
        _, presented = parse_token(header[7:])
        presented = presented.removeprefix("node:")
        return hmac.compare_digest(presented.encode(), self.secret.encode())

    async def allocate_pod_cidr(self, node_name: str) -> str:
        """The node's existing range, else the lowest free /24 (10.244.0.0/24 is the embedded node's)."""
        async with self._lock:
            listed = await self.registry.list_objects(NODES, None, ListOptions())
            used = {EMBEDDED_NODE_CIDR, *self._reserved.values()}
            for node in listed["items"]:
                cidr = (node.get("spec") or {}).get("podCIDR")
                if node["metadata"]["name"] == node_name and cidr:
                    return str(cidr)
                if cidr:
                    used.add(str(cidr))
            if node_name in self._reserved:
                return self._reserved[node_name]
            for subnet in CLUSTER_CIDR.subnets(new_prefix=24):
                if str(subnet) not in used:
                    self._reserved[node_name] = str(subnet)
                    return str(subnet)
        raise RuntimeError(f"no free /24 left in {CLUSTER_CIDR} for node {node_name}")

    async def cacerts(self, _: web.Request) -> web.Response:
        return web.Response(body=self.ca_pem, content_type="text/plain")

    async def credentials(self, request: web.Request) -> web.Response:
        if not self.accepts(request.headers.get("Authorization")):
            return _status(401, "Unauthorized", "the node join token is not valid")
        try:
            body: Any = orjson.loads(await request.read())
            node_name = str(body["nodeName"]).strip().lower()
            hosts = [str(a) for a in body.get("addresses") or []]
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return _status(400, "BadRequest", 'expected {"nodeName": …, "addresses": [...]}')
        if not node_name:
            return _status(400, "BadRequest", "nodeName must not be empty")
        try:
            sans = _sans([node_name, *hosts])
        except ValueError as e:
            return _status(400, "BadRequest", str(e))
        client_cert, client_key = self._issue(_name(f"system:node:{node_name}", "system:nodes"), client=True)
        serving_cert, serving_key = self._issue(_name(f"system:node:{node_name}"), client=False, sans=sans)
        answer = {
            "clientCertificate": client_cert.decode(),
            "clientKey": client_key.decode(),
            "servingCertificate": serving_cert.decode(),
            "servingKey": serving_key.decode(),
            "podCIDR": await self.allocate_pod_cidr(node_name),
        }
        return web.Response(body=orjson.dumps(answer), content_type="application/json")

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(CACERTS_PATH, self.cacerts)
        app.router.add_post(CREDENTIALS_PATH, self.credentials)


def _sans(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(h for h in hosts if h):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _status(code: int, reason: str, message: str) -> web.Response:
    body = errors.ApiException(code, reason, message).status()
    return web.Response(body=orjson.dumps(body), status=code, content_type="application/json")
