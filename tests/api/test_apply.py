"""Server-side apply: merge, removal of dropped fields, managedFields and conflicts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from litekube.api.apply import ApplyConflict, server_side_apply


def _manifest(image: str = "nginx:1.25", replicas: int | None = 2, side: bool = True) -> dict[str, Any]:
    containers: list[dict[str, Any]] = [{"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}]
    if side:
        containers.append({"name": "side", "image": "busybox"})
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": spec,
    }


def _entry(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    [entry] = [e for e in obj["metadata"]["managedFields"] if e["manager"] == manager]
    return entry


def test_create_records_an_apply_entry_in_fields_v1_encoding() -> None:
    applied = _manifest()
    before = copy.deepcopy(applied)
    obj = server_side_apply(None, applied, "kubectl", False)
    assert applied == before
    assert obj["spec"]["replicas"] == 2 and obj["kind"] == "Deployment"
    entry = _entry(obj, "kubectl")
    assert (
        entry["operation"] == "Apply"
        and entry["apiVersion"] == "apps/v1"
        and entry["fieldsType"] == "FieldsV1"
    )
    assert entry["time"].endswith("Z")
    fields = entry["fieldsV1"]
    assert fields["f:metadata"] == {"f:labels": {"f:app": {}}}
    assert fields["f:spec"]["f:selector"] == {}  # atomic map: a leaf
    containers = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert list(containers) == ['k:{"name":"nginx"}', 'k:{"name":"side"}']
    assert containers['k:{"name":"nginx"}'] == {
        ".": {},
        "f:image": {},
        "f:name": {},
        "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
    }


def test_reapply_removes_fields_the_manager_dropped() -> None:
    obj = server_side_apply(None, _manifest(), "kubectl", False)
    updated = server_side_apply(
        obj, _manifest(image="nginx:1.27", replicas=None, side=False), "kubectl", False
    )
    assert "replicas" not in updated["spec"]
    assert updated["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}
    ]
    assert len(updated["metadata"]["managedFields"]) == 1


def test_fields_set_by_others_survive_and_matching_keys_merge() -> None:
    obj = server_side_apply(None, _manifest(), "kubectl", False)
    # The server defaulted the protocol; the manifest's port (no protocol) still matches it.
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = "TCP"
    obj["spec"]["paused"] = False  # nobody owns it
    updated = server_side_apply(obj, _manifest(image="nginx:1.26"), "kubectl", False)
    assert updated["spec"]["paused"] is False
    assert updated["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP"}
    ]


def test_conflict_with_another_manager_and_force() -> None:
    obj = server_side_apply(None, _manifest(), "kubectl", False)
    other = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 5},
    }
    with pytest.raises(ApplyConflict) as info:
        server_side_apply(obj, other, "ci", False)
    assert info.value.causes == [
        {"type": "FieldManagerConflict", "message": 'conflict with "kubectl"', "field": ".spec.replicas"}
    ]
    assert str(info.value) == 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas'
    forced = server_side_apply(obj, other, "ci", True)
    assert forced["spec"]["replicas"] == 5
    assert "f:replicas" not in _entry(forced, "kubectl")["fieldsV1"]["f:spec"]
    assert _entry(forced, "ci")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_same_value_is_shared_without_conflict() -> None:
    obj = server_side_apply(None, _manifest(), "kubectl", False)
    other = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 2},
    }
    shared = server_side_apply(obj, other, "ci", False)
    assert "f:replicas" in _entry(shared, "kubectl")["fieldsV1"]["f:spec"]
    # kubectl drops replicas but ci still owns it: the value stays.
    after = server_side_apply(shared, _manifest(replicas=None), "kubectl", False)
    assert after["spec"]["replicas"] == 2


def test_update_manager_conflict_names_the_api_version() -> None:
    live = _manifest()
    live["metadata"]["managedFields"] = [
        {
            "manager": "kubectl-client-side-apply",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        }
    ]
    with pytest.raises(ApplyConflict) as info:
        server_side_apply(live, _manifest(replicas=3), "kubectl", False)
    assert info.value.causes[0]["message"] == 'conflict with "kubectl-client-side-apply" using apps/v1'


def test_last_applied_manager_gets_its_own_entry() -> None:
    obj = server_side_apply(None, _manifest(), "kubectl", False)
    annotation = {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "annotations": annotation},
    }
    result = server_side_apply(obj, body, "kubectl-last-applied", False)
    entry = _entry(result, "kubectl-last-applied")
    assert entry["operation"] == "Apply"
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/last-applied-configuration": {}}}
    }
    assert result["metadata"]["annotations"] == annotation
    assert result["spec"]["replicas"] == 2


def test_sets_merge_as_union_and_status_is_not_applied() -> None:
    live = _manifest()
    live["metadata"]["finalizers"] = ["x"]
    applied = _manifest()
    applied["metadata"]["finalizers"] = ["y"]
    applied["status"] = {"replicas": 9}
    result = server_side_apply(live, applied, "kubectl", False)
    assert result["metadata"]["finalizers"] == ["x", "y"]  # live-only items keep their place
    assert "status" not in result
    assert _entry(result, "kubectl")["fieldsV1"]["f:metadata"]["f:finalizers"] == {'v:"y"': {}}


def test_multiple_conflicts_message() -> None:
    obj = server_side_apply(None, _manifest(), "kubectl", False)
    with pytest.raises(ApplyConflict) as info:
        server_side_apply(obj, _manifest(image="x", replicas=4), "ci", False)
    assert str(info.value) == (
        'Apply failed with 2 conflicts: conflicts with "kubectl":\n- .spec.replicas\n'
        '- .spec.template.spec.containers[name="nginx"].image'
    )


# --- Update entries of ordinary writes ------------------------------------------------------


def test_create_records_an_update_entry_with_every_field_set() -> None:
    from litekube.api.managed_fields import record_update

    obj = _manifest(side=False)
    record_update(None, obj, "kubectl-client-side-apply")
    [entry] = obj["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl-client-side-apply" and entry["operation"] == "Update"
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1" and entry["time"]
    assert "subresource" not in entry
    fields = entry["fieldsV1"]
    assert fields["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}
    assert fields["f:spec"]["f:replicas"] == {}
    nginx = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert nginx["."] == {} and nginx["f:image"] == {}
    assert nginx["f:ports"]['k:{"containerPort":80,"protocol":"TCP"}'] == {".": {}, "f:containerPort": {}}


def test_update_takes_changed_fields_from_other_managers_and_drops_removed_ones() -> None:
    from litekube.api.managed_fields import record_update

    live = _manifest()
    record_update(None, live, "creator")
    new = copy.deepcopy(live)
    new["spec"]["replicas"] = 5
    new["spec"]["template"]["spec"]["containers"].pop()  # "side" goes
    record_update(live, new, "kubectl-scale", "scale")
    creator, scaler = new["metadata"]["managedFields"]
    assert scaler["manager"] == "kubectl-scale" and scaler["subresource"] == "scale"
    assert scaler["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in creator["fieldsV1"]["f:spec"]
    assert 'k:{"name":"side"}' not in creator["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    # Writing the same again changes nothing, not even the entry's time.
    again = copy.deepcopy(new)
    record_update(new, again, "kubectl-scale", "scale")
    assert again["metadata"]["managedFields"] == new["metadata"]["managedFields"]


def test_status_writes_own_only_status() -> None:
    from litekube.api.managed_fields import record_update

    live = {**_manifest(), "status": {"replicas": 1}}
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 2, "readyReplicas": 2}
    record_update(live, new, "deployment-controller", "status")
    [entry] = new["metadata"]["managedFields"]
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:readyReplicas": {}, "f:replicas": {}}}


def test_apply_conflicts_with_an_update_owner_unless_forced() -> None:
    from litekube.api.managed_fields import record_update

    live = _manifest(replicas=2)
    record_update(None, live, "kubectl-client-side-apply")
    with pytest.raises(ApplyConflict) as caught:
        server_side_apply(live, _manifest(replicas=3), "kubectl", False)
    assert caught.value.causes == [
        {
            "type": "FieldManagerConflict",
            "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
            "field": ".spec.replicas",
        }
    ]
    assert str(caught.value) == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
    )
    # Same values do not conflict; forcing takes the field.
    server_side_apply(live, _manifest(replicas=2), "kubectl", False)
    forced = server_side_apply(live, _manifest(replicas=3), "kubectl", True)
    assert forced["spec"]["replicas"] == 3
    csa = _entry(forced, "kubectl-client-side-apply")
    assert "f:replicas" not in csa["fieldsV1"]["f:spec"]
    assert _entry(forced, "kubectl")["fieldsV1"]["f:spec"]["f:replicas"] == {}


def test_default_manager_is_the_user_agent_program() -> None:
    from litekube.api.managed_fields import default_manager

    assert default_manager("kubectl/v1.36.4 (linux/amd64) kubernetes/abc") == "kubectl"
    assert default_manager("OpenAPI-Generator/31.0.0/python") == "OpenAPI-Generator"
    assert default_manager("") == ""
