"""Event correlation (upstream's numbers) and background recording."""

from __future__ import annotations

from litekube.client.base import Client
from litekube.client.fake import FakeTransport
from litekube.controllers.resources import EVENTS, REPLICA_SETS
from litekube.machinery.clock import FakeClock
from litekube.machinery.events import EventRecorder


async def _setup() -> tuple[FakeClock, FakeTransport, Client, dict[str, object]]:
    clock = FakeClock()
    fake = FakeTransport(clock)
    client = Client(fake)
    rs = await client.create(REPLICA_SETS, {"metadata": {"name": "web", "namespace": "default"}, "spec": {}})
    return clock, fake, client, rs


async def test_ten_similar_events_fold_into_one_combined_event() -> None:
    _, fake, client, rs = await _setup()
    recorder = EventRecorder(client, "replicaset-controller", FakeClock())
    for i in range(15):
        await recorder.event(rs, "Normal", "SuccessfulCreate", f"Created pod: web-{i}")
    events = fake.objects(EVENTS)
    plain = [e for e in events if not e["message"].startswith("(combined")]
    combined = [e for e in events if e["message"].startswith("(combined from similar events): ")]
    assert len(plain) == 9  # the 10th distinct message starts the combined Event
    assert len(combined) == 1
    assert combined[0]["count"] == 6
    assert combined[0]["message"] == "(combined from similar events): Created pod: web-14"


async def test_spam_filter_lets_25_events_per_object_through_then_one_per_5_minutes() -> None:
    clock, fake, client, rs = await _setup()
    recorder = EventRecorder(client, "replicaset-controller", clock)
    writes = 0
    for i in range(40):
        await recorder.event(rs, "Warning", f"Reason{i}", "x")  # distinct reasons: no aggregation
    writes = len(fake.writes_to("events", "POST"))
    assert writes == 25
    clock.advance(299)
    await recorder.event(rs, "Warning", "Late", "x")
    assert len(fake.writes_to("events", "POST")) == 25
    clock.advance(2)
    await recorder.event(rs, "Warning", "Later", "x")
    assert len(fake.writes_to("events", "POST")) == 26


async def test_started_recorder_writes_in_the_background_and_flushes_on_stop() -> None:
    _, fake, client, rs = await _setup()
    recorder = EventRecorder(client, "replicaset-controller", FakeClock())
    recorder.start()
    assert await recorder.event(rs, "Normal", "SuccessfulCreate", "Created pod: web-1") is None
    await recorder.event(rs, "Normal", "SuccessfulCreate", "Created pod: web-1")
    await recorder.stop()
    (event,) = fake.objects(EVENTS)
    assert event["count"] == 2  # the create, then its patch, in order
