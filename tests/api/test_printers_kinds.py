"""Tables of the non-pod kinds, with the cell values upstream's printers produce."""

from __future__ import annotations

from typing import Any

import pytest

from litekube.api.printers import build_table
from litekube.api.resources import RESOURCE_TYPES, ResourceType
from tests.api.test_printers_support import NOW, ago, by_name, row, rt


def meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(600), **extra}


def template(*containers: tuple[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": n, "image": i} for n, i in containers]},
    }


def column_names(resource: ResourceType) -> list[tuple[str, str, int]]:
    return [
        (c["name"], c["type"], c["priority"]) for c in build_table(resource, [], now=NOW)["columnDefinitions"]
    ]


def test_every_served_kind_renders_a_row() -> None:
    for resource in RESOURCE_TYPES:
        table = build_table(resource, [{"metadata": meta("x")}], now=NOW)
        assert len(table["rows"][0]["cells"]) == len(table["columnDefinitions"]), resource.kind
        assert all(c["description"] for c in table["columnDefinitions"]), resource.kind


def test_deployment() -> None:
    deployment = {
        "metadata": meta("web"),
        "spec": {
            "replicas": 3,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}],
            },
            "template": template(("nginx", "nginx:1.25"), ("sidecar", "busybox")),
        },
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    deployments = rt("apps", "deployments")
    assert column_names(deployments) == [
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Up-to-date", "string", 0),
        ("Available", "string", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ]
    assert row(deployments, deployment) == [
        "web", "2/3", 3, 2, "10m", "nginx,sidecar", "nginx:1.25,busybox", "app=web,tier in (be,fe)",
    ]  # fmt: skip


def test_replica_set_and_replication_controller() -> None:
    rs = {
        "metadata": meta("web-5d4f8c9b7"),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4f8c9b7"}},
            "template": template(("nginx", "nginx")),
        },
        "status": {"replicas": 2, "readyReplicas": 1},
    }
    assert row(rt("apps", "replicasets"), rs) == [
        "web-5d4f8c9b7", 2, 2, 1, "10m", "nginx", "nginx", "app=web,pod-template-hash=5d4f8c9b7",
    ]  # fmt: skip
    rc = {
        "metadata": meta("old"),
        "spec": {"replicas": 1, "selector": {"b": "2", "a": "1"}, "template": template(("c", "img"))},
    }
    assert row(rt("", "replicationcontrollers"), rc) == ["old", 1, 0, 0, "10m", "c", "img", "a=1,b=2"]
    assert column_names(rt("apps", "replicasets"))[1] == ("Desired", "integer", 0)


def test_daemon_set_and_stateful_set() -> None:
    ds = {
        "metadata": meta("agent"),
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "spec": {
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "containers": [{"name": "a", "image": "agent:1"}],
                }
            },
        },
        "status": {
            "desiredNumberScheduled": 2,
            "currentNumberScheduled": 2,
            "numberReady": 1,
            "updatedNumberScheduled": 2,
            "numberAvailable": 1,
        },
    }
    assert row(rt("apps", "daemonsets"), ds) == [
        "agent", 2, 2, 1, 2, 1, "kubernetes.io/os=linux", "10m", "a", "agent:1", "app=agent",
    ]  # fmt: skip
    ds["spec"]["template"]["spec"].pop("nodeSelector")
    assert by_name(rt("apps", "daemonsets"), ds)["Node Selector"] == "<none>"
    sts = {
        "metadata": meta("db"),
        "spec": {"replicas": 3, "template": template(("pg", "postgres:16"))},
        "status": {"readyReplicas": 3},
    }
    assert row(rt("apps", "statefulsets"), sts) == ["db", "3/3", "10m", "pg", "postgres:16"]


def test_controller_revision() -> None:
    owner = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": True, "uid": "u"}
    revision = {"metadata": meta("db-7c9f", ownerReferences=[owner]), "revision": 2}
    assert row(rt("apps", "controllerrevisions"), revision) == ["db-7c9f", "statefulset.apps/db", 2, "10m"]


def job(**status: Any) -> dict[str, Any]:
    return {
        "metadata": meta("pi"),
        "spec": {
            "completions": 1,
            "parallelism": 1,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}},
            "template": template(("pi", "perl")),
        },
        "status": status,
    }


def test_completed_job() -> None:
    done = job(
        succeeded=1,
        startTime=ago(600),
        completionTime=ago(540),
        conditions=[{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}],
    )
    jobs = rt("batch", "jobs")
    assert column_names(jobs)[:4] == [
        ("Name", "string", 0),
        ("Status", "string", 0),
        ("Completions", "string", 0),
        ("Duration", "string", 0),
    ]
    assert row(jobs, done) == [
        "pi",
        "Complete",
        "1/1",
        "60s",
        "10m",
        "pi",
        "perl",
        "batch.kubernetes.io/controller-uid=abc",
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({}, "Running"),
        ({"conditions": [{"type": "Failed", "status": "True"}]}, "Failed"),
        ({"conditions": [{"type": "Suspended", "status": "True"}]}, "Suspended"),
        ({"conditions": [{"type": "FailureTarget", "status": "True"}]}, "FailureTarget"),
        ({"conditions": [{"type": "Complete", "status": "False"}]}, "Running"),
    ],
)
def test_job_status(status: dict[str, Any], expected: str) -> None:
    assert by_name(rt("batch", "jobs"), job(**status))["Status"] == expected


def test_job_completions_and_running_duration() -> None:
    jobs = rt("batch", "jobs")
    running = job(startTime=ago(90), active=1)
    assert by_name(jobs, running)["Duration"] == "90s"
    assert by_name(jobs, job())["Duration"] == ""
    parallel = job(succeeded=2)
    parallel["spec"] = {"parallelism": 3, "template": template(("w", "worker"))}
    assert by_name(jobs, parallel)["Completions"] == "2/1 of 3"
    parallel["spec"]["parallelism"] = 1
    assert by_name(jobs, parallel)["Completions"] == "2/1"
    deleting = job()
    deleting["metadata"]["deletionTimestamp"] = ago(1)
    assert by_name(jobs, deleting)["Status"] == "Terminating"


def test_cron_job() -> None:
    cronjobs = rt("batch", "cronjobs")
    cron = {
        "metadata": meta("nightly"),
        "spec": {
            "schedule": "0 3 * * *",
            "suspend": False,
            "jobTemplate": {"spec": {"template": template(("backup", "backup:1"))}},
        },
        "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(3600 * 5)},
    }
    assert [n for n, _, _ in column_names(cronjobs)][:7] == [
        "Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age",
    ]  # fmt: skip
    assert row(cronjobs, cron) == [
        "nightly",
        "0 3 * * *",
        "<none>",
        "False",
        1,
        "5h",
        "10m",
        "backup",
        "backup:1",
        "<none>",
    ]
    cron["spec"]["timeZone"] = "Europe/Paris"
    cron["status"] = {}
    assert row(cronjobs, cron)[2:6] == ["Europe/Paris", "False", 0, "<none>"]


def service(kind: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": meta("web"), "spec": {"type": kind, **spec}, "status": {}}


def test_services_of_every_type() -> None:
    services = rt("", "services")
    ports = [{"port": 80, "protocol": "TCP", "targetPort": 8080}, {"port": 53, "protocol": "UDP"}]
    cluster = service(
        "ClusterIP", clusterIP="10.96.0.10", clusterIPs=["10.96.0.10"], ports=ports, selector={"app": "web"}
    )
    assert row(services, cluster) == [
        "web",
        "ClusterIP",
        "10.96.0.10",
        "<none>",
        "80/TCP,53/UDP",
        "10m",
        "app=web",
    ]
    headless = service("ClusterIP", clusterIP="None", clusterIPs=["None"])
    assert row(services, headless)[2:5] == ["None", "<none>", "<none>"]
    node_port = service(
        "NodePort",
        clusterIPs=["10.96.0.11"],
        ports=[{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
        externalIPs=["192.0.2.1"],
    )
    assert row(services, node_port)[1:5] == ["NodePort", "10.96.0.11", "192.0.2.1", "80:30080/TCP"]
    balancer = service(
        "LoadBalancer", clusterIPs=["10.96.0.12"], ports=[{"port": 443, "nodePort": 31443, "protocol": "TCP"}]
    )
    assert by_name(services, balancer)["External-IP"] == "<pending>"
    balancer["status"] = {
        "loadBalancer": {
            "ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}, {"ip": "203.0.113.10"}]
        }
    }
    assert by_name(services, balancer)["External-IP"] == "203.0.113.10,203.0.113.9,lb.example.com"
    balancer["spec"]["externalIPs"] = ["192.0.2.7"]
    assert by_name(services, balancer)["External-IP"] == "203.0.113.10,203.0.113.9,lb.example.com,192.0.2.7"
    external = service("ExternalName", externalName="db.example.com")
    assert row(services, external) == [
        "web",
        "ExternalName",
        "<none>",
        "db.example.com",
        "<none>",
        "10m",
        "<none>",
    ]


def test_endpoints() -> None:
    endpoints = rt("", "endpoints")
    empty = {"metadata": meta("web")}
    assert row(endpoints, empty) == ["web", "<none>", "10m"]
    one = {"metadata": meta("web"), "subsets": [{"addresses": [{"ip": "10.0.0.5"}], "ports": [{"port": 80}]}]}
    assert row(endpoints, one) == ["web", "10.0.0.5:80", "10m"]
    many = {
        "metadata": meta("web"),
        "subsets": [
            {
                "addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 4)],
                "ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}],
            }
        ],
    }
    assert by_name(endpoints, many)["Endpoints"] == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 3 more..."
    headless = {"metadata": meta("db"), "subsets": [{"addresses": [{"ip": "fd00::1"}]}]}
    assert by_name(endpoints, headless)["Endpoints"] == "fd00::1"
    v6 = {"metadata": meta("db"), "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 5432}]}]}
    assert by_name(endpoints, v6)["Endpoints"] == "[fd00::1]:5432"


def test_endpoint_slice() -> None:
    slices = rt("discovery.k8s.io", "endpointslices")
    obj = {
        "metadata": meta("web-abc12"),
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80}, {"name": "metrics"}],
        "endpoints": [{"addresses": [f"10.0.0.{i}"]} for i in range(1, 6)],
    }
    assert row(slices, obj) == [
        "web-abc12",
        "IPv4",
        "80,metrics",
        "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...",
        "10m",
    ]
    assert row(slices, {"metadata": meta("e"), "addressType": "IPv4"})[2:4] == ["<unset>", "<unset>"]


def test_ingress_and_ingress_class() -> None:
    ingresses = rt("networking.k8s.io", "ingresses")
    ing = {
        "metadata": meta("web"),
        "spec": {
            "ingressClassName": "litekube",
            "rules": [{"host": f"h{i}.example.com"} for i in range(5)],
            "tls": [{"hosts": ["h0.example.com"]}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}},
    }
    assert row(ingresses, ing) == [
        "web", "litekube", "h0.example.com,h1.example.com,h2.example.com + 2 more...", "192.0.2.10", "80, 443", "10m",
    ]  # fmt: skip
    bare = {"metadata": meta("any"), "spec": {"rules": [{"http": {}}]}}
    assert row(ingresses, bare) == ["any", "<none>", "*", "", "80", "10m"]
    cls = {
        "metadata": meta("litekube"),
        "spec": {
            "controller": "litekube.io/ingress",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "Params", "name": "p"},
        },
    }
    assert row(rt("networking.k8s.io", "ingressclasses"), cls) == [
        "litekube",
        "litekube.io/ingress",
        "Params.k8s.example.com/p",
        "10m",
    ]


def test_config_map_secret_service_account_namespace_lease() -> None:
    assert row(
        rt("", "configmaps"), {"metadata": meta("cfg"), "data": {"a": "1"}, "binaryData": {"b": "AA=="}}
    ) == ["cfg", 2, "10m"]
    secret = {"metadata": meta("tls"), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}
    assert row(rt("", "secrets"), secret) == ["tls", "kubernetes.io/tls", 2, "10m"]
    assert row(rt("", "serviceaccounts"), {"metadata": meta("default")}) == ["default", "10m"]
    assert row(rt("", "namespaces"), {"metadata": meta("kube-system"), "status": {"phase": "Active"}}) == [
        "kube-system",
        "Active",
        "10m",
    ]
    lease = {"metadata": meta("node-1"), "spec": {"holderIdentity": "node-1"}}
    assert row(rt("coordination.k8s.io", "leases"), lease) == ["node-1", "node-1", "10m"]


def test_nodes() -> None:
    nodes = rt("", "nodes")
    node = {
        "metadata": {
            "name": "node-1",
            "creationTimestamp": ago(86400 * 3),
            "labels": {
                "node-role.kubernetes.io/control-plane": "",
                "kubernetes.io/role": "worker",
                "node-role.kubernetes.io/": "x",
            },
        },
        "spec": {"unschedulable": True},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
            "addresses": [
                {"type": "Hostname", "address": "node-1"},
                {"type": "InternalIP", "address": "192.168.1.10"},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.36.4",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "kernelVersion": "6.1.0",
                "containerRuntimeVersion": "litekube://0.1.0",
            },
        },
    }
    assert row(nodes, node) == [
        "node-1", "Ready,SchedulingDisabled", "control-plane,worker", "3d", "v1.36.4",
        "192.168.1.10", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.1.0", "litekube://0.1.0",
    ]  # fmt: skip
    bare = {
        "metadata": {"name": "n2", "creationTimestamp": ago(30)},
        "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]},
    }
    assert row(nodes, bare) == [
        "n2",
        "NotReady",
        "<none>",
        "30s",
        "",
        "<none>",
        "<none>",
        "<unknown>",
        "<unknown>",
        "<unknown>",
    ]
    assert by_name(nodes, {"metadata": {"name": "n3"}})["Status"] == "Unknown"


def test_hpa() -> None:
    hpa = {
        "metadata": meta("web"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
        },
        "status": {
            "currentReplicas": 2,
            "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 23}}}
            ],
        },
    }
    hpas = rt("autoscaling", "horizontalpodautoscalers", "v2")
    assert row(hpas, hpa) == ["web", "Deployment/web", "cpu: 23%/50%", "1", 10, 2, "10m"]
    hpa["status"] = {}
    assert by_name(hpas, hpa)["Targets"] == "cpu: <unknown>/50%"


def test_core_events_and_new_events() -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta("web-1.17a"),
        "involvedObject": {
            "kind": "Pod",
            "name": "web-1",
            "namespace": "default",
            "fieldPath": "spec.containers{nginx}",
        },
        "reason": "Pulled",
        "message": 'Successfully pulled image "nginx"\n',
        "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(600),
        "lastTimestamp": ago(60),
        "count": 4,
    }
    events = rt("", "events")
    names = [n for n, _, _ in column_names(events)]
    assert names == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Subobject",
        "Source",
        "Message",
        "First Seen",
        "Count",
        "Name",
    ]
    assert row(events, event) == [
        "60s", "Normal", "Pulled", "pod/web-1", "spec.containers{nginx}", "kubelet, node-1",
        'Successfully pulled image "nginx"', "10m", 4, "web-1.17a",
    ]  # fmt: skip
    new = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": meta("web.1"),
        "eventTime": "2024-05-01T11:58:00.000000Z",
        "regarding": {"kind": "Deployment", "name": "web"},
        "reason": "ScalingReplicaSet",
        "note": "Scaled up",
        "type": "Normal",
        "reportingController": "deployment-controller",
        "reportingInstance": "",
    }
    assert row(rt("events.k8s.io", "events"), new) == [
        "2m", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller", "Scaled up", "2m", 1, "web.1",
    ]  # fmt: skip
    series = dict(event, series={"count": 7, "lastObservedTime": "2024-05-01T11:59:50.000000Z"})
    assert by_name(events, series)["Last Seen"] == "10s" and by_name(events, series)["Count"] == 7


def test_unknown_kind_falls_back_to_name_and_created_at() -> None:
    custom = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True)
    table = build_table(
        custom, [{"metadata": {"name": "w", "creationTimestamp": "2024-04-30T10:00:00Z"}}], now=NOW
    )
    assert [(c["name"], c["type"], c["format"]) for c in table["columnDefinitions"]] == [
        ("Name", "string", "name"),
        ("Created At", "date", ""),
    ]
    assert table["rows"][0]["cells"] == ["w", "2024-04-30T10:00:00Z"]
