"""Every public sample converts, passes the structural and schema checks, and shows the
right mapping for the tricky points listed in ecs-samples/SOURCES.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from litekube.ecs import Severity
from tests.ecs.helpers import (
    ECSPRESSO_SERVICE,
    ECSPRESSO_TASK,
    FIRELENS,
    ORDERING,
    REVERSE_PROXY,
    SAMPLES,
    WORKSHOP_SERVICE,
    WORKSHOP_TASK,
    assert_valid,
    by_kind,
    container,
    convert_files,
    pod_spec,
    records_at,
    severities,
    workload,
)

SAMPLE_SETS = [
    (FIRELENS,),
    (ORDERING,),
    (REVERSE_PROXY,),
    (WORKSHOP_TASK,),
    (WORKSHOP_TASK, WORKSHOP_SERVICE),
    (ECSPRESSO_TASK,),
    (ECSPRESSO_TASK, ECSPRESSO_SERVICE),
]


def test_every_sample_file_is_covered() -> None:
    used = {f for files in SAMPLE_SETS for f in files}
    assert used == set(SAMPLES.glob("*.json"))


@pytest.mark.parametrize("files", SAMPLE_SETS, ids=lambda fs: "+".join(Path(f).name[:40] for f in fs))
def test_sample_converts_to_valid_manifests(files: tuple[Path, ...]) -> None:
    conversion = convert_files(*files)
    assert_valid(conversion)
    assert not any(r.severity is Severity.UNMAPPED for r in conversion.records)


def test_firelens_app_mesh_sample() -> None:
    conversion = convert_files(FIRELENS)
    spec = pod_spec(conversion)
    # Envoy (App Mesh, discontinued) and the FireLens router are dropped; the app stays
    assert [c["name"] for c in spec["containers"]] == ["app"]
    assert "initContainers" not in spec
    assert severities(conversion, "containerDefinitions[2]") == {Severity.IMPOSSIBLE}
    assert severities(conversion, "containerDefinitions[0]") == {Severity.IMPOSSIBLE}
    assert Severity.IMPOSSIBLE in severities(conversion, "proxyConfiguration")
    # app's dependsOn envoy HEALTHY is removed with an explanation
    assert records_at(conversion, "containerDefinitions[1].dependsOn[0]")[0].rule.startswith(
        "dependency on dropped"
    )
    app = container(conversion, "app")
    assert app["ports"] == [{"containerPort": 9080, "protocol": "TCP"}]  # hostPort dropped (awsvpc)
    assert app["env"] == [{"name": "COLOR", "value": "black"}, {"name": "SERVER_PORT", "value": "9080"}]
    # Fargate task size → pod-level resources
    assert spec["resources"] == {
        "limits": {"cpu": "1", "memory": "2048Mi"},
        "requests": {"cpu": "1", "memory": "2048Mi"},
    }
    assert spec["serviceAccountName"] == "appmesh-firelens-colorteller-black"
    account = by_kind(conversion, "ServiceAccount")[0]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(":role/ecs_task_role")


def test_firelens_sample_kept_containers_become_sidecar_with_health_gate() -> None:
    from litekube.ecs import ConvertOptions

    conversion = convert_files(FIRELENS, options=ConvertOptions(keep_mesh_proxy=True, keep_log_router=True))
    assert_valid(conversion)
    envoy = container(conversion, "envoy")
    assert envoy["restartPolicy"] == "Always"
    assert envoy["startupProbe"]["exec"]["command"] == [
        "/bin/sh",
        "-c",
        "curl -s http://localhost:9901/server_info | grep state | grep -q LIVE",
    ]
    assert (envoy["livenessProbe"]["periodSeconds"], envoy["livenessProbe"]["timeoutSeconds"]) == (5, 2)
    assert envoy["securityContext"] == {"runAsUser": 1337}
    assert Severity.IMPOSSIBLE in severities(conversion, "containerDefinitions[2].ulimits")
    # the log router is an essential container: kept as an app container, firelens flagged
    names = [c["name"] for c in pod_spec(conversion)["containers"]]
    assert names == ["log-router", "app"]
    assert Severity.IMPOSSIBLE in severities(conversion, "containerDefinitions[0].firelensConfiguration")
    assert by_kind(conversion, "ConfigMap")[0]["data"]["envoy.conf"].startswith(
        "[OUTPUT]\n    Name cloudwatch\n"
    )


def test_container_ordering_sample() -> None:
    conversion = convert_files(ORDERING)
    spec = pod_spec(conversion)
    inits = {c["name"]: c for c in spec["initContainers"]}
    assert list(inits) == ["success-dependency", "complete-dependency", "healthy-dependency"]
    # SUCCESS target: plain init container, command untouched
    assert "restartPolicy" not in inits["success-dependency"]
    assert inits["success-dependency"]["args"] == ["sh", "-c", "sleep 1"]
    # COMPLETE target: any exit code accepted
    assert inits["complete-dependency"]["command"] == [
        "/bin/sh",
        "-c",
        '"$@"; exit 0',
        "sh",
        "sh",
        "-c",
        "sleep 1",
    ]
    assert "args" not in inits["complete-dependency"]
    # HEALTHY target: native sidecar gated by a startup probe (period 5, timeout 50, threshold 3)
    healthy = inits["healthy-dependency"]
    assert healthy["restartPolicy"] == "Always"
    expected = {
        "exec": {"command": ["/bin/sh", "-c", "echo hello"]},
        "initialDelaySeconds": 0,
        "periodSeconds": 5,
        "timeoutSeconds": 50,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert healthy["startupProbe"] == healthy["livenessProbe"] == healthy["readinessProbe"] == expected
    assert [c["name"] for c in spec["containers"]] == ["success", "complete", "healthy"]
    # cpu 0: no request; memory 64 → request = limit
    assert container(conversion, "success")["resources"] == {
        "limits": {"memory": "64Mi"},
        "requests": {"memory": "64Mi"},
    }
    # non-essential one-shots in a Deployment are restarted: said so
    assert "restarts it" in records_at(conversion, "containerDefinitions[2].essential")[0].note


def test_reverse_proxy_sample() -> None:
    conversion = convert_files(REVERSE_PROXY)
    spec = pod_spec(conversion)
    nginx = container(conversion, "nginx")
    # numbers written as strings are coerced and noted
    assert nginx["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert nginx["resources"] == {
        "limits": {"memory": "256Mi"},
        "requests": {"cpu": "250m", "memory": "256Mi"},
    }
    assert any(
        "written as a string" in r.rule for r in records_at(conversion, "containerDefinitions[0].memory")
    )
    # links → hostAliases on localhost
    assert spec["hostAliases"] == [{"ip": "127.0.0.1", "hostnames": ["app"]}]
    assert severities(conversion, "containerDefinitions[0].links[0]") == {Severity.APPROXIMATE}
    # bridge mode: explained; placeholders in images kept and reported
    assert severities(conversion, "networkMode") == {Severity.APPROXIMATE}
    assert nginx["image"] == "<your nginx reverse proxy image URL here>"
    assert any(
        r.rule == "unresolved template kept as is"
        for r in records_at(conversion, "containerDefinitions[0].image")
    )
    assert severities(conversion, "volumes") == {Severity.IGNORED}


def test_workshop_task_and_service() -> None:
    conversion = convert_files(WORKSHOP_TASK, WORKSHOP_SERVICE)
    deployment = workload(conversion)
    assert deployment["kind"] == "Deployment"
    assert deployment["spec"]["replicas"] == 1
    # minimumHealthyPercent 0, maximumPercent 200
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "100%", "maxUnavailable": "100%"}
    spec = pod_spec(conversion)
    # spread by AZ → topology spread on the zone label
    assert spec["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "mythicalmysfitsservice"}},
        }
    ]
    # the invalid protocol "http" becomes TCP with a warning
    app = container(conversion, "mythicalmysfits-service")
    assert app["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    protocol = records_at(conversion, "containerDefinitions[0].portMappings[0].protocol")
    assert protocol[0].severity is Severity.APPROXIMATE and "invalid protocol" in protocol[0].rule
    # NLB target group → Service with the container port; names sanitised and rewritten
    service = by_kind(conversion, "Service")[0]
    assert service["metadata"]["name"] == "mythicalmysfits-service"
    assert service["spec"]["ports"] == [{"port": 8080, "targetPort": 8080, "protocol": "TCP"}]
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": "mythicalmysfitsservice"}
    assert Severity.IMPOSSIBLE in severities(
        conversion, "networkConfiguration.awsvpcConfiguration.subnets", "service"
    )
    # task cpu "256" / memory "512" as strings → pod-level 250m / 512Mi
    assert spec["resources"]["limits"] == {"cpu": "250m", "memory": "512Mi"}


def test_ecspresso_describe_wrapper_task() -> None:
    conversion = convert_files(ECSPRESSO_TASK)
    assert any(r.rule == "describe-task-definition output: unwrapped" for r in conversion.records)
    app = container(conversion, "katsubushi")
    assert app["resources"]["limits"]["ephemeral-storage"] == "25Gi"
    assert app["image"] == "katsubushi/katsubushi:{{ env `TAG` `latest` }}"
    template = workload(conversion)["spec"]["template"]
    assert template["metadata"]["annotations"]["ecs-import/ulimits.katsubushi"] == "nofile=100000:100000"
    assert template["metadata"]["annotations"]["name"] == "katsubushi"  # dockerLabels → annotations
    assert severities(conversion, "containerDefinitions[0].ulimits") == {Severity.IMPOSSIBLE}
    # proxyConfiguration names a container that does not exist: an error row, not a crash
    assert severities(conversion, "proxyConfiguration.containerName") == {Severity.ERROR}
    assert severities(conversion, "containerDefinitions[0].mountPoints") == {Severity.IGNORED}


def test_ecspresso_service() -> None:
    conversion = convert_files(ECSPRESSO_TASK, ECSPRESSO_SERVICE)
    deployment = workload(conversion)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "100%", "maxUnavailable": "50%"}
    # circuit breaker → progress deadline; rollback and alarms have no equivalent
    assert deployment["spec"]["progressDeadlineSeconds"] == 600
    assert severities(conversion, "deploymentConfiguration.deploymentCircuitBreaker.rollback", "service") == {
        Severity.IMPOSSIBLE
    }
    assert severities(conversion, "deploymentConfiguration.alarms", "service") == {Severity.IMPOSSIBLE}
    # the load balancer names container "test", which the task does not have
    assert by_kind(conversion, "Service") == []
    assert severities(conversion, "loadBalancers[0]", "service") == {Severity.ERROR}
    assert deployment["metadata"]["labels"]["cluster"] == "default2"  # service tags → labels
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["ecs-import/security-groups"] == "sg-12345678,sg-23456789"
