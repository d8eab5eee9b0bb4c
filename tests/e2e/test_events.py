"""Events: one store served as core/v1 and events.k8s.io/v1, filtered by involvedObject.uid as describe does."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cluster

pytestmark = pytest.mark.e2e


def test_core_event_is_served_by_events_k8s_io_and_describe_shows_it(cluster: Cluster) -> None:
    from kubernetes import client

    api = cluster.api_client()
    core = client.CoreV1Api(api)
    cluster.ok("create", "namespace", "events")
    cm = core.create_namespaced_config_map("events", {"metadata": {"name": "subject"}})
    core.create_namespaced_event(
        "events",
        {
            "metadata": {"name": "subject.1"},
            "involvedObject": {
                "kind": "ConfigMap",
                "namespace": "events",
                "name": "subject",
                "uid": cm.metadata.uid,
                "apiVersion": "v1",
            },
            "reason": "Tested",
            "message": "hello from the test",
            "type": "Normal",
            "source": {"component": "pytest"},
            "firstTimestamp": "2026-01-01T00:00:00Z",
            "lastTimestamp": "2026-01-01T00:00:00Z",
            "count": 2,
        },
    )
    new = json.loads(cluster.ok("get", "--raw", "/apis/events.k8s.io/v1/namespaces/events/events/subject.1"))
    assert new["apiVersion"] == "events.k8s.io/v1" and new["kind"] == "Event"
    assert new["note"] == "hello from the test" and new["regarding"]["uid"] == cm.metadata.uid
    assert new["deprecatedCount"] == 2 and new["reportingController"] == "pytest"
    # eventTime stays null for events written through core/v1, as upstream serves them
    listed = json.loads(cluster.ok("get", "--raw", "/apis/events.k8s.io/v1/namespaces/events/events"))
    assert [e["note"] for e in listed["items"]] == ["hello from the test"]
    assert listed["items"][0]["eventTime"] is None
    # the field selector describe uses
    sel = f"involvedObject.name=subject,involvedObject.namespace=events,involvedObject.uid={cm.metadata.uid}"
    found = core.list_namespaced_event("events", field_selector=sel)
    assert len(found.items) == 1
    assert "Tested" in cluster.ok("describe", "configmap", "subject", "-n", "events")
    out = cluster.ok("get", "events", "-n", "events")
    assert "configmap/subject" in out and "hello from the test" in out
    # written through events.k8s.io, read back as core/v1
    client.EventsV1Api(api).create_namespaced_event(
        "events",
        {
            "metadata": {"name": "subject.2"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingController": "x",
            "reportingInstance": "x-1",
            "action": "Test",
            "reason": "Second",
            "note": "via events.k8s.io",
            "type": "Warning",
            "regarding": {"kind": "ConfigMap", "namespace": "events", "name": "subject"},
        },
    )
    ev = core.read_namespaced_event("subject.2", "events")
    assert ev.message == "via events.k8s.io" and ev.involved_object.name == "subject" and ev.type == "Warning"
