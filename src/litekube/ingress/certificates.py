"""TLS material for nginx: Secrets → checked PEM bundles, the default certificate, files on disk.

- `certificate_from_secret` decodes `tls.crt`/`tls.key` of a Secret, checks that both parse
  and that the key belongs to the certificate (nginx would refuse the whole configuration
  otherwise), and returns a `Certificate` holding chain + key as one PEM bundle.
- `default_certificate` creates (once, then reuses) a self-signed certificate for unknown
  hosts, named like ingress-nginx's "Kubernetes Ingress Controller Fake Certificate".
- `write_certificates` writes bundles with mode 0600 under the controller's `ssl/` directory,
  named by content digest, so a rotated Secret changes nginx.conf and triggers a reload;
  `remove_stale_certificates` deletes bundles no longer referenced.

Key material is never logged: errors name the Secret, never its content.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEFAULT_CERTIFICATE_NAME = "default-fake-certificate.pem"


@dataclass(frozen=True)
class Certificate:
    name: str  # "namespace/secret"
    pem: bytes = b""  # certificate chain followed by the private key
    digest: str = ""  # sha256 of pem (hex, shortened): part of the file name

    @property
    def file_name(self) -> str:
        return f"{self.name.replace('/', '_')}-{self.digest}.pem"

    def __repr__(self) -> str:  # keep key material out of logs and assertion messages
        return f"Certificate(name={self.name!r}, digest={self.digest!r})"


class CertificateError(ValueError):
    pass


def certificate_from_secret(secret: dict[str, Any]) -> Certificate:
    meta = secret.get("metadata") or {}
    name = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    data = secret.get("data") or {}
    if "tls.crt" not in data or "tls.key" not in data:
        raise CertificateError(f'secret "{name}" has no tls.crt and tls.key')
    try:
        crt = base64.b64decode(data["tls.crt"], validate=True)
        key = base64.b64decode(data["tls.key"], validate=True)
    except (binascii.Error, ValueError, TypeError) as e:
        raise CertificateError(f'secret "{name}": tls.crt or tls.key is not base64') from e
    try:
        chain = x509.load_pem_x509_certificates(crt)
        private_key = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as e:
        raise CertificateError(f'secret "{name}": tls.crt or tls.key is not a PEM certificate/key') from e
    cert_key = (
        chain[0]
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    own_key = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if cert_key != own_key:
        raise CertificateError(f'secret "{name}": tls.key does not match the certificate in tls.crt')
    pem = crt.rstrip(b"\n") + b"\n" + key.rstrip(b"\n") + b"\n"
    return Certificate(name, pem, hashlib.sha256(pem).hexdigest()[:16])


def self_signed(
    common_name: str, hosts: Iterable[str] = (), days: int = 365, organization: str = "Acme Co"
) -> tuple[bytes, bytes]:
    """A self-signed certificate and its key (PEM), for the default server and for tests."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    names = [x509.DNSName(h) for h in hosts]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _write_private(path: Path, content: bytes) -> None:
    # created 0600 from the start (no window where another user could read the key)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def default_certificate(ssl_dir: Path) -> Path:
    """The default server's certificate bundle, generated on first use and kept across restarts."""
    ssl_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = ssl_dir / DEFAULT_CERTIFICATE_NAME
    if not path.exists():
        crt, key = self_signed("Kubernetes Ingress Controller Fake Certificate", ["ingress.local"])
        _write_private(path, crt + key)
    return path


def write_certificates(ssl_dir: Path, certificates: Iterable[Certificate]) -> set[str]:
    """Write each bundle (0600) unless already there; the set of file names now in use."""
    ssl_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    used = {DEFAULT_CERTIFICATE_NAME}
    for cert in certificates:
        path = ssl_dir / cert.file_name
        if not path.exists():
            _write_private(path, cert.pem)
        used.add(cert.file_name)
    return used


def remove_stale_certificates(ssl_dir: Path, keep: set[str]) -> None:
    if not ssl_dir.is_dir():
        return
    for path in ssl_dir.glob("*.pem"):
        if path.name not in keep:
            path.unlink(missing_ok=True)
