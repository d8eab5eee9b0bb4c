"""`healthCheck` → exec probes (ECS-MAPPING §5).

ECS uses the health check for two jobs — replacing unhealthy service tasks (liveness)
and gating deployments and `dependsOn: HEALTHY` (readiness) — so it becomes a liveness
and a readiness probe with the same handler, plus a startup probe when `startPeriod` > 0.
Every timing is written out because the defaults differ (ECS 30/5/3/0, Kubernetes
10/1/3/0). Worked example: interval 10, timeout 5, retries 2, startPeriod 30 →
startup {period 10, timeout 5, failureThreshold ceil(30/10)+2 = 5}; liveness and
readiness {period 10, timeout 5, failureThreshold 2}.

`CMD-SHELL s` runs through `/bin/sh -c s` (`cmd /S /C s` on Windows); kompose drops the
shell here, which breaks every CMD-SHELL check. `$(` is escaped to `$$(` because
Kubernetes expands `$(VAR)` in exec commands.
"""

from __future__ import annotations

import math
from typing import Any

from litekube.ecs.context import ContainerPlan, Context
from litekube.ecs.explain import Severity
from litekube.ecs.quirks import as_dict, escape_dollar, to_int, to_str_list

ECS_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0}
_K8S_FIELD = {"interval": "periodSeconds", "timeout": "timeoutSeconds", "retries": "failureThreshold"}


def build_probes(plan: ContainerPlan, ctx: Context) -> None:
    """Fill `plan.probe` / `plan.startup_probe`; `place_probes` puts them on the spec later,
    once the container's role (plain, sidecar, init) is known."""
    scope = plan.scope.at("healthCheck")
    check = as_dict(plan.source.get("healthCheck"), scope)
    if check is None:
        return
    command = to_str_list(check.get("command"), scope.at("command")) if "command" in check else None
    if not command:
        scope.impossible("no command: no probes", "ECS requires healthCheck.command")
        return
    if command[0] == "NONE":
        scope.exact("", 'command ["NONE"]: health check disabled, no probes')
        return
    if command[0] == "CMD-SHELL":
        script = " ".join(command[1:])
        shell = ["cmd", "/S", "/C"] if ctx.windows else ["/bin/sh", "-c"]
        argv = [*shell, escape_dollar(script)]
        rule = f"CMD-SHELL → exec {' '.join(shell)} <script>"
        note = "needs a shell in the image (distroless/scratch images fail this probe)"
    elif command[0] == "CMD":
        argv = [escape_dollar(a) for a in command[1:]]
        rule, note = "CMD → exec argv", ""
    else:
        argv = [escape_dollar(a) for a in command]
        rule, note = "no CMD/CMD-SHELL prefix: treated as exec", "ECS expects CMD or CMD-SHELL first"
    if not argv or not argv[0]:
        scope.error("empty command after the prefix: no probes")
        return
    timing: dict[str, int] = {}
    for key, default in ECS_DEFAULTS.items():
        value = to_int(check[key], scope.at(key)) if key in check else None
        floor = 0 if key == "startPeriod" else 1
        if value is not None and value < floor:
            scope.at(key).error(f"below {floor}: ECS default {default} used", f"value {value}")
            value = None
        timing[key] = default if value is None else value
    probe: dict[str, Any] = {
        "exec": {"command": argv},
        "initialDelaySeconds": 0,
        "periodSeconds": timing["interval"],
        "timeoutSeconds": timing["timeout"],
        "successThreshold": 1,
        "failureThreshold": timing["retries"],
    }
    plan.probe = probe
    base = ctx.container_path(plan)
    scope.at("command").approx(f"{base}.livenessProbe.exec.command", rule, note)
    for key in ("interval", "timeout", "retries"):
        where = f"{base}.livenessProbe.{_K8S_FIELD[key]}"
        if key in check:
            scope.at(key).exact(where, f"{key} → {_K8S_FIELD[key]} (also on readinessProbe)")
    if timing["startPeriod"] > 0:
        threshold = math.ceil(timing["startPeriod"] / timing["interval"]) + timing["retries"]
        plan.startup_probe = {**probe, "failureThreshold": threshold}
        scope.at("startPeriod").approx(
            f"{base}.startupProbe.failureThreshold",
            f"ceil(startPeriod/interval)+retries = {threshold}",
            "ECS ignores failures during startPeriod; the startup probe gives the same tolerance",
        )
    elif "startPeriod" in check:
        scope.at("startPeriod").exact("", "0: no start period, no startup probe")
    for key in check:
        if key not in ECS_DEFAULTS and key != "command":
            scope.at(key).record("", "unknown healthCheck field", Severity.UNMAPPED)


def place_probes(plan: ContainerPlan, ctx: Context, healthy_target: bool) -> None:
    """Put the probes on the container spec according to its role."""
    if plan.probe is None:
        return
    if plan.role == "init":
        plan.scope.at("healthCheck").impossible(
            "init containers cannot have probes: dropped", "this container runs to completion before the app"
        )
        return
    plan.spec["livenessProbe"] = dict(plan.probe)
    plan.spec["readinessProbe"] = dict(plan.probe)
    base = ctx.container_path(plan)
    plan.scope.at("healthCheck").approx(
        f"{base}.readinessProbe",
        "same check as readiness",
        "ECS counts only healthy tasks towards minimumHealthyPercent",
    )
    startup = plan.startup_probe
    if startup is None and healthy_target:
        # a sidecar is "started" for the containers after it once its startup probe passes,
        # which is how dependsOn HEALTHY is kept
        startup = dict(plan.probe)
        plan.scope.at("healthCheck").approx(
            f"{base}.startupProbe", "dependsOn HEALTHY target: startupProbe gates the containers after it"
        )
    if startup is not None:
        plan.spec["startupProbe"] = startup
