"""CPU and memory (ECS-MAPPING §2.1, §2.2).

Container level:
* `cpu` (CPU units, a Docker CPU share on Linux) → `requests.cpu` only, 1024 units =
  1000m, rounded up: 128 → 125m, 256 → 250m, 10 → 10m, 1024 → "1". Windows: also a limit.
* `memory` (MiB, hard) → `limits.memory`; `memoryReservation` (MiB, soft) →
  `requests.memory`. Only `memory` → request = limit, because that is what ECS reserves.
* `resourceRequirements` GPU → `limits["nvidia.com/gpu"]`.

Task level: `cpu`/`memory` are hard caps for the whole task → pod-level
`spec.resources.limits` (beta, on by default since v1.34), with requests set equal
(Fargate bills the task size). The API server demands pod requests ≥ the sum of container
requests and no container limit above the pod limit, so a task size that violates that
(ECS would reject it too) is reported and left out.
"""

from __future__ import annotations

import math
from typing import Any

from litekube.ecs.context import ContainerPlan, Context
from litekube.ecs.explain import Scope
from litekube.ecs.quirks import as_dict, as_list, to_int, to_str


def cpu_quantity(units: int) -> str:
    """1024 CPU units = 1000m, rounded up; whole cores without the `m`."""
    millis = math.ceil(units * 1000 / 1024)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def cpu_millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(quantity) * 1000


def memory_mib(quantity: str) -> int:
    return int(quantity[:-2])


def map_container_resources(plan: ContainerPlan, ctx: Context) -> None:
    src, scope, path = plan.source, plan.scope, ctx.container_path(plan)
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if "cpu" in src:
        units = to_int(src["cpu"], scope.at("cpu"), minimum=0)
        if units:
            requests["cpu"] = cpu_quantity(units)
            if ctx.windows:
                limits["cpu"] = requests["cpu"]
                scope.at("cpu").exact(f"{path}.resources.limits.cpu", "Windows: CPU units are a hard quota")
            scope.at("cpu").exact(
                f"{path}.resources.requests.cpu",
                f"ceil(units*1000/1024)m = {requests['cpu']}",
                "a CPU share is a soft weight: request only, no limit",
            )
        elif units == 0:
            scope.at("cpu").exact("", "0 units: no cpu request", "ECS gave this container no reservation")
    memory = to_int(src["memory"], scope.at("memory"), minimum=1) if "memory" in src else None
    reservation = (
        to_int(src["memoryReservation"], scope.at("memoryReservation"), minimum=1)
        if "memoryReservation" in src
        else None
    )
    if memory is not None and reservation is not None and reservation > memory:
        scope.at("memoryReservation").error(
            "memoryReservation above memory: ignored", "ECS requires memory > memoryReservation"
        )
        reservation = None
    if memory is not None:
        limits["memory"] = f"{memory}Mi"
        scope.at("memory").exact(f"{path}.resources.limits.memory", f"{memory} MiB hard limit")
        if reservation is None:
            requests["memory"] = f"{memory}Mi"
            scope.at("memory").exact(
                f"{path}.resources.requests.memory", "no memoryReservation: request = limit"
            )
    if reservation is not None:
        requests["memory"] = f"{reservation}Mi"
        scope.at("memoryReservation").exact(
            f"{path}.resources.requests.memory", f"{reservation} MiB soft reservation"
        )
    for index, item in enumerate(as_list(src.get("resourceRequirements"), scope.at("resourceRequirements"))):
        item_scope = scope.at("resourceRequirements").at(index)
        item = as_dict(item, item_scope) or {}
        kind = to_str(item.get("type"), item_scope.at("type"))
        count = to_int(item.get("value"), item_scope.at("value"), minimum=1)
        if kind == "GPU" and count:
            limits["nvidia.com/gpu"] = str(count)
            item_scope.exact(f"{path}.resources.limits[nvidia.com/gpu]", "GPU count → extended resource")
        else:
            item_scope.impossible("only GPU has an equivalent", "Elastic Inference is discontinued")
    resources: dict[str, Any] = {}
    if limits:
        resources["limits"] = limits
    if requests:
        resources["requests"] = requests
    if resources:
        plan.spec["resources"] = resources


def map_task_resources(task: dict[str, Any], scope: Scope, ctx: Context) -> dict[str, Any] | None:
    """Task `cpu`/`memory` → pod-level resources (or None); container specs must be final."""
    from litekube.ecs.quirks import task_cpu_units, task_memory_mib

    pod_path = ctx.pod_path()
    live = [p for p in ctx.plans if not p.dropped]
    values: dict[str, str] = {}
    if "cpu" in task:
        units = task_cpu_units(task["cpu"], scope.at("cpu"))
        if units:
            quantity = cpu_quantity(units)
            needed = sum(cpu_millis(_get(p, "requests", "cpu") or "0") for p in live)
            biggest = max((cpu_millis(_get(p, "limits", "cpu") or "0") for p in live), default=0)
            if max(needed, biggest) > cpu_millis(quantity):
                scope.at("cpu").error(
                    "task cpu below the containers' total: pod-level limit left out",
                    f"containers need {needed}m, task gives {quantity}",
                )
            else:
                values["cpu"] = quantity
                scope.at("cpu").approx(
                    f"{pod_path}.resources.limits.cpu",
                    f"task size → pod-level limit and request {quantity} (1024 units = 1000m)",
                    "pod-level resources need Kubernetes ≥ 1.34 (beta, on by default)",
                )
    if "memory" in task:
        mib = task_memory_mib(task["memory"], scope.at("memory"))
        if mib:
            needed = sum(memory_mib(_get(p, "requests", "memory") or "0Mi") for p in live)
            biggest = max((memory_mib(_get(p, "limits", "memory") or "0Mi") for p in live), default=0)
            if max(needed, biggest) > mib:
                scope.at("memory").error(
                    "task memory below the containers' total: pod-level limit left out",
                    f"containers need {max(needed, biggest)}Mi, task gives {mib}Mi",
                )
            else:
                values["memory"] = f"{mib}Mi"
                scope.at("memory").approx(
                    f"{pod_path}.resources.limits.memory",
                    f"task size → pod-level limit and request {mib}Mi",
                    "pod-level resources need Kubernetes ≥ 1.34 (beta, on by default)",
                )
    if not values:
        return None
    return {"limits": dict(values), "requests": dict(values)}


def map_ephemeral_storage(task: dict[str, Any], scope: Scope, ctx: Context) -> None:
    storage = as_dict(task.get("ephemeralStorage"), scope.at("ephemeralStorage"))
    if storage is None:
        return
    size_scope = scope.at("ephemeralStorage").at("sizeInGiB")
    size = to_int(storage.get("sizeInGiB"), size_scope, minimum=1)
    main = next((p for p in ctx.plans if not p.dropped and p.role == "container"), None)
    if not size or main is None:
        return
    resources = main.spec.setdefault("resources", {})
    resources.setdefault("limits", {})["ephemeral-storage"] = f"{size}Gi"
    size_scope.approx(
        f"{ctx.container_path(main)}.resources.limits.ephemeral-storage",
        f"{size}Gi on the first app container",
        "pod-level resources cover cpu and memory only",
    )
    for key in storage:
        if key != "sizeInGiB":
            scope.at("ephemeralStorage").at(key).ignored("not part of the size")


def _get(plan: ContainerPlan, section: str, resource: str) -> str | None:
    value = plan.spec.get("resources", {}).get(section, {}).get(resource)
    return value if isinstance(value, str) else None
