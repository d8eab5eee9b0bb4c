"""Property tests: generated and mutated task definitions (and services) never crash the
converter, never produce output the API server would reject (our checks + the upstream
v1.36 strict schemas), and every input field is accounted for in the explanation."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from litekube.ecs import EcsInputError, Inputs, Severity, convert, parse_document
from litekube.ecs.explain import covers, leaf_paths
from tests.ecs.helpers import ORDERING, REVERSE_PROXY, WORKSHOP_TASK, assert_valid

NAMES = ["app", "side_car", "Log-Router", "db", "ghost", "a" * 70, "9lives", ""]
QUIRKY_INT = st.sampled_from(
    [0, 1, 128, 256, 1024, "256", " 512 ", "1 vCPU", "2 GB", None, -5, 3.0, "x", True, "{{ .Env.CPU }}"]
)
STRINGS = st.sampled_from(
    [
        "busybox",
        "nginx:latest",
        "REPLACE_ME_IMAGE",
        "<your image>",
        "{{ .Env.IMAGE }}",
        "$$$X$$$",
        "a$(b)c",
        "",
    ]
)
ENUMS = st.sampled_from(
    ["tcp", "udp", "http", "TCP", None, 7, "START", "COMPLETE", "SUCCESS", "HEALTHY", "bogus"]
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.just([]), strategy)


port_mapping = st.fixed_dictionaries(
    {},
    optional={
        "containerPort": QUIRKY_INT,
        "hostPort": QUIRKY_INT,
        "protocol": ENUMS,
        "name": st.sampled_from(NAMES),
        "appProtocol": st.sampled_from(["http", "grpc", "x"]),
    },
)
health_check = st.fixed_dictionaries(
    {"command": st.sampled_from([["CMD-SHELL", "true"], ["CMD", "check"], ["NONE"], ["x"], [], "CMD-SHELL"])},
    optional={
        "interval": QUIRKY_INT,
        "timeout": QUIRKY_INT,
        "retries": QUIRKY_INT,
        "startPeriod": QUIRKY_INT,
    },
)
container_def = st.fixed_dictionaries(
    {"name": st.sampled_from(NAMES), "image": STRINGS},
    optional={
        "cpu": QUIRKY_INT,
        "memory": QUIRKY_INT,
        "memoryReservation": QUIRKY_INT,
        "essential": st.sampled_from([True, False, "true", None, "maybe"]),
        "portMappings": _maybe(st.lists(port_mapping, max_size=3)),
        "healthCheck": _maybe(health_check),
        "dependsOn": _maybe(
            st.lists(
                st.fixed_dictionaries({"containerName": st.sampled_from(NAMES), "condition": ENUMS}),
                max_size=2,
            )
        ),
        "links": _maybe(st.lists(st.sampled_from(["app", "db:database", "ghost"]), max_size=2)),
        "environment": _maybe(
            st.lists(
                st.fixed_dictionaries({"name": st.sampled_from(["A", "B", "", None]), "value": STRINGS}),
                max_size=3,
            )
        ),
        "secrets": _maybe(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "name": st.sampled_from(["S", "T"]),
                        "valueFrom": st.sampled_from(
                            [
                                "/p/x",
                                "arn:aws:ssm:r:1:parameter/y",
                                "arn:aws:secretsmanager:r:1:secret:db-AbCdEf:pw::",
                                "",
                            ]
                        ),
                    }
                ),
                max_size=2,
            )
        ),
        "command": _maybe(st.lists(STRINGS, max_size=3)),
        "entryPoint": _maybe(st.lists(STRINGS, max_size=2)),
        "user": st.sampled_from(["1000", "1000:1000", "nginx", "", None, 5]),
        "privileged": st.sampled_from([True, False, None]),
        "mountPoints": _maybe(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "sourceVolume": st.sampled_from(["data", "ghost"]),
                        "containerPath": st.sampled_from(["/data", "rel", "/x"]),
                    }
                ),
                max_size=2,
            )
        ),
        "volumesFrom": _maybe(
            st.lists(st.fixed_dictionaries({"sourceContainer": st.sampled_from(NAMES)}), max_size=1)
        ),
        "ulimits": _maybe(st.just([{"name": "nofile", "softLimit": 1, "hardLimit": 2}])),
        "linuxParameters": _maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "initProcessEnabled": st.booleans(),
                    "sharedMemorySize": QUIRKY_INT,
                    "capabilities": st.just({"add": ["CAP_NET_ADMIN"], "drop": ["ALL"]}),
                },
            )
        ),
        "stopTimeout": QUIRKY_INT,
        "dockerLabels": _maybe(
            st.dictionaries(st.sampled_from(["team", "com.example/x", "bad key"]), STRINGS, max_size=2)
        ),
        "logConfiguration": _maybe(st.just({"logDriver": "awslogs", "options": {"awslogs-group": "g"}})),
        "systemControls": _maybe(st.just([{"namespace": "net.core.somaxconn", "value": "1024"}])),
        "dnsServers": _maybe(st.just(["10.0.0.2", "not-an-ip"])),
        "hostname": st.sampled_from(["web", "Bad_Host", None]),
    },
)
task_def = st.fixed_dictionaries(
    {"containerDefinitions": st.lists(container_def, min_size=1, max_size=4)},
    optional={
        "family": st.sampled_from(["web", "My_Family", "{{ .Env.FAMILY }}", "", None]),
        "cpu": QUIRKY_INT,
        "memory": QUIRKY_INT,
        "networkMode": st.sampled_from(["awsvpc", "bridge", "host", "none", "weird", None]),
        "requiresCompatibilities": _maybe(st.just(["FARGATE"])),
        "volumes": _maybe(
            st.lists(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(["data", "Data", "data"])},
                    optional={"host": st.just({"sourcePath": "/srv"})},
                ),
                max_size=2,
            )
        ),
        "pidMode": st.sampled_from(["host", "task", "bad", None]),
        "ipcMode": st.sampled_from(["host", "task", "none", None]),
        "taskRoleArn": st.sampled_from(["arn:aws:iam::1:role/r", "REPLACE_ME", None]),
        "placementConstraints": _maybe(
            st.just([{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}])
        ),
        "runtimePlatform": _maybe(st.just({"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"})),
        "ephemeralStorage": _maybe(st.just({"sizeInGiB": 30})),
        "tags": _maybe(st.just([{"key": "team", "value": "a b"}])),
    },
)
service_def = st.fixed_dictionaries(
    {"serviceName": st.sampled_from(["web", "Web_Service", "1st"])},
    optional={
        "desiredCount": QUIRKY_INT,
        "schedulingStrategy": st.sampled_from(["REPLICA", "DAEMON", "bogus"]),
        "deploymentConfiguration": st.fixed_dictionaries(
            {}, optional={"maximumPercent": QUIRKY_INT, "minimumHealthyPercent": QUIRKY_INT}
        ),
        "loadBalancers": _maybe(
            st.lists(
                st.fixed_dictionaries({"containerName": st.sampled_from(NAMES), "containerPort": QUIRKY_INT}),
                max_size=2,
            )
        ),
        "placementStrategy": _maybe(
            st.just([{"type": "spread", "field": "instanceId"}, {"type": "binpack", "field": "memory"}])
        ),
    },
)


def _check(documents: list[Any], allow_unmapped: bool = False) -> None:
    try:
        parsed = [parse_document(copy.deepcopy(d), f"in-{i}.json") for i, d in enumerate(documents)]
        conversion = convert(Inputs.from_documents(parsed))
    except EcsInputError as error:
        assert error.file.startswith("in-") and error.problem
        return
    assert_valid(conversion)
    # every field of every input document has at least one explanation row, and none of the
    # fields generated here is unknown to the bridge
    assert allow_unmapped or not [r for r in conversion.records if r.severity is Severity.UNMAPPED]
    for document in parsed:
        recorded = [r.ecs_path for r in conversion.records if r.document == document.kind]
        missing = [p for p in leaf_paths(document.data) if not any(covers(r, p) for r in recorded)]
        assert missing == []
    json.dumps([r.as_dict() for r in conversion.records])


@settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(task_def)
def test_generated_task_definitions(task: dict[str, Any]) -> None:
    _check([task])


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(task_def, service_def)
def test_generated_task_and_service(task: dict[str, Any], service: dict[str, Any]) -> None:
    _check([task, service])


def _mutations() -> st.SearchStrategy[tuple[str, Any]]:
    return st.tuples(
        st.sampled_from(
            [
                "cpu",
                "memory",
                "essential",
                "portMappings",
                "healthCheck",
                "dependsOn",
                "command",
                "name",
                "image",
                "links",
            ]
        ),
        st.sampled_from(
            [
                None,
                [],
                {},
                "256",
                "1 vCPU",
                "{{ .Env.X }}",
                "ghost",
                0,
                -1,
                [None],
                [{"containerName": "ghost"}],
                "http",
            ]
        ),
    )


@settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([ORDERING, REVERSE_PROXY, WORKSHOP_TASK]),
    st.lists(st.tuples(st.integers(0, 5), _mutations()), min_size=1, max_size=4),
)
def test_mutated_samples(sample: Any, mutations: list[tuple[int, tuple[str, Any]]]) -> None:
    task = json.loads(sample.read_text())
    for index, (key, value) in mutations:
        containers = task["containerDefinitions"]
        containers[index % len(containers)][key] = copy.deepcopy(value)
    # mutations can put fields where ECS has none: those must show up as "unmapped"
    _check([task], allow_unmapped=True)
