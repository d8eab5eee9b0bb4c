"""IngressController against the fake API and a fake nginx: class, status, Events, rejected configs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from litekube.api.resources import lookup
from litekube.client.base import Client
from litekube.client.fake import FakeTransport
from litekube.ingress.controller import (
    ENDPOINT_SLICES,
    INGRESS_CLASSES,
    INGRESSES,
    SERVICES,
    IngressController,
)
from litekube.ingress.nginx_process import FakeNginx
from litekube.machinery.clock import RealClock
from tests.ingress import objects

EVENTS = lookup("", "v1", "events")
assert EVENTS is not None
A = "nginx.ingress.kubernetes.io/"


async def wait_for(predicate: Callable[[], object], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Client, FakeTransport, FakeNginx, IngressController]]:
    transport = FakeTransport()
    client = Client(transport)
    nginx = FakeNginx(reject="client_max_body_size lots;")
    controller = IngressController(
        client, tmp_path, 8080, 8443, "127.0.0.1", RealClock(), nginx=nginx, debounce=0.01
    )
    for obj in objects.seed_backends(["10.244.0.5"], ["10.244.0.6"]):
        await client.create(SERVICES if obj["kind"] == "Service" else ENDPOINT_SLICES, obj)
    yield client, transport, nginx, controller
    await controller.stop()


def events(transport: FakeTransport, reason: str) -> list[dict[str, object]]:
    return [e for e in transport.objects(EVENTS) if e["reason"] == reason]


async def test_start_creates_default_class_and_sets_status(
    setup: tuple[Client, FakeTransport, FakeNginx, IngressController],
) -> None:
    client, transport, nginx, controller = setup
    await client.create(INGRESSES, objects.seed_ingress("08"))
    await controller.start()
    ingress_class = transport.get_object(INGRESS_CLASSES, None, "nginx")
    assert ingress_class is not None
    assert ingress_class["metadata"]["annotations"] == {"ingressclass.kubernetes.io/is-default-class": "true"}
    assert nginx.current is not None and "server_name myapp.example.com;" in nginx.current
    assert "listen 127.0.0.1:8443 ssl http2;" in nginx.current

    def address() -> object:
        obj = transport.get_object(INGRESSES, "default", "web-app-ingress") or {}
        return obj.get("status", {}).get("loadBalancer", {}).get("ingress")

    await wait_for(lambda: address() == [{"ip": "127.0.0.1"}])
    loaded = len(nginx.loaded)
    await controller.sync()  # nothing changed: no reload, no new status write
    assert len(nginx.loaded) == loaded
    assert len(transport.writes_to("ingresses", "PATCH", subresource="status")) == 1


async def test_problems_become_warning_events_once_per_change(
    setup: tuple[Client, FakeTransport, FakeNginx, IngressController],
) -> None:
    client, transport, _nginx, controller = setup
    body = objects.ingress(
        "odd",
        [objects.rule("odd.example.com", ("/", "Prefix", "no-such-service", 80))],
        annotations={A + "enable-cors": "true"},
    )
    await client.create(INGRESSES, body)
    await controller.start()
    await wait_for(
        lambda: events(transport, "UnsupportedAnnotation") and events(transport, "ServiceNotFound")
    )
    for _ in range(3):
        await controller.sync()
    assert len(events(transport, "UnsupportedAnnotation")) == 1
    assert events(transport, "UnsupportedAnnotation")[0]["count"] == 1  # not re-sent per sync
    assert events(transport, "ServiceNotFound")[0]["type"] == "Warning"
    # a change of the Ingress reports again (the recorder aggregates into the same Event)
    current = transport.get_object(INGRESSES, "default", "odd")
    assert current is not None
    current["metadata"]["annotations"]["unrelated.example.com/x"] = "1"
    await client.update(INGRESSES, current)
    await wait_for(lambda: events(transport, "UnsupportedAnnotation")[0]["count"] == 2)


async def test_rejected_config_keeps_the_last_good_one(
    setup: tuple[Client, FakeTransport, FakeNginx, IngressController],
) -> None:
    client, transport, nginx, controller = setup
    await client.create(INGRESSES, objects.seed_ingress("08"))
    await controller.start()
    good = nginx.current
    current = transport.get_object(INGRESSES, "default", "web-app-ingress")
    assert current is not None
    current["metadata"]["annotations"][A + "proxy-body-size"] = "lots"
    await client.update(INGRESSES, current)
    await wait_for(lambda: controller.rejections == 1)
    assert nginx.current == good
    await wait_for(lambda: events(transport, "InvalidConfiguration"))
    assert "last good" in str(events(transport, "InvalidConfiguration")[0]["message"])
    for _ in range(3):  # the same bad text is not offered again
        await controller.sync()
    assert len(nginx.rejected) == 1
