"""Schema access: definitions by kind, patch metadata, unknown-field detection."""

from __future__ import annotations

from litekube.api.schema import (
    definition_name_for,
    patch_meta,
    strict_decoding_message,
    unknown_field_warnings,
    unknown_fields,
)


def test_definition_names_by_group_version_kind() -> None:
    assert definition_name_for("apps", "v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert definition_name_for("", "v1", "Pod") == "io.k8s.api.core.v1.Pod"
    assert definition_name_for("autoscaling", "v1", "Scale") == "io.k8s.api.autoscaling.v1.Scale"
    assert definition_name_for("example.com", "v1", "Widget") is None


def test_patch_meta_for_lists_and_fields() -> None:
    containers = patch_meta("apps", "v1", "Deployment", ("spec", "template", "spec", "containers"))
    assert containers.kind == "list" and containers.merges_list and containers.merge_key == "name"
    assert containers.list_type == "map" and containers.list_map_keys == ("name",)
    ports = patch_meta("", "v1", "Pod", ("spec", "containers", "ports"))
    assert ports.merge_key == "containerPort" and ports.list_map_keys == ("containerPort", "protocol")
    volumes = patch_meta("", "v1", "Pod", ("spec", "volumes"))
    assert volumes.merges_list and volumes.retains_keys
    strategy = patch_meta("apps", "v1", "Deployment", ("spec", "strategy"))
    assert strategy.kind == "struct" and strategy.retains_keys and not strategy.merges_list
    args = patch_meta("", "v1", "Pod", ("spec", "containers", "args"))
    assert args.kind == "list" and not args.merges_list and args.list_type == "atomic"
    finalizers = patch_meta("", "v1", "Pod", ("metadata", "finalizers"))
    assert finalizers.merges_list and finalizers.merge_key is None and finalizers.list_type == "set"
    assert patch_meta("", "v1", "Pod", ("metadata", "labels")).kind == "map"
    assert patch_meta("", "v1", "Pod", ("spec", "selector")).kind is None
    assert patch_meta("apps", "v1", "Deployment", ("spec", "selector")).map_type == "atomic"


def test_opaque_leaves() -> None:
    assert (
        patch_meta("apps", "v1", "Deployment", ("spec", "strategy", "rollingUpdate", "maxSurge")).kind
        == "opaque"
    )
    limits = ("spec", "containers", "resources", "limits", "cpu")
    assert patch_meta("", "v1", "Pod", limits).kind == "opaque"
    assert patch_meta("", "v1", "Pod", ("metadata", "creationTimestamp")).kind == "opaque"
    assert patch_meta("", "v1", "Pod", ("spec", "replicas")).kind is None


def test_unknown_fields_reports_upstream_paths() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "labels": {"any": "key"}, "annotations": {"a/b": "c"}, "bogus": 1},
        "spec": {
            "foo": 1,
            "strategy": {"rollingUpdate": {"maxSurge": "25%"}},
            "template": {
                "spec": {
                    "containers": [
                        {"name": "a", "resources": {"limits": {"cpu": "1"}}},
                        {"name": "b", "imagePullPolice": "x", "ports": [{"containerPort": 80, "hostPot": 1}]},
                    ]
                }
            },
        },
        "status": {"replicas": 1},
    }
    assert unknown_fields(obj) == [
        "metadata.bogus",
        "spec.foo",
        "spec.template.spec.containers[1].imagePullPolice",
        "spec.template.spec.containers[1].ports[0].hostPot",
    ]


def test_unknown_fields_is_empty_for_valid_and_unknown_kinds() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c"}]},
    }
    assert unknown_fields(pod) == []
    assert unknown_fields({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"x": 1}}) == []


def test_messages_match_upstream_wording() -> None:
    assert strict_decoding_message("Deployment", "v1", ["spec.foo", "spec.bar"]) == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.foo", unknown field "spec.bar"'
    )
    assert unknown_field_warnings(["spec.foo"]) == ['unknown field "spec.foo"']


def _deployment(spec: object) -> dict[str, object]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec}


def test_wrong_json_types_are_reported_as_go_decoding_does() -> None:
    from litekube.api.schema import decoding_message, type_mismatch

    prefix = "json: cannot unmarshal "
    cases = [
        ({"replicas": "three"}, "string into Go struct field DeploymentSpec.spec.replicas of type int32"),
        ({"replicas": 1.5}, "number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"),
        (
            {"replicas": 2**31},
            f"number {2**31} into Go struct field DeploymentSpec.spec.replicas of type int32",
        ),
        ({"paused": "yes"}, "string into Go struct field DeploymentSpec.spec.paused of type bool"),
        (
            {"template": {"spec": {"containers": {}}}},
            "object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container",
        ),
        (
            {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": 7}]}]}}},
            "number into Go struct field EnvVar.spec.template.spec.containers.env.value of type string",
        ),
        (
            {"template": {"metadata": {"labels": ["a"]}}},
            "array into Go struct field ObjectMeta.spec.template.metadata.labels of type map[string]string",
        ),
        (
            {"strategy": {"rollingUpdate": {"maxSurge": True}}},
            "bool into Go struct field "
            "RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type int32",
        ),
        ("x", "string into Go struct field Deployment.spec of type v1.DeploymentSpec"),
    ]
    for spec, expected in cases:
        assert type_mismatch(_deployment(spec)) == prefix + expected, spec
    # The first mismatch in document order wins, as Go reports it.
    assert "spec.paused" in (type_mismatch(_deployment({"paused": 1, "replicas": "x"})) or "")
    assert decoding_message("Deployment", "v1", "boom") == (
        'Deployment in version "v1" cannot be handled as a Deployment: boom'
    )


def test_values_of_the_right_type_and_opaque_types_pass() -> None:
    from litekube.api.schema import type_mismatch

    spec = {
        "replicas": None,  # null fits every type
        "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
            "spec": {
                "containers": [
                    {"name": "a", "image": "x", "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}}
                ]
            },
        },
        "unknownField": 5,  # left to the unknown-field check
    }
    assert type_mismatch(_deployment(spec)) is None
    assert type_mismatch({"apiVersion": "example.com/v1", "kind": "Widget", "spec": 1}) is None
