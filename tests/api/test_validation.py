"""Validation on create: seed manifests pass; typical mistakes give upstream's paths and messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from litekube.api.defaults import apply_defaults
from litekube.api.validation import Cause, invalid_status, validate
from tests.api.seed import seed_fragments, seed_object, seed_objects

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def lines(causes: list[Cause]) -> list[str]:
    return [f"{c.reason} {c.field}: {c.message}" for c in causes]


def mutated(file_name: str, kind: str, change: Callable[[dict[str, Any]], object]) -> list[str]:
    obj = seed_object(file_name, kind)
    change(obj)
    apply_defaults(obj)
    return lines(validate(obj))


@pytest.mark.parametrize(
    ("name", "obj"), seed_objects() + seed_fragments(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_seed_objects_are_valid_after_defaulting(name: str, obj: dict[str, Any]) -> None:
    apply_defaults(obj)
    assert validate(obj) == []


def test_bad_pod_name() -> None:
    assert mutated("01-pod-simple-app.yaml", "Pod", lambda o: o["metadata"].update(name="Foo_Bar")) == [
        f'FieldValueInvalid metadata.name: Invalid value: "Foo_Bar": {SUBDOMAIN_MSG}'
    ]


def test_service_names_are_dns1035_labels() -> None:
    assert mutated(
        "04-service-web-app-service.yaml", "Service", lambda o: o["metadata"].update(name="1web")
    ) == [
        'FieldValueInvalid metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case '
        "alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric "
        "character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    ]


def test_missing_image_in_template() -> None:
    change = lambda o: o["spec"]["template"]["spec"]["containers"][0].pop("image")  # noqa: E731
    assert mutated("03-deployment-web-app-deployment.yaml", "Deployment", change) == [
        "FieldValueRequired spec.template.spec.containers[0].image: Required value"
    ]


def test_negative_replicas_and_status_message() -> None:
    obj = seed_object("03-deployment-web-app-deployment.yaml", "Deployment")
    obj["spec"]["replicas"] = -1
    apply_defaults(obj)
    causes = validate(obj)
    status = invalid_status("Deployment", "apps", "web-app-deployment", causes)
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Deployment.apps "web-app-deployment" is invalid: spec.replicas: Invalid value: -1: '
        "must be greater than or equal to 0",
        "reason": "Invalid",
        "details": {
            "name": "web-app-deployment",
            "group": "apps",
            "kind": "Deployment",
            "causes": [
                {
                    "reason": "FieldValueInvalid",
                    "message": "Invalid value: -1: must be greater than or equal to 0",
                    "field": "spec.replicas",
                }
            ],
        },
        "code": 422,
    }


def test_status_with_several_causes_for_the_core_group() -> None:
    causes = [
        Cause("FieldValueRequired", "spec.containers[0].image", "Required value"),
        Cause("FieldValueRequired", "spec.containers[0].image", "Required value"),
        Cause("FieldValueInvalid", "metadata.name", 'Invalid value: "x_y": bad'),
    ]
    status = invalid_status("Pod", "", "x_y", causes)
    assert status["message"] == (
        'Pod "x_y" is invalid: [spec.containers[0].image: Required value, metadata.name: Invalid value: "x_y": bad]'
    )
    assert "group" not in status["details"]
    assert len(status["details"]["causes"]) == 3  # the message de-duplicates, the causes do not


def test_selector_does_not_match_template() -> None:
    change = lambda o: o["spec"]["selector"]["matchLabels"].update(app="other")  # noqa: E731
    assert mutated("03-deployment-web-app-deployment.yaml", "Deployment", change) == [
        'FieldValueInvalid spec.template.metadata.labels: Invalid value: map[string]string{"app":"web-app"}: '
        "`selector` does not match template `labels`"
    ]


def test_missing_and_empty_selector() -> None:
    assert mutated("10-stateless-web-app.yaml", "Deployment", lambda o: o["spec"].pop("selector")) == [
        "FieldValueRequired spec.selector: Required value"
    ]
    assert mutated("10-stateless-web-app.yaml", "Deployment", lambda o: o["spec"].update(selector={})) == [
        "FieldValueInvalid spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{},"
        "MatchExpressions:[]LabelSelectorRequirement{},}: empty selector is invalid for deployment"
    ]


def test_port_out_of_range() -> None:
    change = lambda o: o["spec"]["containers"][0]["ports"][0].update(containerPort=70000)  # noqa: E731
    assert mutated("01-pod-simple-app.yaml", "Pod", change) == [
        "FieldValueInvalid spec.containers[0].ports[0].containerPort: Invalid value: 70000: "
        "must be between 1 and 65535, inclusive"
    ]
    change = lambda o: o["spec"]["ports"][0].update(port=70000)  # noqa: E731
    assert mutated("04-service-web-app-service.yaml", "Service", change) == [
        "FieldValueInvalid spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"
    ]


def test_job_restart_policy_always() -> None:
    change = lambda o: o["spec"]["template"]["spec"].pop("restartPolicy")  # noqa: E731
    assert mutated("12-batch-job-cronjob.yaml", "Job", change) == [
        'FieldValueNotSupported spec.template.spec.restartPolicy: Unsupported value: "Always": '
        'supported values: "OnFailure", "Never"'
    ]


def test_pod_restart_policy_and_dns_policy_values() -> None:
    change = lambda o: o["spec"].update(restartPolicy="Sometimes", dnsPolicy="Auto")  # noqa: E731
    assert mutated("01-pod-simple-app.yaml", "Pod", change) == [
        'FieldValueNotSupported spec.restartPolicy: Unsupported value: "Sometimes": '
        'supported values: "Always", "OnFailure", "Never"',
        'FieldValueNotSupported spec.dnsPolicy: Unsupported value: "Auto": '
        'supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
    ]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 25 * * *", "end of range (25) above maximum (23): 25"),
        ("every day", "expected exactly 5 fields, found 2: [every day]"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ],
)
def test_invalid_cron_schedule(schedule: str, message: str) -> None:
    change = lambda o: o["spec"].update(schedule=schedule)  # noqa: E731
    assert mutated("12-batch-job-cronjob.yaml", "CronJob", change) == [
        f'FieldValueInvalid spec.schedule: Invalid value: "{schedule}": {message}'
    ]


@pytest.mark.parametrize(
    "schedule", ["*/5 * * * *", "0 6 * * MON-FRI", "@hourly", "0 0 1 jan,jul *", "15 3 * * 0"]
)
def test_valid_cron_schedules(schedule: str) -> None:
    assert (
        mutated("12-batch-job-cronjob.yaml", "CronJob", lambda o: o["spec"].update(schedule=schedule)) == []
    )


def test_cron_time_zone_and_missing_schedule() -> None:
    assert (
        mutated("12-batch-job-cronjob.yaml", "CronJob", lambda o: o["spec"].update(timeZone="Asia/Tokyo"))
        == []
    )
    assert mutated(
        "12-batch-job-cronjob.yaml", "CronJob", lambda o: o["spec"].update(timeZone="Mars/Olympus")
    ) == ['FieldValueInvalid spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus']
    assert mutated("12-batch-job-cronjob.yaml", "CronJob", lambda o: o["spec"].pop("schedule")) == [
        "FieldValueRequired spec.schedule: Required value"
    ]


def test_ingress_path_type_missing_and_relative_path() -> None:
    change = lambda o: o["spec"]["rules"][0]["http"]["paths"][0].pop("pathType")  # noqa: E731
    assert mutated("08-ingress-web-app-ingress.yaml", "Ingress", change) == [
        "FieldValueRequired spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"
    ]
    change = lambda o: o["spec"]["rules"][0]["http"]["paths"][1].update(path="api")  # noqa: E731
    assert mutated("08-ingress-web-app-ingress.yaml", "Ingress", change) == [
        'FieldValueInvalid spec.rules[0].http.paths[1].path: Invalid value: "api": must be an absolute path'
    ]
    change = lambda o: o["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"].pop("port")  # noqa: E731
    assert mutated("09-ingress-secure-ingress.yaml", "Ingress", change) == [
        "FieldValueRequired spec.rules[0].http.paths[0].backend: Required value: port name or number is required"
    ]


def test_service_port_names_node_ports_and_type() -> None:
    change = lambda o: o["spec"]["ports"].append({"port": 81})  # noqa: E731
    assert mutated("05-service-internal-service.yaml", "Service", change) == [
        "FieldValueRequired spec.ports[0].name: Required value",
        "FieldValueRequired spec.ports[1].name: Required value",
    ]
    change = lambda o: o["spec"]["ports"][0].update(nodePort=80)  # noqa: E731
    assert mutated("06-service-nodeport-service.yaml", "Service", change) == [
        "FieldValueInvalid spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. "
        "The range of valid ports is 30000-32767"
    ]
    change = lambda o: o["spec"].update(type="Public")  # noqa: E731
    assert (
        'FieldValueNotSupported spec.type: Unsupported value: "Public": supported values: "ClusterIP", '
        '"ExternalName", "LoadBalancer", "NodePort"'
        in mutated("05-service-internal-service.yaml", "Service", change)
    )
    change = lambda o: o["spec"].update(clusterIP="10.96.0.300")  # noqa: E731
    assert mutated("05-service-internal-service.yaml", "Service", change) == [
        'FieldValueInvalid spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, '
        "(e.g. 10.9.8.7 or 2001:db8::ffff)"
    ]


def test_container_mistakes() -> None:
    change = lambda o: o["spec"]["containers"][1].update(name="web-app")  # noqa: E731
    assert mutated("02-pod-web-app-with-sidecar.yaml", "Pod", change) == [
        'FieldValueDuplicate spec.containers[1].name: Duplicate value: "web-app"'
    ]
    assert mutated("02-pod-web-app-with-sidecar.yaml", "Pod", lambda o: o["spec"]["volumes"].pop()) == [
        'FieldValueNotFound spec.containers[1].volumeMounts[1].name: Not found: "fluent-bit-config"'
    ]
    change = lambda o: o["spec"]["containers"][0]["resources"]["requests"].update(cpu="1")  # noqa: E731
    assert mutated("01-pod-simple-app.yaml", "Pod", change) == [
        'FieldValueInvalid spec.containers[0].resources.requests: Invalid value: "1": '
        "must be less than or equal to cpu limit of 200m"
    ]
    assert mutated("01-pod-simple-app.yaml", "Pod", lambda o: o["spec"].update(containers=[])) == [
        "FieldValueRequired spec.containers: Required value"
    ]
    change = lambda o: o["spec"]["containers"][0]["ports"][0].update(protocol="HTTP")  # noqa: E731
    assert mutated("01-pod-simple-app.yaml", "Pod", change) == [
        'FieldValueNotSupported spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": '
        'supported values: "SCTP", "TCP", "UDP"'
    ]


def test_probe_and_strategy_mistakes() -> None:
    def no_handler(o: dict[str, Any]) -> None:
        o["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] = {"periodSeconds": -1}

    assert mutated("03-deployment-web-app-deployment.yaml", "Deployment", no_handler) == [
        "FieldValueRequired spec.template.spec.containers[0].livenessProbe: Required value: must specify a handler type",
        "FieldValueInvalid spec.template.spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: "
        "must be greater than or equal to 0",
    ]
    zero = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}
    assert mutated(
        "03-deployment-web-app-deployment.yaml", "Deployment", lambda o: o["spec"].update(strategy=zero)
    ) == [
        "FieldValueInvalid spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"
    ]
    bad = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "x", "maxUnavailable": "150%"}}
    assert mutated(
        "03-deployment-web-app-deployment.yaml", "Deployment", lambda o: o["spec"].update(strategy=bad)
    ) == [
        "FieldValueInvalid spec.strategy.rollingUpdate.maxSurge: Invalid value: x: must be an integer or percentage (e.g '5%')",
        "FieldValueInvalid spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 150%: must not be greater than 100%",
    ]
    assert mutated(
        "03-deployment-web-app-deployment.yaml",
        "Deployment",
        lambda o: o["spec"].update(strategy={"type": "BlueGreen"}),
    ) == [
        'FieldValueNotSupported spec.strategy.type: Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"'
    ]


def test_labels_and_annotations() -> None:
    change = lambda o: o["metadata"]["labels"].update({"bad key!": "ok"})  # noqa: E731
    assert mutated("01-pod-simple-app.yaml", "Pod", change) == [
        'FieldValueInvalid metadata.labels: Invalid value: "bad key!": name part must consist of alphanumeric '
        "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
        "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    ]
    change = lambda o: o["metadata"]["annotations"].update({"x": "y" * 262144})  # noqa: E731
    assert mutated("08-ingress-web-app-ingress.yaml", "Ingress", change) == [
        "FieldValueTooLong metadata.annotations: Too long: must have at most 262144 bytes"
    ]


def test_metadata_name_and_namespace_rules() -> None:
    pod = seed_object("01-pod-simple-app.yaml", "Pod")
    del pod["metadata"]["name"]
    del pod["metadata"]["namespace"]
    apply_defaults(pod)
    assert lines(validate(pod)) == [
        "FieldValueRequired metadata.name: Required value: name or generateName is required",
        "FieldValueRequired metadata.namespace: Required value",
    ]
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b", "namespace": "x"}}
    apply_defaults(ns)
    assert lines(validate(ns)) == [
        'FieldValueInvalid metadata.name: Invalid value: "a.b": must not contain dots',
        "FieldValueForbidden metadata.namespace: Forbidden: not allowed on this type",
    ]


def test_config_map_and_secret_keys() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "d"},
        "data": {"a/b": "1"},
    }
    assert lines(validate(cm)) == [
        'FieldValueInvalid data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric '
        "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
        "is '[-._a-zA-Z0-9]+')"
    ]
    tls = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "t", "namespace": "d"},
        "type": "kubernetes.io/tls",
        "data": {},
    }
    assert lines(validate(tls)) == [
        "FieldValueRequired data[tls.crt]: Required value",
        "FieldValueRequired data[tls.key]: Required value",
    ]


def test_cron_job_and_other_kinds() -> None:
    change = lambda o: o["metadata"].update(name="a" * 53)  # noqa: E731
    assert mutated("12-batch-job-cronjob.yaml", "CronJob", change) == [
        f'FieldValueInvalid metadata.name: Invalid value: "{"a" * 53}": must be no more than 52 characters'
    ]
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h", "namespace": "d"},
        "spec": {"minReplicas": 3, "maxReplicas": 2, "scaleTargetRef": {"kind": "Deployment", "name": "web"}},
    }
    apply_defaults(hpa)
    assert lines(validate(hpa)) == [
        "FieldValueInvalid spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"
    ]
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "n", "namespace": "d"},
        "spec": {"leaseDurationSeconds": 0},
    }
    assert lines(validate(lease)) == [
        "FieldValueInvalid spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"
    ]
    eps = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "e", "namespace": "d"},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["::1"]}],
    }
    apply_defaults(eps)
    assert lines(validate(eps)) == [
        'FieldValueInvalid endpoints[0].addresses[0]: Invalid value: "::1": must be a valid IPv4 address'
    ]
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n1"},
        "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]},
    }
    assert lines(validate(node)) == [
        'FieldValueNotSupported spec.taints[0].effect: Unsupported value: "Sometimes": supported values: '
        '"NoSchedule", "PreferNoSchedule", "NoExecute"'
    ]


def test_daemon_set_and_stateful_set() -> None:
    template = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "d", "namespace": "n"},
        "spec": {"selector": {"matchLabels": {"app": "b"}}, "template": template},
    }
    apply_defaults(ds)
    assert lines(validate(ds)) == [
        'FieldValueInvalid spec.template.metadata.labels: Invalid value: map[string]string{"app":"a"}: '
        "`selector` does not match template `labels`"
    ]
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "s", "namespace": "n"},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": template,
            "podManagementPolicy": "Random",
        },
    }
    apply_defaults(sts)
    assert lines(validate(sts)) == [
        "FieldValueInvalid spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"
    ]


def test_wrong_json_types_give_one_cause_instead_of_a_crash() -> None:
    obj = seed_object("03-deployment-web-app-deployment.yaml", "Deployment")
    obj["spec"]["template"]["metadata"] = 5
    apply_defaults(obj)
    assert [(c.reason, c.field) for c in validate(obj)] == [("FieldValueTypeInvalid", "")]
    obj = seed_object("03-deployment-web-app-deployment.yaml", "Deployment")
    obj["spec"]["template"]["spec"]["containers"] = 5
    apply_defaults(obj)
    assert [(c.reason, c.field) for c in validate(obj)] == [
        ("FieldValueTypeInvalid", "spec.template.spec.containers")
    ]
