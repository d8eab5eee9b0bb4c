"""Defaulting: the seed manifests get exactly the fields a real v1.36 cluster shows."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from litekube.api.defaults import apply_defaults, image_pull_policy
from tests.api.seed import UID, seed_fragments, seed_object, seed_objects


def defaulted(file_name: str, kind: str, index: int = 0) -> dict[str, Any]:
    obj = seed_object(file_name, kind, index)
    apply_defaults(obj)
    return obj


def test_every_seed_object_is_defaulted_idempotently() -> None:
    for _name, obj in seed_objects() + seed_fragments():
        apply_defaults(obj)
        again = copy.deepcopy(obj)
        apply_defaults(again)
        assert again == obj


def test_bare_pod_gets_spec_admission_and_status_defaults() -> None:
    pod = defaulted("01-pod-simple-app.yaml", "Pod")
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["securityContext"] == {}
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["enableServiceLinks"] is True
    assert spec["serviceAccountName"] == "default"
    assert spec["serviceAccount"] == "default"
    assert spec["priority"] == 0
    assert spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert spec["tolerations"] == [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert pod["status"] == {"phase": "Pending", "qosClass": "Burstable"}


def test_sidecar_pod_volumes_and_best_effort_qos() -> None:
    pod = defaulted("02-pod-web-app-with-sidecar.yaml", "Pod")
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["shared-logs"] == {"name": "shared-logs", "emptyDir": {}}
    assert volumes["fluent-bit-config"]["configMap"] == {"name": "fluent-bit-config", "defaultMode": 420}
    assert [c["resources"] for c in pod["spec"]["containers"]] == [{}, {}]
    assert pod["status"]["qosClass"] == "BestEffort"


def test_deployment_defaults_and_template_is_not_a_bare_pod() -> None:
    deployment = defaulted("03-deployment-web-app-deployment.yaml", "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 3  # given values are kept
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    template_spec = spec["template"]["spec"]
    assert template_spec["restartPolicy"] == "Always"
    assert template_spec["dnsPolicy"] == "ClusterFirst"
    # admission and Pod-only defaults do not touch templates
    for absent in ("enableServiceLinks", "serviceAccountName", "tolerations", "priority"):
        assert absent not in template_spec
    container = template_spec["containers"][0]
    assert container["livenessProbe"] == {
        "httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
        "initialDelaySeconds": 30,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert container["readinessProbe"]["periodSeconds"] == 5
    assert container["resources"]["requests"] == {"memory": "128Mi", "cpu": "100m"}


def test_recreate_strategy_gets_no_rolling_update() -> None:
    deployment = defaulted("10-stateless-web-app.yaml", "Deployment")
    deployment["spec"]["strategy"] = {"type": "Recreate"}
    apply_defaults(deployment)
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_env_value_from_sources_are_kept() -> None:
    deployment = defaulted("11-microservices.yaml", "Deployment")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db-secret", "key": "url"}}}
    ]


def test_field_ref_gets_api_version() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                }
            ]
        },
    }
    apply_defaults(pod)
    container = pod["spec"]["containers"][0]
    assert container["env"][0]["valueFrom"]["fieldRef"] == {"apiVersion": "v1", "fieldPath": "spec.nodeName"}
    assert container["imagePullPolicy"] == "Always"


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.21", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("localhost:5000/app:2", "IfNotPresent"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


def test_requests_default_from_limits_on_pods_only() -> None:
    container = {"name": "c", "image": "x:1", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [container]}}
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "r"},
        "spec": {"template": {"spec": {"containers": [copy.deepcopy(container)]}}},
    }
    apply_defaults(pod)
    apply_defaults(rs)
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert pod["status"]["qosClass"] == "Guaranteed"
    assert "requests" not in rs["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert rs["spec"]["replicas"] == 1


def test_services_by_type() -> None:
    cluster_ip = defaulted("04-service-web-app-service.yaml", "Service")["spec"]
    assert cluster_ip["sessionAffinity"] == "None"
    assert cluster_ip["internalTrafficPolicy"] == "Cluster"
    assert cluster_ip["ipFamilies"] == ["IPv4"]
    assert cluster_ip["ipFamilyPolicy"] == "SingleStack"
    assert "externalTrafficPolicy" not in cluster_ip
    assert "clusterIP" not in cluster_ip  # allocation is not defaulting
    internal = defaulted("05-service-internal-service.yaml", "Service")["spec"]
    assert internal["ports"] == [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]
    node_port = defaulted("06-service-nodeport-service.yaml", "Service")["spec"]
    assert node_port["externalTrafficPolicy"] == "Cluster"
    assert node_port["ports"][0]["nodePort"] == 30080
    assert "allocateLoadBalancerNodePorts" not in node_port
    lb = defaulted("07-service-loadbalancer-service.yaml", "Service")
    assert lb["spec"]["allocateLoadBalancerNodePorts"] is True
    assert lb["spec"]["externalTrafficPolicy"] == "Cluster"
    assert lb["status"] == {"loadBalancer": {}}
    # no targetPort: the port itself
    plain = defaulted("10-stateless-web-app.yaml", "Service")["spec"]
    assert plain["type"] == "ClusterIP"
    assert plain["ports"][0]["targetPort"] == 80


def test_client_ip_affinity_and_external_name() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {
            "sessionAffinity": "ClientIP",
            "ports": [{"port": 53, "protocol": "UDP", "targetPort": "dns"}],
        },
    }
    apply_defaults(svc)
    assert svc["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    assert svc["spec"]["ports"][0] == {"port": 53, "protocol": "UDP", "targetPort": "dns"}
    ext = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "e"}, "spec": {"type": "ExternalName"}}
    apply_defaults(ext)
    assert "ipFamilies" not in ext["spec"]
    assert "internalTrafficPolicy" not in ext["spec"]


def test_job_defaults_and_generated_selector() -> None:
    job = defaulted("12-batch-job-cronjob.yaml", "Job")
    spec = job["spec"]
    assert spec["backoffLimit"] == 3
    assert spec["completions"] == 1
    assert spec["parallelism"] == 1
    assert spec["completionMode"] == "NonIndexed"
    assert spec["suspend"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}}
    expected_labels = {
        "batch.kubernetes.io/controller-uid": UID,
        "batch.kubernetes.io/job-name": "data-processor",
        "controller-uid": UID,
        "job-name": "data-processor",
    }
    assert spec["template"]["metadata"]["labels"] == expected_labels
    assert job["metadata"]["labels"] == expected_labels
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert "manualSelector" not in spec


@pytest.mark.parametrize(
    ("given", "completions", "parallelism"),
    [({"completions": 5}, 5, 1), ({"parallelism": 3}, None, 3), ({"completions": 4, "parallelism": 2}, 4, 2)],
)
def test_job_completions_and_parallelism(
    given: dict[str, int], completions: int | None, parallelism: int
) -> None:
    job = seed_object("12-batch-job-cronjob.yaml", "Job")
    job["spec"].update(given)
    apply_defaults(job)
    assert job["spec"].get("completions") == completions
    assert job["spec"]["parallelism"] == parallelism


def test_cron_job_defaults_leave_job_fields_alone() -> None:
    cron = defaulted("12-batch-job-cronjob.yaml", "CronJob")
    spec = cron["spec"]
    assert spec["concurrencyPolicy"] == "Allow"
    assert spec["suspend"] is False
    assert spec["successfulJobsHistoryLimit"] == 3
    assert spec["failedJobsHistoryLimit"] == 1
    job_spec = spec["jobTemplate"]["spec"]
    assert "backoffLimit" not in job_spec
    assert job_spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert job_spec["template"]["spec"]["restartPolicy"] == "OnFailure"


def test_ingress_is_unchanged() -> None:
    ingress = seed_object("08-ingress-web-app-ingress.yaml", "Ingress")
    before = copy.deepcopy(ingress)
    apply_defaults(ingress)
    assert ingress == before


def test_fragments_default_like_pods() -> None:
    fragments = dict(seed_fragments())
    probes = fragments["14-fragment-probes.yaml"]
    apply_defaults(probes)
    readiness = probes["spec"]["containers"][0]["readinessProbe"]
    assert readiness["httpGet"] == {"path": "/ready", "port": 8080, "scheme": "HTTP"}
    assert readiness["failureThreshold"] == 3
    security = fragments["15-fragment-security-context.yaml"]
    apply_defaults(security)
    assert security["spec"]["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert security["spec"]["securityContext"] == {}


def test_workload_kinds() -> None:
    template = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "d"},
        "spec": {"template": copy.deepcopy(template)},
    }
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "s"},
        "spec": {
            "template": copy.deepcopy(template),
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}],
        },
    }
    rc = {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "r"},
        "spec": {"template": copy.deepcopy(template)},
    }
    for obj in (ds, sts, rc):
        apply_defaults(obj)
    assert ds["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    assert ds["spec"]["revisionHistoryLimit"] == 10
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"] == {"volumeMode": "Filesystem"}
    assert sts["spec"]["volumeClaimTemplates"][0]["status"] == {"phase": "Pending"}
    assert rc["spec"]["selector"] == {"app": "a"}
    assert rc["metadata"]["labels"] == {"app": "a"}
    assert rc["spec"]["replicas"] == 1


def test_namespace_secret_hpa_and_slices() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
    apply_defaults(ns)
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"a": "eA=="},
        "stringData": {"url": "pg://db"},
    }
    apply_defaults(secret)
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"a": "eA==", "url": "cGc6Ly9kYg=="}
    assert "stringData" not in secret
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"},
        "spec": {
            "maxReplicas": 5,
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}},
        },
    }
    apply_defaults(hpa)
    assert hpa["spec"]["minReplicas"] == 1
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
        }
    ]
    assert hpa["spec"]["behavior"]["scaleUp"]["policies"] == [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ]
    assert hpa["spec"]["behavior"]["scaleDown"] == {
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        "stabilizationWindowSeconds": 60,
    }
    eps = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "e"},
        "addressType": "IPv4",
        "ports": [{"port": 80}],
    }
    apply_defaults(eps)
    assert eps["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]


def test_finalized_namespace_keeps_its_empty_finalizers() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}, "spec": {"finalizers": []}}
    apply_defaults(ns)
    assert ns["spec"]["finalizers"] == []
