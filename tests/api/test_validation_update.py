"""Validation on update: the fields upstream freezes after create."""

from __future__ import annotations

import copy
from typing import Any

from litekube.api.defaults import apply_defaults
from litekube.api.validation import Cause, validate
from tests.api.seed import seed_object


def lines(causes: list[Cause]) -> list[str]:
    return [f"{c.reason} {c.field}: {c.message}" for c in causes]


def stored(file_name: str, kind: str) -> dict[str, Any]:
    obj = seed_object(file_name, kind)
    apply_defaults(obj)
    return obj


def test_unchanged_updates_are_valid() -> None:
    for file_name, kind in [
        ("01-pod-simple-app.yaml", "Pod"),
        ("03-deployment-web-app-deployment.yaml", "Deployment"),
        ("12-batch-job-cronjob.yaml", "Job"),
        ("12-batch-job-cronjob.yaml", "CronJob"),
        ("06-service-nodeport-service.yaml", "Service"),
    ]:
        old = stored(file_name, kind)
        assert validate(copy.deepcopy(old), old) == []


def test_deployment_selector_is_immutable_but_replicas_are_not() -> None:
    old = stored("03-deployment-web-app-deployment.yaml", "Deployment")
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    assert validate(new, old) == []
    new["spec"]["selector"]["matchLabels"]["tier"] = "web"
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "web"
    assert lines(validate(new, old)) == [
        "FieldValueInvalid spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{app: web-app,"
        "tier: web,},MatchExpressions:[]LabelSelectorRequirement{},}: field is immutable"
    ]


def test_metadata_name_and_uid_are_immutable() -> None:
    old = stored("01-pod-simple-app.yaml", "Pod")
    new = copy.deepcopy(old)
    new["metadata"]["name"] = "other"
    new["metadata"]["uid"] = "x"
    assert lines(validate(new, old)) == [
        'FieldValueInvalid metadata.name: Invalid value: "other": field is immutable',
        'FieldValueInvalid metadata.uid: Invalid value: "x": field is immutable',
    ]


def test_pod_spec_only_allows_image_deadline_and_added_tolerations() -> None:
    old = stored("01-pod-simple-app.yaml", "Pod")
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.25"
    new["spec"]["activeDeadlineSeconds"] = 60
    new["spec"]["tolerations"].append({"key": "k", "operator": "Exists"})
    assert validate(new, old) == []
    new["spec"]["containers"][0]["ports"][0]["containerPort"] = 81
    causes = validate(new, old)
    assert [(c.reason, c.field) for c in causes] == [("FieldValueForbidden", "spec")]
    assert causes[0].message.startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    )


def test_job_template_and_selector_are_immutable() -> None:
    old = stored("12-batch-job-cronjob.yaml", "Job")
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "python:3.12"
    assert [(c.field, c.message.endswith("field is immutable")) for c in validate(new, old)] == [
        ("spec.template", True)
    ]


def test_service_cluster_ip_may_not_change() -> None:
    old = stored("04-service-web-app-service.yaml", "Service")
    old["spec"]["clusterIP"] = "10.96.0.20"
    old["spec"]["clusterIPs"] = ["10.96.0.20"]
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.21"
    new["spec"]["clusterIPs"] = ["10.96.0.21"]
    assert lines(validate(new, old)) == [
        'FieldValueInvalid spec.clusterIPs[0]: Invalid value: []string{"10.96.0.21"}: may not change once set'
    ]


def test_immutable_config_maps_and_secret_types() -> None:
    old = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "d"},
        "data": {"a": "1"},
        "immutable": True,
    }
    new = copy.deepcopy(old)
    new["data"]["a"] = "2"
    assert lines(validate(new, old)) == [
        "FieldValueForbidden data: Forbidden: field is immutable when `immutable` is set"
    ]
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "d"},
        "type": "Opaque",
    }
    changed = {**secret, "type": "kubernetes.io/basic-auth", "data": {"username": "dQ=="}}
    assert lines(validate(changed, secret)) == [
        'FieldValueInvalid type: Invalid value: "kubernetes.io/basic-auth": field is immutable'
    ]


def test_stateful_set_frozen_fields() -> None:
    template = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}
    old = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "s", "namespace": "n"},
        "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": template, "serviceName": "s"},
    }
    apply_defaults(old)
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 4
    assert validate(new, old) == []
    new["spec"]["serviceName"] = "other"
    assert [c.field for c in validate(new, old)] == ["spec"]


def test_update_without_uid_or_timestamp_keeps_the_stored_ones() -> None:
    old = stored("01-pod-simple-app.yaml", "Pod")
    old["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    new = copy.deepcopy(old)
    del new["metadata"]["uid"]
    new["metadata"]["creationTimestamp"] = None
    assert validate(new, old) == []
