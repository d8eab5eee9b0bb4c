"""Cluster PKI: the CA, the API server's serving certificate and the admin client certificate.

Created on first start under `<data-dir>/tls/` and reused afterwards. The serving
certificate is reissued (same CA, so every kubeconfig and pod keeps trusting it) when it
lacks one of the names or addresses it should carry, e.g. a new advertise address. ECDSA P-256 keys keep
first start fast (an RSA-2048 key costs ~100 ms; P-256 under 1 ms).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=365)


@dataclass(frozen=True)
class ClusterPKI:
    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.dir / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.dir / "server.key"

    @property
    def admin_cert(self) -> Path:
        return self.dir / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.dir / "admin.key"


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _server_sans(extra_hosts: list[str]) -> list[x509.GeneralName]:
    dns = {
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    }
    ips = {"127.0.0.1", "::1", "10.96.0.1"}
    hostname = socket.gethostname()
    for host in [hostname, socket.getfqdn(), *extra_hosts]:
        try:
            ips.add(str(ipaddress.ip_address(host)))
        except ValueError:
            if host:
                dns.add(host)
    try:
        for info in socket.getaddrinfo(hostname, None):
            addr = info[4][0]
            if isinstance(addr, str) and "%" not in addr:
                ips.add(addr)
    except OSError:
        pass
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in sorted(dns)]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(ips)]
    return names


def _lacks_sans(cert_path: Path, wanted: list[x509.GeneralName]) -> bool:
    """True when the serving certificate on disk does not name every address we serve on.

    A data dir made before the machine got its current address (or before the advertise
    address was a SAN) would otherwise make pods' TLS checks against 10.96.0.1 or the
    node IP fail forever; reissuing the leaf under the same CA is invisible to clients."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        present = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except (ValueError, x509.ExtensionNotFound):
        return True
    return not set(wanted) <= present


def _issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    sans: list[x509.GeneralName] | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + LEAF_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def ensure_pki(tls_dir: Path, extra_hosts: list[str] | None = None) -> ClusterPKI:
    """Create whatever is missing; keep what exists (the CA above all)."""
    tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    pki = ClusterPKI(tls_dir)
    if pki.ca_cert.exists() and pki.ca_key.exists():
        ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
        loaded = serialization.load_pem_private_key(pki.ca_key.read_bytes(), None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        ca_key = loaded
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        subject = _name(f"litekube-ca@{int(now.timestamp())}")
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_encipherment=False,
                    content_commitment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(pki.ca_key, _key_pem(ca_key))
        pki.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        for stale in (pki.server_cert, pki.admin_cert):
            stale.unlink(missing_ok=True)
    sans = _server_sans(extra_hosts or [])
    if not (pki.server_cert.exists() and pki.server_key.exists()) or _lacks_sans(pki.server_cert, sans):
        key, cert = _issue(ca_key, ca_cert, _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, sans)
        _write_private(pki.server_key, _key_pem(key))
        pki.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if not (pki.admin_cert.exists() and pki.admin_key.exists()):
        key, cert = _issue(
            ca_key, ca_cert, _name("kubernetes-admin", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH
        )
        _write_private(pki.admin_key, _key_pem(key))
        pki.admin_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pki
