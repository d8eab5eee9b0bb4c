"""Which address the API server advertises, and a serving certificate that names it."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from litekube.apiserver.pki import ensure_pki
from litekube.machinery import hostnet


def sans(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(ip) for ip in ext.get_values_for_type(x509.IPAddress)}


def test_advertise_address_follows_the_bind_address() -> None:
    node_ip = hostnet.primary_ipv4()
    assert ipaddress.ip_address(node_ip).version == 4
    assert hostnet.advertise_address("0.0.0.0") == node_ip
    assert hostnet.advertise_address("::") == node_ip
    assert hostnet.advertise_address("192.0.2.5") == "192.0.2.5"
    assert hostnet.advertise_address("127.0.0.1") == "127.0.0.1"
    assert hostnet.advertise_address("127.0.0.2") == "127.0.0.1"


def test_serving_cert_is_reissued_when_an_address_is_missing(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    first = ensure_pki(tls, [])
    ca_before, cert_before = first.ca_cert.read_bytes(), first.server_cert.read_bytes()
    assert "192.0.2.44" not in sans(first.server_cert)

    again = ensure_pki(tls, [])  # nothing new: kept as is
    assert again.server_cert.read_bytes() == cert_before

    grown = ensure_pki(tls, ["192.0.2.44"])
    assert grown.ca_cert.read_bytes() == ca_before  # same CA: kubeconfigs and pods keep trusting it
    assert grown.server_cert.read_bytes() != cert_before
    assert {"192.0.2.44", "10.96.0.1", "127.0.0.1"} <= sans(grown.server_cert)
    ca = x509.load_pem_x509_certificate(grown.ca_cert.read_bytes())
    leaf = x509.load_pem_x509_certificate(grown.server_cert.read_bytes())
    leaf.verify_directly_issued_by(ca)
