"""The conversion rules of ECS-MAPPING.md, one behaviour per test, on small documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from litekube.ecs import EcsInputError, Severity, load_document, parse_document
from litekube.ecs.environment import parse_value_from
from litekube.ecs.names import NameMap, dns1035_label, dns_label, port_name
from litekube.ecs.resources import cpu_quantity
from litekube.ecs.schedule import convert_cron, convert_rate
from tests.ecs.helpers import assert_valid, by_kind, container, convert_data, pod_spec, severities, workload


def task(*containers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"family": "web", "containerDefinitions": list(containers), **fields}


APP = {"name": "app", "image": "busybox", "essential": True}


@pytest.mark.parametrize(
    ("units", "quantity"),
    [(128, "125m"), (256, "250m"), (512, "500m"), (1024, "1"), (10, "10m"), (1, "1m"), (2048, "2")],
)
def test_cpu_units_to_quantity(units: int, quantity: str) -> None:
    assert cpu_quantity(units) == quantity


def test_names_are_sanitised_and_references_follow() -> None:
    names = NameMap()
    assert names.assign("log_router") == "log-router"
    assert names.assign("Log-Router") == "log-router-2"
    assert names.get("log_router") == "log-router"
    assert dns_label("x" * 80) != dns_label("x" * 81) and len(dns_label("x" * 80)) == 63
    assert dns1035_label("123-api") == "s-123-api"
    assert (
        port_name("HTTP_Web_Port_Number") is not None and len(port_name("HTTP_Web_Port_Number") or "") <= 15
    )
    conversion = convert_data(
        task(
            {
                "name": "Web_App",
                "image": "busybox",
                "links": ["side_car:db"],
                "volumesFrom": [{"sourceContainer": "side_car"}],
            },
            {
                "name": "side_car",
                "image": "busybox",
                "mountPoints": [{"sourceVolume": "Data_Vol", "containerPath": "/d"}],
            },
            volumes=[{"name": "Data_Vol"}],
        )
    )
    assert_valid(conversion)
    spec = pod_spec(conversion)
    assert [c["name"] for c in spec["containers"]] == ["web-app", "side-car"]
    assert spec["volumes"] == [{"name": "data-vol", "emptyDir": {}}]
    assert container(conversion, "web-app")["volumeMounts"] == [{"name": "data-vol", "mountPath": "/d"}]
    assert spec["hostAliases"] == [{"ip": "127.0.0.1", "hostnames": ["db", "side-car"]}]


def test_memory_rules() -> None:
    conversion = convert_data(
        task(
            {**APP, "memory": 512},
            {"name": "b", "image": "busybox", "memoryReservation": 128},
            {"name": "c", "image": "busybox", "memory": "512", "memoryReservation": "256"},
        )
    )
    assert container(conversion, "app")["resources"] == {
        "limits": {"memory": "512Mi"},
        "requests": {"memory": "512Mi"},
    }
    assert container(conversion, "b")["resources"] == {"requests": {"memory": "128Mi"}}
    assert container(conversion, "c")["resources"] == {
        "limits": {"memory": "512Mi"},
        "requests": {"memory": "256Mi"},
    }


@pytest.mark.parametrize(
    ("cpu", "memory", "expected"),
    [("1 vCPU", "2 GB", ("1", "2048Mi")), ("0.25 vcpu", "512", ("250m", "512Mi"))],
)
def test_task_sizes_with_units(cpu: str, memory: str, expected: tuple[str, str]) -> None:
    conversion = convert_data(task(APP, cpu=cpu, memory=memory))
    assert pod_spec(conversion)["resources"]["limits"] == {"cpu": expected[0], "memory": expected[1]}


def test_task_size_below_container_total_is_an_error_not_invalid_output() -> None:
    conversion = convert_data(task({**APP, "memory": 1024}, memory="512"))
    assert_valid(conversion)
    assert "resources" not in pod_spec(conversion)
    assert Severity.ERROR in severities(conversion, "memory")


def test_health_check_probes_with_start_period() -> None:
    check = {
        "command": ["CMD-SHELL", "curl -f http://127.0.0.1:2020/api/v1/health || exit 1"],
        "interval": 10,
        "timeout": 5,
        "retries": 2,
        "startPeriod": 30,
    }
    conversion = convert_data(task({**APP, "healthCheck": check}))
    app = container(conversion, "app")
    assert app["livenessProbe"] == {
        "exec": {"command": ["/bin/sh", "-c", "curl -f http://127.0.0.1:2020/api/v1/health || exit 1"]},
        "initialDelaySeconds": 0,
        "periodSeconds": 10,
        "timeoutSeconds": 5,
        "successThreshold": 1,
        "failureThreshold": 2,
    }
    assert app["readinessProbe"] == app["livenessProbe"]
    assert app["startupProbe"] == {**app["livenessProbe"], "failureThreshold": 5}


def test_health_check_defaults_cmd_and_none() -> None:
    conversion = convert_data(
        task(
            {**APP, "healthCheck": {"command": ["CMD", "check", "$(x)"]}},
            {"name": "b", "image": "busybox", "healthCheck": {"command": ["NONE"]}},
        )
    )
    probe = container(conversion, "app")["livenessProbe"]
    assert probe["exec"]["command"] == ["check", "$$(x)"]
    assert (probe["periodSeconds"], probe["timeoutSeconds"], probe["failureThreshold"]) == (30, 5, 3)
    assert "startupProbe" not in container(conversion, "app")
    assert "livenessProbe" not in container(conversion, "b")


@pytest.mark.parametrize(
    ("maximum", "minimum", "expected"),
    [
        (200, 100, {"maxSurge": "100%", "maxUnavailable": "0%"}),
        (100, 100, {"maxSurge": "0%", "maxUnavailable": 1}),
        (150, 50, {"maxSurge": "50%", "maxUnavailable": "50%"}),
    ],
)
def test_rolling_update(maximum: int, minimum: int, expected: dict[str, Any]) -> None:
    service = {
        "serviceName": "web",
        "desiredCount": 3,
        "deploymentConfiguration": {"maximumPercent": maximum, "minimumHealthyPercent": minimum},
    }
    conversion = convert_data(task(APP), service)
    assert_valid(conversion)
    assert workload(conversion)["spec"]["strategy"]["rollingUpdate"] == expected


def test_daemon_service() -> None:
    conversion = convert_data(
        task(APP), {"serviceName": "agent", "schedulingStrategy": "DAEMON", "desiredCount": 5}
    )
    assert_valid(conversion)
    daemon = workload(conversion)
    assert daemon["kind"] == "DaemonSet"
    assert "replicas" not in daemon["spec"]
    assert daemon["spec"]["updateStrategy"]["rollingUpdate"] == {"maxSurge": "0%", "maxUnavailable": "100%"}


def test_services_for_load_balancer_registry_and_service_connect() -> None:
    app = {
        **APP,
        "portMappings": [
            {"containerPort": 8080, "name": "web_http"},
            {"containerPort": 9090, "protocol": "udp"},
        ],
    }
    service = {
        "serviceName": "Web_Svc",
        "loadBalancers": [
            {"containerName": "app", "containerPort": 8080, "targetGroupArn": "arn:tg"},
            {"containerName": "app", "containerPort": 9090},
        ],
        "serviceRegistries": [{"registryArn": "arn:aws:servicediscovery:r:a:service/srv-1"}],
        "serviceConnectConfiguration": {
            "enabled": True,
            "services": [{"portName": "web_http", "discoveryName": "api", "clientAliases": [{"port": 80}]}],
        },
    }
    conversion = convert_data(task(app), service)
    assert_valid(conversion)
    services = {s["metadata"]["name"]: s for s in by_kind(conversion, "Service")}
    assert set(services) == {"web-svc", "web-svc-headless", "api"}
    assert services["web-svc"]["spec"]["type"] == "LoadBalancer"
    assert [(p["port"], p["targetPort"], p["protocol"]) for p in services["web-svc"]["spec"]["ports"]] == [
        (8080, "web-http", "TCP"),
        (9090, 9090, "UDP"),
    ]
    assert services["web-svc-headless"]["spec"]["clusterIP"] == "None"
    assert services["api"]["spec"]["ports"] == [{"port": 80, "targetPort": "web-http", "protocol": "TCP"}]


def test_secrets_are_placeholders_and_values_never_fetched() -> None:
    secrets = [
        {
            "name": "DB_PASSWORD",
            "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf:password::",
        },
        {"name": "API_KEY", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/app/api_key"},
        {"name": "TOKEN", "valueFrom": "/app/token"},
    ]
    conversion = convert_data(
        task({**APP, "secrets": secrets, "environment": [{"name": "A", "value": "$(b)"}]})
    )
    assert_valid(conversion)
    env = container(conversion, "app")["env"]
    assert env[0] == {"name": "A", "value": "$$(b)"}
    assert env[1] == {
        "name": "DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "prod-db", "key": "password"}},
    }
    made = {s["metadata"]["name"]: s for s in by_kind(conversion, "Secret")}
    assert set(made) == {"prod-db", "app-api-key", "app-token"}
    assert all(set(s["stringData"].values()) == {"REPLACE_ME"} for s in made.values())
    assert made["prod-db"]["metadata"]["annotations"]["ecs-import/json-key"] == "password"
    assert parse_value_from("/x/y")[:2] == ("x/y", "value")


@pytest.mark.parametrize(
    ("expression", "expected", "exact"),
    [
        ("0 12 * * ? *", "0 12 * * *", True),
        ("0 18 ? * MON-FRI *", "0 18 * * MON-FRI", True),
        ("0 10 ? * 2 *", "0 10 * * 1", True),
        ("0 10 ? * 1,7 *", "0 10 * * 0,6", True),
        ("0 10 ? * 2-6 *", "0 10 * * 1-5", True),
        ("0/15 * * * ? *", "0-59/15 * * * *", True),
    ],
)
def test_eventbridge_cron(expression: str, expected: str, exact: bool) -> None:
    converted = convert_cron(expression)
    assert (converted.schedule, converted.exact, converted.possible) == (expected, exact, True)


@pytest.mark.parametrize("expression", ["0 9 ? * 2#1 *", "15 10 ? * 6L 2002-2005", "0 0 L * ? *", "1 2 3"])
def test_eventbridge_cron_impossible(expression: str) -> None:
    assert convert_cron(expression).possible is False


@pytest.mark.parametrize(
    ("rate", "expected", "exact"),
    [
        ("5 minutes", "*/5 * * * *", True),
        ("7 minutes", "*/7 * * * *", False),
        ("1 hour", "0 * * * *", True),
        ("120 minutes", "0 */2 * * *", True),
        ("1 day", "0 0 * * *", True),
        ("3 days", "0 0 */3 * *", False),
    ],
)
def test_eventbridge_rate(rate: str, expected: str, exact: bool) -> None:
    converted = convert_rate(rate)
    assert (converted.schedule, converted.exact) == (expected, exact)


def test_rule_and_targets_become_a_utc_cronjob_with_sidecars_for_helpers() -> None:
    rule = {"Name": "Nightly_Report", "ScheduleExpression": "cron(0 3 ? * 2 *)", "State": "DISABLED"}
    targets = {
        "Rule": "Nightly_Report",
        "Targets": [
            {
                "Id": "1",
                "Arn": "arn:aws:ecs:r:a:cluster/c",
                "EcsParameters": {
                    "TaskDefinitionArn": "arn:aws:ecs:r:a:task-definition/web:3",
                    "TaskCount": 2,
                    "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["s"]}},
                },
                "Input": json.dumps(
                    {
                        "containerOverrides": [
                            {
                                "name": "app",
                                "command": ["report", "--all"],
                                "environment": [{"name": "MODE", "value": "full"}],
                            }
                        ]
                    }
                ),
            }
        ],
    }
    helper = {"name": "log_agent", "image": "busybox", "essential": False}
    conversion = convert_data(task(APP, helper), rule, targets)
    assert_valid(conversion)
    cron = workload(conversion)
    assert cron["kind"] == "CronJob" and cron["metadata"]["name"] == "nightly-report"
    assert cron["spec"]["schedule"] == "0 3 * * 1"
    assert cron["spec"]["timeZone"] == "Etc/UTC"
    assert cron["spec"]["suspend"] is True
    job = cron["spec"]["jobTemplate"]["spec"]
    assert (job["parallelism"], job["completions"], job["backoffLimit"]) == (2, 2, 0)
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert container(conversion, "app")["args"] == ["report", "--all"]
    assert container(conversion, "app")["env"] == [{"name": "MODE", "value": "full"}]
    # a non-essential helper must not keep the Job running
    assert container(conversion, "log-agent")["restartPolicy"] == "Always"


def test_scheduler_schedule_time_zone_and_at() -> None:
    schedule = {
        "Name": "s",
        "ScheduleExpression": "rate(15 minutes)",
        "ScheduleExpressionTimezone": "Asia/Tokyo",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": "arn:c", "RoleArn": "arn:r", "EcsParameters": {"TaskDefinitionArn": "web"}},
    }
    conversion = convert_data(task(APP), schedule)
    assert_valid(conversion)
    assert workload(conversion)["spec"]["timeZone"] == "Asia/Tokyo"
    assert workload(conversion)["spec"]["schedule"] == "*/15 * * * *"
    once = convert_data(task(APP), {**schedule, "ScheduleExpression": "at(2030-01-01T00:00:00)"})
    assert_valid(once)
    assert workload(once)["kind"] == "Job"


def test_placement_constraints() -> None:
    constraints = [
        {
            "type": "memberOf",
            "expression": "attribute:ecs.instance-type in [t3.small, t3.medium] and attribute:stack exists",
        },
        {"type": "distinctInstance"},
    ]
    conversion = convert_data(
        task(APP, placementConstraints=constraints[:1]),
        {"serviceName": "w", "placementConstraints": constraints[1:]},
    )
    assert_valid(conversion)
    affinity = pod_spec(conversion)["affinity"]
    assert affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ] == [
        {
            "matchExpressions": [
                {
                    "key": "node.kubernetes.io/instance-type",
                    "operator": "In",
                    "values": ["t3.small", "t3.medium"],
                },
                {"key": "stack", "operator": "Exists"},
            ]
        }
    ]
    assert (
        affinity["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"]
        == "kubernetes.io/hostname"
    )


def test_volumes_host_efs_tmpfs() -> None:
    volumes = [
        {"name": "logs", "host": {"sourcePath": "/var/log"}},
        {
            "name": "shared",
            "efsVolumeConfiguration": {
                "fileSystemId": "fs-123",
                "rootDirectory": "/data",
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": "fsap-456", "iam": "ENABLED"},
            },
        },
    ]
    app = {
        **APP,
        "mountPoints": [
            {"sourceVolume": "logs", "containerPath": "/logs", "readOnly": True},
            {"sourceVolume": "shared", "containerPath": "/shared"},
        ],
        "linuxParameters": {
            "tmpfs": [{"containerPath": "/tmp", "size": 64}],
            "sharedMemorySize": 128,
            "capabilities": {"add": ["CAP_NET_ADMIN"]},
        },
    }
    conversion = convert_data(task(app, volumes=volumes))
    assert_valid(conversion)
    spec = pod_spec(conversion)
    assert spec["volumes"][0] == {
        "name": "logs",
        "hostPath": {"path": "/var/log", "type": "DirectoryOrCreate"},
    }
    pv = by_kind(conversion, "PersistentVolume")[0]
    assert pv["spec"]["csi"]["volumeHandle"] == "fs-123:/data:fsap-456"
    assert pv["spec"]["mountOptions"] == ["tls", "iam"]
    assert by_kind(conversion, "PersistentVolumeClaim")[0]["spec"]["volumeName"] == pv["metadata"]["name"]
    mounts = {m["mountPath"]: m for m in container(conversion, "app")["volumeMounts"]}
    assert set(mounts) == {"/logs", "/shared", "/tmp", "/dev/shm"}
    assert mounts["/logs"]["readOnly"] is True
    assert container(conversion, "app")["securityContext"] == {"capabilities": {"add": ["NET_ADMIN"]}}


def test_missing_references_are_errors_not_crashes() -> None:
    app = {
        **APP,
        "dependsOn": [{"containerName": "ghost", "condition": "START"}],
        "links": ["ghost"],
        "volumesFrom": [{"sourceContainer": "ghost"}],
        "mountPoints": [{"sourceVolume": "ghost", "containerPath": "/g"}],
    }
    conversion = convert_data(task(app))
    assert_valid(conversion)
    for path in ("dependsOn[0]", "links[0]", "volumesFrom[0]", "mountPoints[0]"):
        assert severities(conversion, f"containerDefinitions[0].{path}") == {Severity.ERROR}


def test_inputs_wrapper_bare_array_cloudformation_and_describe_services() -> None:
    bare = convert_data([APP])
    assert workload(bare)["metadata"]["name"] == "input-0"
    cfn = {
        "Resources": {
            "T": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": "cfn",
                    "Cpu": "256",
                    "ContainerDefinitions": [
                        {
                            "Name": "app",
                            "Image": "busybox",
                            "PortMappings": [{"ContainerPort": 80}],
                            "DockerLabels": {"Team": "x"},
                        }
                    ],
                },
            }
        }
    }
    conversion = convert_data(cfn)
    assert_valid(conversion)
    assert container(conversion, "app")["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert workload(conversion)["spec"]["template"]["metadata"]["annotations"] == {"Team": "x"}
    described = convert_data(
        {"taskDefinition": task(APP), "tags": [{"key": "team", "value": "a"}]},
        {
            "services": [{"serviceName": "web", "desiredCount": 3, "runningCount": 2, "events": []}],
            "failures": [],
        },
    )
    assert workload(described)["spec"]["replicas"] == 3
    assert workload(described)["metadata"]["labels"]["team"] == "a"
    assert severities(described, "runningCount", "service") == {Severity.IGNORED}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "not JSON"),
        ('{"hello": 1}', "not an ECS document"),
        ('{"family": "x"}', "missing containerDefinitions"),
        ('{"family": "x", "containerDefinitions": []}', "non-empty list"),
        ('{"family": "x", "containerDefinitions": [{"name": "a"}]}', "image is required"),
    ],
)
def test_bad_input_names_file_and_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(EcsInputError) as caught:
        from litekube.ecs import Inputs, convert

        convert(Inputs.from_documents([load_document(str(path))]))
    assert caught.value.file == str(path)
    assert problem in caught.value.problem


def test_dependency_cycle_is_bad_input() -> None:
    a = {**APP, "dependsOn": [{"containerName": "b", "condition": "START"}]}
    b = {"name": "b", "image": "busybox", "dependsOn": [{"containerName": "app", "condition": "START"}]}
    with pytest.raises(EcsInputError, match="cycle"):
        convert_data(task(a, b))
    with pytest.raises(EcsInputError, match="expected a service"):
        parse_document(task(APP), "x.json", "service")
