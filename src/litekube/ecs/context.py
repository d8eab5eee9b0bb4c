"""Shared state of one conversion: options, the explainer, name maps, the pod-level
fields that container mappers contribute to, and the extra objects (Secrets, ConfigMaps,
volumes claims...) they ask for.

The converter (`convert.py`) creates one `Context`; every mapping module reads the
cleaned ECS data it is given and writes into `ContainerPlan.spec`, `Context.pod` or
`Context.objects`, and records what it did through scopes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from litekube.ecs.explain import Explainer, Scope
from litekube.ecs.names import NameMap

DEPLOYMENT, DAEMONSET, JOB, CRONJOB = "Deployment", "DaemonSet", "Job", "CronJob"

# labels put on everything; the selector uses only the name label
NAME_LABEL = "app.kubernetes.io/name"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "litekube-ecs"
ANNOTATION_PREFIX = "ecs-import/"


@dataclass
class ConvertOptions:
    namespace: str | None = None
    # workload kind for a task definition given alone: Deployment (default), Job or DaemonSet
    kind: str | None = None
    # App Mesh is discontinued: by default its Envoy container is dropped (ECS-MAPPING §6)
    keep_mesh_proxy: bool = False
    # FireLens routers are wired by the ECS agent only: dropped by default (§10)
    keep_log_router: bool = False


@dataclass
class ContainerPlan:
    """One ECS container on its way to becoming a Kubernetes container."""

    index: int
    source: dict[str, Any]
    scope: Scope
    original_name: str
    name: str
    essential: bool = True
    # "container", "init" (runs to completion first) or "sidecar" (restartPolicy: Always)
    role: str = "container"
    dropped: bool = False
    spec: dict[str, Any] = field(default_factory=dict)
    # ECS portMappings[].name → Kubernetes port name; containerPort → protocol
    port_names: dict[str, str] = field(default_factory=dict)
    ports: dict[int, str] = field(default_factory=dict)
    # the ECS healthCheck as Kubernetes probes, before role-specific placement
    probe: dict[str, Any] | None = None
    startup_probe: dict[str, Any] | None = None
    # a dependsOn COMPLETE target: Kubernetes init containers must exit 0, so mask the code
    mask_exit: bool = False
    # a dependsOn HEALTHY target: needs a startup probe to gate the containers after it
    healthy_target: bool = False


@dataclass
class Context:
    options: ConvertOptions
    explainer: Explainer
    name: str
    task_file: str = "task-definition"
    kind: str = DEPLOYMENT
    network_mode: str = "bridge"
    windows: bool = False
    fargate: bool = False
    containers: NameMap = field(default_factory=NameMap)
    volumes: NameMap = field(default_factory=NameMap)
    plans: list[ContainerPlan] = field(default_factory=list)
    # pod-level fields gathered from container fields (hostAliases, dnsConfig, sysctls...)
    pod: dict[str, Any] = field(default_factory=dict)
    pod_annotations: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    # extra objects emitted before the workload (ServiceAccount, Secrets, ConfigMaps, PV/PVC)
    objects: list[dict[str, Any]] = field(default_factory=list)
    # ECS volume name → the Kubernetes volume (set by volumes.py)
    volume_specs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def pod_path(self) -> str:
        prefix = {
            DEPLOYMENT: "spec.template.spec",
            DAEMONSET: "spec.template.spec",
            JOB: "spec.template.spec",
            CRONJOB: "spec.jobTemplate.spec.template.spec",
        }
        return prefix[self.kind]

    def container_path(self, plan: ContainerPlan) -> str:
        listing = "containers" if plan.role == "container" else "initContainers"
        return f"{self.pod_path()}.{listing}[name={plan.name}]"

    def selector(self) -> dict[str, str]:
        return {NAME_LABEL: self.name}

    def metadata(self, name: str, kind_annotations: dict[str, str] | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name}
        if self.options.namespace:
            meta["namespace"] = self.options.namespace
        meta["labels"] = {NAME_LABEL: self.name, MANAGED_BY_LABEL: MANAGED_BY}
        if kind_annotations:
            meta["annotations"] = dict(kind_annotations)
        return meta

    def find_plan(self, original: object) -> ContainerPlan | None:
        for plan in self.plans:
            if plan.original_name == original and not plan.dropped:
                return plan
        return None

    def add_object(self, obj: dict[str, Any]) -> None:
        key = (obj["kind"], obj["metadata"]["name"])
        for existing in self.objects:
            if (existing["kind"], existing["metadata"]["name"]) == key:
                return
        self.objects.append(obj)


def annotation_key(name: str) -> str:
    """`ecs-import/<name>` with the name part cut to 63 characters and ending alphanumeric."""
    part = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)[:63].strip("-_.")
    return ANNOTATION_PREFIX + (part or "x")
