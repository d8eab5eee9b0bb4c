"""Shared helpers for the ECS bridge tests: sample paths, conversion of in-memory
documents, and the "would the API server accept it" check used everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litekube.ecs import Conversion, ConvertOptions, Inputs, convert, parse_document
from litekube.ecs.checks import problems, schema_problems
from litekube.ecs.explain import Record, Severity
from tests.conftest import SEED

SAMPLES = SEED.parent / "ecs-samples"
FIRELENS = SAMPLES / (
    "aws-samples__amazon-ecs-firelens-examples__examples__fluent-bit__parse-envoy-app-mesh__"
    "appmesh-firelens-colorteller-black-ecs-task-def.json"
)
ORDERING = (
    SAMPLES
    / "aws__amazon-ecs-agent__agent__functional_tests__testdata__taskdefinitions__container-ordering__task-definition.json"
)
REVERSE_PROXY = SAMPLES / "awslabs__ecs-nginx-reverse-proxy__reverse-proxy__task-definition.json"
WORKSHOP_TASK = (
    SAMPLES / "aws-samples__aws-modern-application-workshop__module-2__aws-cli__task-definition.json"
)
WORKSHOP_SERVICE = (
    SAMPLES / "aws-samples__aws-modern-application-workshop__module-2__aws-cli__service-definition.json"
)
ECSPRESSO_TASK = SAMPLES / "kayac__ecspresso__tests__td.json"
ECSPRESSO_SERVICE = SAMPLES / "kayac__ecspresso__tests__sv.json"


def convert_files(*files: Path, options: ConvertOptions | None = None) -> Conversion:
    return convert(Inputs.from_files([str(f) for f in files]), options)


def convert_data(*documents: Any, options: ConvertOptions | None = None) -> Conversion:
    parsed = [parse_document(d, f"input-{i}.json") for i, d in enumerate(documents)]
    return convert(Inputs.from_documents(parsed), options)


def assert_valid(conversion: Conversion) -> None:
    found = [p for obj in conversion.objects for p in problems(obj) + schema_problems(obj)]
    assert found == []


def by_kind(conversion: Conversion, kind: str) -> list[dict[str, Any]]:
    return [o for o in conversion.objects if o["kind"] == kind]


def workload(conversion: Conversion) -> dict[str, Any]:
    kinds = ("Deployment", "DaemonSet", "Job", "CronJob")
    return next(o for o in conversion.objects if o["kind"] in kinds)


def pod_spec(conversion: Conversion) -> dict[str, Any]:
    obj = workload(conversion)
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def container(conversion: Conversion, name: str) -> dict[str, Any]:
    spec = pod_spec(conversion)
    return next(c for c in [*spec.get("initContainers", []), *spec["containers"]] if c["name"] == name)


def records_at(conversion: Conversion, path: str, document: str = "task-definition") -> list[Record]:
    return [r for r in conversion.records if r.ecs_path == path and r.document == document]


def severities(conversion: Conversion, path: str, document: str = "task-definition") -> set[Severity]:
    return {r.severity for r in records_at(conversion, path, document)}
