"""One conversion, start to finish: `Inputs` → Kubernetes objects + explanation records.

Flow of `convert`:
1. clean each document (nulls/empties out, placeholders reported) under its own scope;
2. decide the workload kind (schedule → CronJob/Job, DAEMON service → DaemonSet,
   otherwise Deployment or `--kind`) and the workload name (family, else service name);
3. build the pod template from the task definition (task.py);
4. wrap it in the workload (workload.py) or in CronJobs (schedule.py);
5. put the extra objects first (ServiceAccount, Secrets, ConfigMaps, volumes), set the
   namespace, and account for every input field that no mapper recorded.
Nothing here writes files or prints: the CLI renders `Conversion`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litekube.ecs import schedule, task, workload
from litekube.ecs.context import CRONJOB, DAEMONSET, DEPLOYMENT, JOB, Context, ConvertOptions
from litekube.ecs.explain import Explainer, Record, Scope, Severity
from litekube.ecs.load import SERVICE, TASK, Document, Inputs
from litekube.ecs.names import CRONJOB_NAME_MAX, dns_label
from litekube.ecs.quirks import as_dict, as_list, drop_empty, report_placeholders, to_str

_KINDS = {"deployment": DEPLOYMENT, "job": JOB, "daemonset": DAEMONSET}


@dataclass
class Conversion:
    objects: list[dict[str, Any]]
    records: list[Record] = field(default_factory=list)


def _clean(document: Document, explainer: Explainer) -> tuple[Any, Scope]:
    scope = explainer.scope(document.kind)
    for _path, rule in document.notes:
        # how the file was read: shown as a row for the document itself
        explainer.records.append(Record(document.kind, "(file)", "", rule, Severity.EXACT, document.file))
    cleaned = drop_empty(document.data, scope)
    report_placeholders(cleaned, scope)
    return cleaned, scope


def convert(inputs: Inputs, options: ConvertOptions | None = None) -> Conversion:
    options = options or ConvertOptions()
    explainer = Explainer()
    task_data, task_scope = _clean(inputs.task, explainer)
    service_data, service_scope = (None, None)
    if inputs.service is not None:
        service_data, service_scope = _clean(inputs.service, explainer)
    family = to_str(task_data.get("family"), task_scope.at("family")) if "family" in task_data else None
    service_name = None
    if isinstance(service_data, dict) and isinstance(service_data.get("serviceName"), str):
        service_name = service_data["serviceName"]
    fallback = Path(inputs.task.file).stem
    original_name = family or service_name or fallback
    ctx = Context(options=options, explainer=explainer, name="", task_file=inputs.task.file)

    schedule_parts = _schedule_parts(inputs, explainer)
    if schedule_parts is not None:
        ctx.kind = schedule.schedule_kind(schedule_parts[0])
    elif service_data is not None:
        ctx.kind = workload.service_kind(service_data, service_scope)
    elif options.kind:
        ctx.kind = _KINDS[options.kind.lower()]
    ctx.name = dns_label(original_name, CRONJOB_NAME_MAX if ctx.kind == CRONJOB else 63)
    if not family:
        task_scope.approx(
            "metadata.name", f"no family: name {ctx.name!r} taken from the service or the file name"
        )
    template = task.build_pod_template(task_data, task_scope, ctx)
    if schedule_parts is not None:
        expression, expression_scope, targets, name, zone, suspend = schedule_parts
        main = schedule.build_scheduled(
            ctx, template, expression, expression_scope, targets, name or ctx.name, zone, suspend
        )
        for obj in main:
            obj["metadata"]["labels"].update(ctx.labels)
            obj["metadata"].setdefault("annotations", {}).update(ctx.annotations)
    else:
        main = workload.build_workload(ctx, template, service_data, service_scope)
    objects = [*ctx.objects, *main]
    explainer.account(TASK, task_data)
    if inputs.service is not None:
        explainer.account(SERVICE, service_data)
    for document in (inputs.rule, inputs.targets, inputs.schedule):
        if document is not None:
            explainer.account(document.kind, drop_empty(document.data, Explainer().scope(document.kind)))
    return Conversion(objects, explainer.records)


ScheduleParts = tuple[str, Scope, list[tuple[dict[str, Any], Scope]], str | None, str, bool]


def _schedule_parts(inputs: Inputs, explainer: Explainer) -> ScheduleParts | None:
    """(expression, its scope, ECS targets, name, time zone, suspended) of the schedule input."""
    from litekube.ecs.errors import EcsInputError

    if inputs.schedule is not None:
        data, scope = _clean(inputs.schedule, explainer)
        target_scope = scope.at("Target")
        target = as_dict(data.get("Target"), target_scope) or {}
        targets = [(target, target_scope)]
        zone = (
            to_str(data.get("ScheduleExpressionTimezone"), scope.at("ScheduleExpressionTimezone"))
            or "Etc/UTC"
        )
        if not schedule.valid_time_zone(zone):
            raise EcsInputError(inputs.schedule.file, f"unknown time zone {zone!r}")
        if "ScheduleExpressionTimezone" in data:
            scope.at("ScheduleExpressionTimezone").exact("spec.timeZone", "as is")
        file = inputs.schedule.file
        _explain_schedule_fields(data, scope)
    elif inputs.rule is not None and inputs.targets is not None:
        data, scope = _clean(inputs.rule, explainer)
        targets_data, targets_scope = _clean(inputs.targets, explainer)
        targets = []
        for index, item in enumerate(as_list(targets_data, targets_scope)):
            item_scope = targets_scope.at(index)
            entry = as_dict(item, item_scope)
            if entry is None:
                continue
            if "EcsParameters" not in entry:
                item_scope.impossible("not an ECS target: ignored")
                continue
            targets.append((entry, item_scope))
        if not targets:
            raise EcsInputError(inputs.targets.file, "no ECS target (with EcsParameters) among the targets")
        zone = "Etc/UTC"
        file = inputs.rule.file
        if "EventPattern" in data:
            scope.at("EventPattern").impossible("event-driven rules have no Kubernetes equivalent")
        for key in ("EventBusName", "Arn", "RoleArn", "ManagedBy", "CreatedBy"):
            if key in data:
                scope.at(key).ignored("rule plumbing")
    else:
        return None
    expression = to_str(data.get("ScheduleExpression"), scope.at("ScheduleExpression"))
    if not expression:
        raise EcsInputError(file, "no ScheduleExpression")
    state = to_str(data.get("State"), scope.at("State")) or "ENABLED"
    suspend = state.upper().startswith("DISABLED")
    if "State" in data:
        scope.at("State").exact("spec.suspend", f"{state} → suspend: {str(suspend).lower()}")
    name = to_str(data.get("Name"), scope.at("Name"))
    if name:
        scope.at("Name").exact("metadata.name", "sanitised, at most 52 characters (Job names get a suffix)")
    if "Description" in data:
        scope.at("Description").ignored("free text")
    if inputs.rule is not None:
        scope.at("ScheduleExpression").exact("spec.timeZone", "EventBridge rules evaluate in UTC → Etc/UTC")
    return expression, scope.at("ScheduleExpression"), targets, name, zone, suspend


def _explain_schedule_fields(data: dict[str, Any], scope: Scope) -> None:
    if "FlexibleTimeWindow" in data:
        scope.at("FlexibleTimeWindow").approx(
            "", "CronJobs start on time", "a flexible window spreads the start; none here"
        )
    for key in ("StartDate", "EndDate"):
        if key in data:
            scope.at(key).impossible(
                "no start/end dates on CronJobs", "suspend or delete the CronJob by hand"
            )
    for key in (
        "GroupName",
        "KmsKeyArn",
        "ActionAfterCompletion",
        "Arn",
        "CreationDate",
        "LastModificationDate",
    ):
        if key in data:
            scope.at(key).ignored("schedule plumbing")
