from __future__ import annotations

from litekube.api.selectors import selector_from_spec
from litekube.client.base import Client
from litekube.client.fake import FakeTransport
from litekube.controllers.resources import DEPLOYMENTS, EVENTS, PODS
from litekube.machinery.clock import FakeClock
from litekube.machinery.events import EventRecorder
from litekube.machinery.expectations import ControllerExpectations, UIDTrackingControllerExpectations
from litekube.machinery.owners import claim, controller_ref, new_controller_ref


def test_expectations_satisfied_when_observed_or_expired() -> None:
    clock = FakeClock()
    exp = ControllerExpectations(clock)
    assert exp.satisfied_expectations("ns/rs")  # no record: act
    exp.expect_creations("ns/rs", 2)
    assert not exp.satisfied_expectations("ns/rs")
    exp.creation_observed("ns/rs")
    assert not exp.satisfied_expectations("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied_expectations("ns/rs")
    exp.expect_creations("ns/rs", 1)
    clock.advance(301)  # a lost event cannot wedge the owner forever
    assert exp.satisfied_expectations("ns/rs")


def test_uid_tracking_counts_each_deletion_once() -> None:
    exp = UIDTrackingControllerExpectations(FakeClock())
    exp.expect_deletions_of("ns/rs", ["ns/a", "ns/b"])
    exp.deletion_observed_of("ns/rs", "ns/a")
    exp.deletion_observed_of("ns/rs", "ns/a")  # seen again (deletionTimestamp, then DELETE)
    assert not exp.satisfied_expectations("ns/rs")
    exp.deletion_observed_of("ns/rs", "ns/b")
    assert exp.satisfied_expectations("ns/rs")


async def test_event_recorder_creates_then_aggregates_repeats() -> None:
    clock = FakeClock()
    fake = FakeTransport(clock)
    client = Client(fake)
    d = await client.create(DEPLOYMENTS, {"metadata": {"name": "web", "namespace": "default"}, "spec": {}})
    recorder = EventRecorder(client, "deployment-controller", clock)
    await recorder.event(d, "Normal", "ScalingReplicaSet", "Scaled up replica set web-1 from 0 to 3")
    clock.advance(10)
    await recorder.event(d, "Normal", "ScalingReplicaSet", "Scaled up replica set web-1 from 0 to 3")
    await recorder.event(d, "Warning", "Other", "different")
    events = fake.objects(EVENTS)
    assert len(events) == 2
    scaling = next(e for e in events if e["reason"] == "ScalingReplicaSet")
    assert scaling["count"] == 2
    assert scaling["firstTimestamp"] == "2025-01-01T00:00:00Z"
    assert scaling["lastTimestamp"] == "2025-01-01T00:00:10Z"
    assert scaling["involvedObject"] == {
        "kind": "Deployment",
        "namespace": "default",
        "name": "web",
        "uid": d["metadata"]["uid"],
        "apiVersion": "apps/v1",
        "resourceVersion": d["metadata"]["resourceVersion"],
    }
    assert scaling["source"] == {"component": "deployment-controller"}
    assert scaling["reportingComponent"] == "deployment-controller"
    assert scaling["metadata"]["name"].startswith("web.")


async def test_claim_adopts_orphans_but_not_pods_of_other_controllers() -> None:
    fake = FakeTransport(FakeClock())
    client = Client(fake)
    owner = await client.create(
        DEPLOYMENTS, {"metadata": {"name": "o", "namespace": "default"}, "spec": {"selector": {}}}
    )
    other_ref = {"apiVersion": "v1", "kind": "X", "name": "x", "uid": "someone-else", "controller": True}
    orphan = await client.create(PODS, {"metadata": {"name": "orphan", "labels": {"a": "b"}}}, "default")
    taken = await client.create(
        PODS, {"metadata": {"name": "taken", "labels": {"a": "b"}, "ownerReferences": [other_ref]}}, "default"
    )
    unrelated = await client.create(
        PODS, {"metadata": {"name": "unrelated", "labels": {"a": "c"}}}, "default"
    )
    checks: list[int] = []

    async def can_adopt() -> None:
        checks.append(1)

    selector = selector_from_spec({"matchLabels": {"a": "b"}})
    claimed = await claim(client, PODS, owner, DEPLOYMENTS, selector, [orphan, taken, unrelated], can_adopt)
    assert [p["metadata"]["name"] for p in claimed] == ["orphan"]
    assert controller_ref(claimed[0]) == new_controller_ref(owner, DEPLOYMENTS)
    assert checks == [1]
    assert controller_ref(fake.get_object(PODS, "default", "taken") or {}) == other_ref
