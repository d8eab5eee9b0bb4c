"""Jobs and CronJobs: counts, completion modes, restart policy, generated selectors, schedules."""

from __future__ import annotations

from typing import Any

from litekube.api.validation import field
from litekube.api.validation.cron import CronSyntaxError, check_schedule, time_zone_errors
from litekube.api.validation.field import Cause, GoValue
from litekube.api.validation.meta import (
    label_selector_value,
    labels_value,
    selector_matches,
    validate_label_selector,
)
from litekube.api.validation.pod import validate_pod_template_spec

CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
COMPLETION_MODES = ("NonIndexed", "Indexed")
POD_REPLACEMENT_POLICIES = ("TerminatingOrFailed", "Failed")


def _validate_job_spec_common(spec: dict[str, Any], path: str) -> list[Cause]:
    """Upstream's `validateJobSpec`: what Jobs and CronJob job templates share."""
    causes: list[Cause] = []
    for name in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ):
        causes.extend(field.non_negative(field.child(path, name), spec.get(name)))
    mode = spec.get("completionMode")
    if mode is not None:
        if mode not in COMPLETION_MODES:
            causes.append(field.not_supported(field.child(path, "completionMode"), mode, COMPLETION_MODES))
        elif mode == "Indexed" and spec.get("completions") is None:
            causes.append(field.required(field.child(path, "completions"), "when completion mode is Indexed"))
    per_index = spec.get("backoffLimitPerIndex")
    if per_index is not None:
        causes.extend(field.non_negative(field.child(path, "backoffLimitPerIndex"), per_index))
        if mode != "Indexed":
            causes.append(
                field.forbidden(field.child(path, "backoffLimitPerIndex"), "requires indexed completion mode")
            )
    replacement = spec.get("podReplacementPolicy")
    if replacement is not None:
        if replacement not in POD_REPLACEMENT_POLICIES:
            causes.append(
                field.not_supported(
                    field.child(path, "podReplacementPolicy"), replacement, POD_REPLACEMENT_POLICIES
                )
            )
        elif spec.get("podFailurePolicy") is not None and replacement != "Failed":
            causes.append(
                field.not_supported(field.child(path, "podReplacementPolicy"), replacement, ("Failed",))
            )
    template = spec.get("template")
    template_path = field.child(path, "template")
    causes.extend(validate_pod_template_spec(template, template_path))
    template_spec = template.get("spec") if isinstance(template, dict) else None
    policy = template_spec.get("restartPolicy") if isinstance(template_spec, dict) else None
    if policy not in ("OnFailure", "Never"):
        if policy:  # an empty policy was already reported as required
            causes.append(
                field.not_supported(
                    field.child(template_path, "spec", "restartPolicy"), policy, ("OnFailure", "Never")
                )
            )
    elif policy == "OnFailure" and spec.get("podFailurePolicy") is not None:
        causes.append(
            field.invalid(
                field.child(template_path, "spec", "restartPolicy"),
                policy,
                'only "Never" is supported when podFailurePolicy is specified',
            )
        )
    return causes


def validate_job(obj: dict[str, Any]) -> list[Cause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [field.required("spec", "")]
    causes = _validate_generated_selector(obj, spec)
    selector = spec.get("selector")
    if selector is None:
        causes.append(field.required("spec.selector", ""))
    else:
        causes.extend(validate_label_selector(selector, "spec.selector"))
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    assert isinstance(template, dict)
    labels = (template.get("metadata") or {}).get("labels")
    if selector is not None and not selector_matches(selector, labels):
        causes.append(
            field.invalid(
                "spec.template.metadata.labels",
                labels_value(labels),
                "`selector` does not match template `labels`",
            )
        )
    causes.extend(_validate_job_spec_common(spec, "spec"))
    return causes


def _validate_generated_selector(obj: dict[str, Any], spec: dict[str, Any]) -> list[Cause]:
    if spec.get("manualSelector") is True:
        return []
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    assert isinstance(template, dict)
    labels = (template.get("metadata") or {}).get("labels")
    if labels is None:
        return []
    uid = (obj.get("metadata") or {}).get("uid") or ""
    causes: list[Cause] = []
    label_path = field.key("spec.template.metadata.labels", CONTROLLER_UID_LABEL)
    if CONTROLLER_UID_LABEL not in labels:
        causes.append(field.required(label_path, ""))
    elif labels[CONTROLLER_UID_LABEL] != uid:
        causes.append(field.invalid(label_path, labels[CONTROLLER_UID_LABEL], f"must be '{uid}'"))
    selector = spec.get("selector")
    expected = {"matchLabels": {CONTROLLER_UID_LABEL: uid}}
    if selector is not None and not _same_selector(selector, expected):
        causes.append(
            field.invalid("spec.selector", label_selector_value(selector), "`selector` not auto-generated")
        )
    return causes


def _same_selector(selector: Any, expected: dict[str, Any]) -> bool:
    if not isinstance(selector, dict):
        return False
    return (selector.get("matchLabels") or {}) == expected["matchLabels"] and not selector.get(
        "matchExpressions"
    )


def validate_job_update(new: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    causes: list[Cause] = []
    if new_spec.get("selector") != old_spec.get("selector"):
        causes.append(
            field.invalid("spec.selector", label_selector_value(new_spec.get("selector")), field.IMMUTABLE)
        )
    # a suspended Job that never started may change its pod template's scheduling directives
    if new_spec.get("template") != old_spec.get("template"):
        causes.append(field.invalid("spec.template", GoValue("core.PodTemplateSpec{...}"), field.IMMUTABLE))
    if new_spec.get("completionMode") != old_spec.get("completionMode"):
        causes.extend(
            field.immutable(
                "spec.completionMode", new_spec.get("completionMode"), old_spec.get("completionMode")
            )
        )
    if (
        new_spec.get("completions") != old_spec.get("completions")
        and new_spec.get("completionMode") != "Indexed"
    ):
        causes.append(field.invalid("spec.completions", new_spec.get("completions"), field.IMMUTABLE))
    return causes


def validate_cron_job(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    causes: list[Cause] = []
    name = (obj.get("metadata") or {}).get("name") or ""
    if len(name) > 52:
        causes.append(field.invalid("metadata.name", name, "must be no more than 52 characters"))
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [*causes, field.required("spec", "")]
    schedule = spec.get("schedule") or ""
    time_zone = spec.get("timeZone")
    if not schedule:
        causes.append(field.required("spec.schedule", ""))
    else:
        try:
            check_schedule(schedule)
        except CronSyntaxError as error:
            causes.append(field.invalid("spec.schedule", schedule, str(error)))
        old_schedule = ((old or {}).get("spec") or {}).get("schedule") or ""
        allow_tz = "TZ" in old_schedule
        if allow_tz and "TZ" in schedule and time_zone is not None:
            causes.append(
                field.invalid(
                    "spec.schedule", schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"
                )
            )
        elif not allow_tz and "TZ" in schedule:
            causes.append(
                field.invalid(
                    "spec.schedule",
                    schedule,
                    "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                )
            )
    causes.extend(field.non_negative("spec.startingDeadlineSeconds", spec.get("startingDeadlineSeconds")))
    policy = spec.get("concurrencyPolicy")
    if not policy:
        causes.append(field.required("spec.concurrencyPolicy", ""))
    elif policy not in CONCURRENCY_POLICIES:
        causes.append(field.not_supported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES))
    job_template = spec.get("jobTemplate")
    if not isinstance(job_template, dict):
        causes.append(field.required("spec.jobTemplate", ""))
    else:
        job_spec = job_template.get("spec") if isinstance(job_template.get("spec"), dict) else {}
        assert isinstance(job_spec, dict)
        causes.extend(_validate_job_spec_common(job_spec, "spec.jobTemplate.spec"))
        if job_spec.get("selector") is not None:
            causes.append(
                field.invalid(
                    "spec.jobTemplate.spec.selector",
                    label_selector_value(job_spec["selector"]),
                    "`selector` will be auto-generated",
                )
            )
        if job_spec.get("manualSelector") is True:
            causes.append(field.not_supported("spec.jobTemplate.spec.manualSelector", True, ("nil", "false")))
    for name in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        causes.extend(field.non_negative(f"spec.{name}", spec.get(name)))
    if time_zone is not None:
        causes.extend(field.invalid("spec.timeZone", time_zone, m) for m in time_zone_errors(str(time_zone)))
    return causes
