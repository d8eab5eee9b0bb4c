"""The service-range address made local (dummy interface or lo), answered from the host, then removed."""

from __future__ import annotations

import os
import shutil
import subprocess

import dns.asyncquery
import dns.message
import pytest

from litekube.client.base import Client
from litekube.client.fake import FakeTransport
from litekube.dns.server import ClusterDNS
from litekube.proxy.proxier import SERVICES
from tests.proxy.objects import service

pytestmark = pytest.mark.root

ADDRESS, INTERFACE = "10.96.250.53", "litekube-dnst"


def address_is_local() -> bool:
    out = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=False).stdout
    return f" {ADDRESS}/32 " in out


async def test_listens_on_service_address_and_removes_interface() -> None:
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and ip")
    client = Client(FakeTransport())
    await client.create(SERVICES, service("web", "10.96.0.20", [{"port": 80}]))
    server = ClusterDNS(client, listen=[(ADDRESS, 53)], upstreams=[], interface_name=INTERFACE)
    try:
        await server.start()
        assert address_is_local()
        query = dns.message.make_query("web.default.svc.cluster.local", "A")
        for ask in (dns.asyncquery.udp, dns.asyncquery.tcp):
            response = await ask(query, ADDRESS, timeout=2, port=53)
            assert [rd.to_text() for rd in response.answer[0]] == ["10.96.0.20"]
    finally:
        await server.stop()
        subprocess.run(["ip", "link", "del", INTERFACE], capture_output=True, check=False)
        subprocess.run(["ip", "addr", "del", f"{ADDRESS}/32", "dev", "lo"], capture_output=True, check=False)
    assert not address_is_local()
