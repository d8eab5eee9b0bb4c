"""Reading input files and recognising which ECS document each one is.

Flow: `load_document(path)` reads and parses the JSON (errors become `EcsInputError`
naming the file), `detect` picks the kind from the shape, and the unwrapper for that kind
returns the document the mappers expect:

* task definition: register-task-definition input as is; describe-task-definition output
  `{"taskDefinition": {...}, "tags": [...]}` unwrapped (wrapper tags kept); a bare array of
  container definitions (Terraform / ecspresso fragments) wrapped into a task; a
  CloudFormation template or `AWS::ECS::TaskDefinition` resource with PascalCase keys
  folded to camelCase;
* service: create-service input, `{"service": {...}}`, describe-services output
  `{"services": [...]}` (the first one);
* EventBridge rule (put-rule / describe-rule), targets (put-targets input or a bare array),
  and EventBridge Scheduler schedules; these stay PascalCase, as the AWS APIs write them.

`Inputs.from_files` classifies a list of files (flags may force a kind) and insists on
exactly one task definition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litekube.ecs.errors import EcsInputError
from litekube.ecs.quirks import USER_MAPS

TASK, SERVICE, RULE, TARGETS, SCHEDULE = "task-definition", "service", "rule", "targets", "schedule"
KINDS = (TASK, SERVICE, RULE, TARGETS, SCHEDULE)

# CloudFormation spells some fields differently from the ECS API beyond the first letter
_CFN_RENAMES = {
    "EFSVolumeConfiguration": "efsVolumeConfiguration",
    "FSxWindowsFileServerVolumeConfiguration": "fsxWindowsFileServerVolumeConfiguration",
    "ContainerDefinitions": "containerDefinitions",
}
_SERVICE_KEYS = {
    "serviceName",
    "desiredCount",
    "loadBalancers",
    "deploymentConfiguration",
    "schedulingStrategy",
    "launchType",
    "serviceRegistries",
    "placementStrategy",
    "capacityProviderStrategy",
    "deploymentController",
    "serviceConnectConfiguration",
    "healthCheckGracePeriodSeconds",
}
_TASK_KEYS = {
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "requiresCompatibilities",
    "volumes",
}


@dataclass
class Document:
    kind: str
    file: str
    data: Any
    # (path, rule) notes about how the file was read, recorded as IGNORED/EXACT by the converter
    notes: list[tuple[str, str]] = field(default_factory=list)


def camel_fold(data: Any, under_user_map: bool = False) -> Any:
    """CloudFormation `PascalCase` keys → ECS API `camelCase` (user maps keep their keys)."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            key = str(key)
            new_key = key if under_user_map else _CFN_RENAMES.get(key, key[:1].lower() + key[1:])
            if len(data) == 1 and (key == "Ref" or key.startswith("Fn::")):
                # an intrinsic function: keep it as a visible, unresolved template string
                return "{{ " + key + " " + json.dumps(value) + " }}"
            out[new_key] = camel_fold(value, new_key in USER_MAPS)
        return out
    if isinstance(data, list):
        return [camel_fold(item) for item in data]
    return data


def _looks_pascal(data: dict[str, Any]) -> bool:
    return any(isinstance(k, str) and k[:1].isupper() for k in data) and not any(
        isinstance(k, str) and k[:1].islower() for k in data
    )


def detect(data: Any) -> str | None:
    if isinstance(data, list):
        dicts = [item for item in data if isinstance(item, dict)]
        if not dicts:
            return None
        keys = {str(k).lower() for item in dicts for k in item}
        if keys & {"ecsparameters", "arn", "id"} and not keys & {"image", "name"}:
            return TARGETS
        if keys & {"image", "name"}:
            return TASK
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("taskDefinition"), dict) or "containerDefinitions" in data:
        return TASK
    if "ContainerDefinitions" in data or data.get("Type") == "AWS::ECS::TaskDefinition":
        return TASK
    if isinstance(data.get("Resources"), dict):
        return TASK
    if isinstance(data.get("services"), list) or isinstance(data.get("service"), dict):
        return SERVICE
    if "Targets" in data:
        return TARGETS
    if "ScheduleExpression" in data or "EventPattern" in data:
        return SCHEDULE if isinstance(data.get("Target"), dict) or "FlexibleTimeWindow" in data else RULE
    keys = set(data)
    if keys & _SERVICE_KEYS:
        return SERVICE
    if keys & _TASK_KEYS:
        return TASK
    return None


def _unwrap_task(data: Any, file: str) -> Document:
    notes: list[tuple[str, str]] = []
    if isinstance(data, list):
        data = {"containerDefinitions": data}
        notes.append(("", "bare array of container definitions: task level synthesised"))
    elif isinstance(data.get("Resources"), dict):
        found = [
            r
            for r in data["Resources"].values()
            if isinstance(r, dict) and r.get("Type") == "AWS::ECS::TaskDefinition"
        ]
        if not found:
            raise EcsInputError(file, "CloudFormation template has no AWS::ECS::TaskDefinition resource")
        data = found[0].get("Properties") or {}
    elif data.get("Type") == "AWS::ECS::TaskDefinition":
        data = data.get("Properties") or {}
    elif isinstance(data.get("taskDefinition"), dict):
        wrapper = data
        data = dict(wrapper["taskDefinition"])
        if wrapper.get("tags") and not data.get("tags"):
            data["tags"] = wrapper["tags"]
        notes.append(("", "describe-task-definition output: unwrapped"))
    if not isinstance(data, dict):
        raise EcsInputError(file, "task definition is not a JSON object")
    if _looks_pascal(data) or "ContainerDefinitions" in data:
        data = camel_fold(data)
        notes.append(("", "CloudFormation PascalCase keys folded to camelCase"))
    if "containerDefinitions" not in data:
        raise EcsInputError(file, "missing containerDefinitions")
    containers = data["containerDefinitions"]
    if not isinstance(containers, list) or not any(isinstance(c, dict) for c in containers):
        raise EcsInputError(file, "containerDefinitions must be a non-empty list of objects")
    return Document(TASK, file, data, notes)


def _unwrap_service(data: Any, file: str) -> Document:
    notes: list[tuple[str, str]] = []
    if isinstance(data, dict) and isinstance(data.get("services"), list):
        services = [s for s in data["services"] if isinstance(s, dict)]
        if not services:
            raise EcsInputError(file, "describe-services output holds no service")
        notes.append(("", "describe-services output: first service used"))
        data = services[0]
    elif isinstance(data, dict) and isinstance(data.get("service"), dict):
        data = data["service"]
    if not isinstance(data, dict):
        raise EcsInputError(file, "service definition is not a JSON object")
    if _looks_pascal(data):
        data = camel_fold(data)
        notes.append(("", "CloudFormation PascalCase keys folded to camelCase"))
    return Document(SERVICE, file, data, notes)


def _unwrap_targets(data: Any, file: str) -> Document:
    if isinstance(data, dict):
        data = data.get("Targets")
    if not isinstance(data, list):
        raise EcsInputError(file, "EventBridge targets must be a list (or put-targets input with Targets)")
    return Document(TARGETS, file, data)


def load_document(path: str, kind: str | None = None) -> Document:
    """Read, parse and unwrap one input file; `kind` forces the expected kind."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise EcsInputError(path, f"cannot read: {getattr(error, 'strerror', None) or error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise EcsInputError(
            path, f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    return parse_document(data, path, kind)


def parse_document(data: Any, file: str, kind: str | None = None) -> Document:
    found = detect(data)
    if found is None:
        raise EcsInputError(
            file,
            "not an ECS document (expected a task definition, service, EventBridge rule/targets or schedule)",
        )
    if kind is not None and found != kind and not (kind == SCHEDULE and found in (RULE, TARGETS)):
        raise EcsInputError(file, f"expected a {kind} document, found a {found}")
    if found == TASK:
        return _unwrap_task(data, file)
    if found == SERVICE:
        return _unwrap_service(data, file)
    if found == TARGETS:
        return _unwrap_targets(data, file)
    return Document(found, file, data)


@dataclass
class Inputs:
    task: Document
    service: Document | None = None
    rule: Document | None = None
    targets: Document | None = None
    schedule: Document | None = None

    @classmethod
    def from_documents(cls, documents: list[Document]) -> Inputs:
        by_kind: dict[str, Document] = {}
        for document in documents:
            if document.kind in by_kind:
                raise EcsInputError(
                    document.file, f"a second {document.kind} document (first: {by_kind[document.kind].file})"
                )
            by_kind[document.kind] = document
        if TASK not in by_kind:
            first = documents[0].file if documents else "(no input)"
            raise EcsInputError(first, "no task definition among the inputs")
        if SCHEDULE in by_kind and (RULE in by_kind or TARGETS in by_kind):
            raise EcsInputError(
                by_kind[SCHEDULE].file, "give either a Scheduler schedule or a rule + targets"
            )
        if RULE in by_kind and TARGETS not in by_kind:
            raise EcsInputError(by_kind[RULE].file, "an EventBridge rule needs its targets file too")
        if TARGETS in by_kind and RULE not in by_kind:
            raise EcsInputError(by_kind[TARGETS].file, "EventBridge targets need their rule file too")
        return cls(
            task=by_kind[TASK],
            service=by_kind.get(SERVICE),
            rule=by_kind.get(RULE),
            targets=by_kind.get(TARGETS),
            schedule=by_kind.get(SCHEDULE),
        )

    @classmethod
    def from_files(
        cls, files: list[str], service: str | None = None, schedules: tuple[str, ...] = ()
    ) -> Inputs:
        documents = [load_document(f) for f in files]
        if service is not None:
            documents.append(load_document(service, SERVICE))
        documents.extend(load_document(f, SCHEDULE) for f in schedules)
        return cls.from_documents(documents)
