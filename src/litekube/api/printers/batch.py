"""Job and CronJob tables.

A job's STATUS is the first of Complete, Failed, Terminating (being deleted), Suspended,
FailureTarget, SuccessCriteriaMet whose condition is True, else Running. COMPLETIONS is
`succeeded/completions`, or `succeeded/1` (`succeeded/1 of P` with parallelism P > 1) when
completions is unset. DURATION runs from startTime to completionTime, or to now.
"""

from __future__ import annotations

from typing import Any

from litekube.api.printers.columns import (
    BATCH,
    CONTAINERS,
    IMAGES,
    Column,
    age_column,
    container_cells,
    name_column,
)
from litekube.api.printers.duration import human_duration, parse_timestamp, translate_timestamp_since
from litekube.api.selectors import format_label_selector

JOB_COLUMNS = (
    name_column(),
    Column("Status", text="Status of the job."),
    Column("Completions", doc=(BATCH + "JobStatus", "succeeded")),
    Column("Duration", text="Time required to complete the job."),
    age_column(),
    CONTAINERS,
    IMAGES,
    Column("Selector", priority=1, doc=(BATCH + "JobSpec", "selector")),
)

_STATUS_ORDER = ("Complete", "Failed", None, "Suspended", "FailureTarget", "SuccessCriteriaMet")


def _job_status(obj: dict[str, Any]) -> str:
    found: dict[str, bool] = {}
    for condition in (obj.get("status") or {}).get("conditions") or ():
        # upstream looks at the first condition of each type only
        found.setdefault(str(condition.get("type")), condition.get("status") == "True")
    for kind in _STATUS_ORDER:
        if kind is None:
            if (obj.get("metadata") or {}).get("deletionTimestamp"):
                return "Terminating"
        elif found.get(kind):
            return kind
    return "Running"


def job_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{int(spec['completions'])}"
    else:
        parallelism = int(spec.get("parallelism") or 0)
        completions = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    started = parse_timestamp(status.get("startTime"))
    finished = parse_timestamp(status.get("completionTime"))
    duration = ""
    if started is not None:
        duration = human_duration((finished if finished is not None else now) - started)
    names, images = container_cells(((spec.get("template") or {}).get("spec")) or None)
    return [
        metadata.get("name", ""),
        _job_status(obj),
        completions,
        duration,
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


CRON_JOB_COLUMNS = (
    name_column(),
    Column("Schedule", doc=(BATCH + "CronJobSpec", "schedule")),
    Column("Timezone", doc=(BATCH + "CronJobSpec", "timeZone")),
    Column("Suspend", "boolean", doc=(BATCH + "CronJobSpec", "suspend")),
    Column("Active", "integer", doc=(BATCH + "CronJobStatus", "active")),
    Column("Last Schedule", doc=(BATCH + "CronJobStatus", "lastScheduleTime")),
    age_column(),
    CONTAINERS,
    IMAGES,
    Column("Selector", priority=1, doc=(BATCH + "JobSpec", "selector")),
)


def cron_job_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    suspend = spec.get("suspend")
    # the Suspend column is typed boolean, yet upstream fills it with "True"/"False"/"<unset>"
    suspend_text = "<unset>" if suspend is None else ("True" if suspend else "False")
    last = status.get("lastScheduleTime")
    names, images = container_cells(((job_spec.get("template") or {}).get("spec")) or None)
    return [
        metadata.get("name", ""),
        spec.get("schedule", ""),
        "<none>" if spec.get("timeZone") is None else spec["timeZone"],
        suspend_text,
        len(status.get("active") or ()),
        translate_timestamp_since(last, now) if last else "<none>",
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
        names,
        images,
        format_label_selector(job_spec.get("selector")),
    ]
