"""Scheduled tasks: EventBridge rule + targets, or an EventBridge Scheduler schedule →
CronJob (or a one-off Job for `at(...)`) (ECS-MAPPING §10b).

`convert_cron` turns the 6-field AWS cron into the 5-field Kubernetes one: the year must
cover every year, `?` → `*`, day-of-week numbers shift down by one (AWS 1-7 = SUN-SAT,
cron 0-6 = SUN-SAT: `cron(0 10 ? * 2 *)` = Monday → `0 10 * * 1`), `a/b` → `a-max/b`,
and `L`, `W`, `#` have no equivalent. `convert_rate` maps rate() onto clock-aligned
steps. A schedule that cannot be expressed yields a suspended CronJob plus an impossible
record, so nothing runs at the wrong time.

EventBridge rules evaluate in UTC, so `timeZone: Etc/UTC` is always written.
"""

from __future__ import annotations

import copy
import json
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from litekube.ecs import placement
from litekube.ecs.context import CRONJOB, JOB, Context, annotation_key
from litekube.ecs.explain import Scope
from litekube.ecs.load import camel_fold
from litekube.ecs.names import CRONJOB_NAME_MAX, dns_label
from litekube.ecs.quirks import as_dict, as_list, escape_dollar, to_int, to_str, to_str_list

_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
_NAMES = frozenset("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC SUN MON TUE WED THU FRI SAT".split())
_NAME = re.compile(r"[A-Za-z]{3}")


@dataclass
class Converted:
    schedule: str
    exact: bool
    note: str
    possible: bool = True


def convert_cron(body: str) -> Converted:
    """`0 18 ? * MON-FRI *` (the inside of cron(...)) → Kubernetes schedule."""
    fields = body.split()
    if len(fields) != 6:
        return Converted("0 0 * * *", False, f"{len(fields)} fields instead of 6", possible=False)
    minute, hour, dom, month, dow, year = fields
    notes: list[str] = []
    possible = True
    if year not in ("*", "?"):
        possible = False
        notes.append(f"a year field ({year}) has no equivalent")
    out = []
    for index, value in enumerate((minute, hour, dom, month, dow)):
        value = "*" if value == "?" else value
        if re.search(
            r"[LW#]", _NAME.sub(lambda m: "" if m.group().upper() in _NAMES else m.group(), value).upper()
        ):
            possible = False
            notes.append(f"{value!r} (L/W/#) has no equivalent")
            value = "*"
        elif index == 4:
            shifted = _shift_day_of_week(value)
            if shifted is None:
                possible = False
                notes.append(f"day of week {dow!r} cannot be read")
            value = shifted or "*"
        out.append(_expand_step(value, *_RANGES[index]))
    schedule = " ".join(out)
    if possible and not _valid(schedule):
        possible = False
        notes.append(f"{schedule!r} is not a valid schedule")
        schedule = "0 0 * * *"
    return Converted(schedule, possible, "; ".join(notes) or "day of week shifted (AWS 1-7 → 0-6)", possible)


def _shift_day_of_week(value: str) -> str | None:
    def shift(token: str) -> str | None:
        if token.isdigit():
            number = int(token)
            return str(number - 1) if 1 <= number <= 7 else None
        return token if re.fullmatch(r"[A-Za-z]{3}|\*", token) else None

    parts = []
    for part in value.split(","):
        base, slash, step = part.partition("/")
        low, dash, high = base.partition("-")
        new_low = shift(low)
        new_high = shift(high) if dash else ""
        if new_low is None or new_high is None or (slash and not step.isdigit()):
            return None
        parts.append(new_low + (f"-{new_high}" if dash else "") + (f"/{step}" if slash else ""))
    return ",".join(parts)


def _expand_step(value: str, low: int, high: int) -> str:
    parts = []
    for part in value.split(","):
        base, slash, step = part.partition("/")
        if slash and base not in ("*",) and "-" not in base:
            part = f"{base}-{high}/{step}"
        parts.append(part)
    return ",".join(parts)


def _valid(schedule: str) -> bool:
    from croniter import croniter

    try:
        return bool(croniter.is_valid(schedule))
    except Exception:  # croniter raises several exception types for bad input
        return False


def convert_rate(body: str) -> Converted:
    match = re.fullmatch(r"\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*", body)
    if not match or int(match.group(1)) < 1:
        return Converted("0 0 * * *", False, f"rate({body}) cannot be read", possible=False)
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    phase = "EventBridge rates are phased from rule creation; cron is clock-aligned"
    if unit == "minute" and count % 60 == 0:
        count, unit = count // 60, "hour"
    if unit == "hour" and count % 24 == 0:
        count, unit = count // 24, "day"
    if unit == "minute":
        if count >= 60:
            return Converted(
                "0 * * * *", False, f"every {count} minutes has no cron form; hourly used", possible=False
            )
        return Converted("* * * * *" if count == 1 else f"*/{count} * * * *", 60 % count == 0, phase)
    if unit == "hour":
        return Converted("0 * * * *" if count == 1 else f"0 */{count} * * *", 24 % count == 0, phase)
    if count == 1:
        return Converted("0 0 * * *", True, phase)
    return Converted(f"0 0 */{count} * *", False, phase + "; day steps restart each month")


def schedule_kind(expression: str | None) -> str:
    return JOB if expression and expression.strip().startswith("at(") else CRONJOB


def build_scheduled(
    ctx: Context,
    template: dict[str, Any],
    expression: str,
    expression_scope: Scope,
    targets: list[tuple[dict[str, Any], Scope]],
    name: str,
    time_zone: str,
    suspend: bool,
) -> list[dict[str, Any]]:
    """One CronJob (or Job) per ECS target; `template` is the task's pod template."""
    objects: list[dict[str, Any]] = []
    base_name = dns_label(name, CRONJOB_NAME_MAX)
    for index, (target, target_scope) in enumerate(targets):
        job_name = (
            base_name
            if len(targets) == 1
            else dns_label(f"{name}-{target.get('Id', index)}", CRONJOB_NAME_MAX)
        )
        pod_template = copy.deepcopy(template)
        pod_template["spec"]["restartPolicy"] = "Never"
        count = _map_ecs_parameters(target, target_scope, ctx, pod_template)
        job_spec = {"parallelism": count, "completions": count, "backoffLimit": 0, "template": pod_template}
        if ctx.kind == JOB:
            meta = ctx.metadata(job_name, {annotation_key("run-at"): expression})
            objects.append({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": job_spec})
            continue
        converted = _convert(expression)
        spec: dict[str, Any] = {
            "schedule": converted.schedule,
            "timeZone": time_zone,
            "concurrencyPolicy": "Allow",
        }
        if suspend or not converted.possible:
            spec["suspend"] = True
        spec["jobTemplate"] = {"spec": job_spec}
        meta = ctx.metadata(job_name, {annotation_key("schedule-expression"): expression})
        objects.append({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta, "spec": spec})
    if ctx.kind == JOB:
        expression_scope.approx(
            "kind: Job",
            "at() one-off → a Job",
            "create it at the time given (Kubernetes has no one-off schedule)",
        )
    else:
        converted = _convert(expression)
        if not converted.possible:
            expression_scope.impossible(
                f"{expression} → suspended CronJob",
                converted.note + "; fix spec.schedule by hand",
                "spec.schedule",
            )
        elif converted.exact:
            expression_scope.exact("spec.schedule", f"{expression} → {converted.schedule!r}", converted.note)
        else:
            expression_scope.approx("spec.schedule", f"{expression} → {converted.schedule!r}", converted.note)
    return objects


def _convert(expression: str) -> Converted:
    match = re.fullmatch(r"\s*(cron|rate)\((.*)\)\s*", expression)
    if not match:
        return Converted("0 0 * * *", False, f"{expression!r} is not cron(), rate() or at()", possible=False)
    return convert_cron(match.group(2)) if match.group(1) == "cron" else convert_rate(match.group(2))


def valid_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _map_ecs_parameters(target: dict[str, Any], scope: Scope, ctx: Context, template: dict[str, Any]) -> int:
    params_scope = scope.at("EcsParameters")
    params = as_dict(target.get("EcsParameters"), params_scope) or {}
    count = (
        to_int(params.get("TaskCount"), params_scope.at("TaskCount"), minimum=1)
        if "TaskCount" in params
        else None
    )
    if count is not None:
        params_scope.at("TaskCount").exact("spec.jobTemplate.spec.parallelism/completions", "TaskCount")
    for key, value in params.items():
        key_scope = params_scope.at(key)
        if key == "TaskDefinitionArn":
            family = (to_str(value, key_scope) or "").rsplit("/", 1)[-1].split(":", 1)[0]
            original = ctx.annotations.get(annotation_key("original-name"), ctx.name)
            if family and family not in (original, ctx.name):
                key_scope.error(
                    f"names task family {family!r}, but the task definition given is {original!r}"
                )
            else:
                key_scope.exact("", "refers to the task definition given")
        elif key in ("PlacementConstraints", "PlacementStrategy"):
            folded = camel_fold(value)
            mapper = placement.map_constraints if key == "PlacementConstraints" else placement.map_strategies
            mapper(folded, key_scope, ctx)
            for pod_key in ("affinity", "topologySpreadConstraints"):
                if pod_key in ctx.pod:
                    template["spec"][pod_key] = copy.deepcopy(ctx.pod[pod_key])
        elif key == "NetworkConfiguration":
            key_scope.impossible("subnets and security groups: the cluster's networking decides")
        elif key in ("LaunchType", "CapacityProviderStrategy", "PlatformVersion", "Group", "ReferenceId"):
            key_scope.approx("", "informational", "node pools and labels decide placement")
        elif key in ("EnableECSManagedTags", "EnableExecuteCommand", "PropagateTags", "Tags"):
            key_scope.approx("", "labels/RBAC cover this", "")
        elif key != "TaskCount":
            key_scope.ignored("unknown EcsParameters field")
    if "Input" in target:
        _apply_overrides(target["Input"], scope.at("Input"), ctx, template)
    for key in ("InputPath", "InputTransformer"):
        if key in target:
            scope.at(key).impossible("event-derived input has no CronJob equivalent")
    for key in ("RetryPolicy", "DeadLetterConfig"):
        if key in target:
            scope.at(key).approx(
                "spec.jobTemplate.spec.backoffLimit",
                "covers the RunTask call, not task failure: backoffLimit 0",
            )
    for key in ("Id", "Arn", "RoleArn"):
        if key in target:
            scope.at(key).ignored("target identity / cluster / invocation role")
    return count or 1


def _apply_overrides(raw: object, scope: Scope, ctx: Context, template: dict[str, Any]) -> None:
    text = to_str(raw, scope)
    try:
        overrides = json.loads(text) if text else {}
    except json.JSONDecodeError:
        scope.error("Input is not JSON: ignored")
        return
    if not isinstance(overrides, dict):
        scope.error("Input is not a JSON object: ignored")
        return
    containers = {
        c["name"]: c for c in [*template["spec"].get("initContainers", []), *template["spec"]["containers"]]
    }
    for index, item in enumerate(as_list(overrides.get("containerOverrides"), scope)):
        override = as_dict(item, scope.at(index)) or {}
        name = ctx.containers.get(override.get("name"))
        container = containers.get(name or "")
        if container is None:
            scope.at(index).error(f"override for unknown container {override.get('name')!r}: ignored")
            continue
        command = to_str_list(override.get("command"), scope.at(index)) if "command" in override else None
        if command:
            container["args"] = [escape_dollar(a) for a in command]
        env = container.setdefault("env", [])
        for var in as_list(override.get("environment"), scope.at(index)):
            if isinstance(var, dict) and isinstance(var.get("name"), str) and var["name"]:
                env[:] = [e for e in env if e["name"] != var["name"]]
                env.append({"name": var["name"], "value": escape_dollar(str(var.get("value", "")))})
        if not env:
            del container["env"]
    scope.approx(
        "spec.jobTemplate.spec.template.spec.containers[]",
        "containerOverrides applied (command → args, environment merged)",
        "cpu/memory/taskRole overrides are not applied",
    )
