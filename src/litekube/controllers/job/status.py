"""Job conditions and the reasons/messages upstream (1.36) writes with them.

Finishing is two steps, as upstream: first the *target* condition (SuccessCriteriaMet or
FailureTarget) while remaining pods are terminated, then, once no pod is active or
terminating, the final condition (Complete or Failed) with the same reason and message.
"""

from __future__ import annotations

from datetime import datetime

from litekube.client.base import JSON
from litekube.machinery.clock import rfc3339

SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"
FAILURE_TARGET = "FailureTarget"
COMPLETE = "Complete"
FAILED = "Failed"
SUSPENDED = "Suspended"

REASON_COMPLETIONS_REACHED = "CompletionsReached"
MSG_COMPLETIONS_REACHED = "Reached expected number of succeeded pods"
REASON_BACKOFF_LIMIT = "BackoffLimitExceeded"
MSG_BACKOFF_LIMIT = "Job has reached the specified backoff limit"
REASON_DEADLINE = "DeadlineExceeded"
MSG_DEADLINE = "Job was active longer than specified deadline"
REASON_POD_FAILURE_POLICY = "PodFailurePolicy"
REASON_SUSPENDED = "JobSuspended"
MSG_SUSPENDED = "Job suspended"
REASON_RESUMED = "JobResumed"
MSG_RESUMED = "Job resumed"


def get_condition(status: JSON, type_: str) -> JSON | None:
    for cond in status.get("conditions") or ():
        if cond.get("type") == type_:
            return dict(cond)
    return None


def is_true(status: JSON, type_: str) -> bool:
    cond = get_condition(status, type_)
    return cond is not None and cond.get("status") == "True"


def is_finished(job: JSON) -> bool:
    status = job.get("status") or {}
    return is_true(status, COMPLETE) or is_true(status, FAILED)


def set_condition(status: JSON, type_: str, value: str, reason: str, message: str, now: datetime) -> bool:
    """Add or change a condition; lastTransitionTime moves only when the status flips."""
    stamp = rfc3339(now)
    conditions = list(status.get("conditions") or [])
    for i, cond in enumerate(conditions):
        if cond.get("type") != type_:
            continue
        if cond.get("status") == value and cond.get("reason") == reason and cond.get("message") == message:
            return False
        new = {**cond, "status": value, "reason": reason, "message": message, "lastProbeTime": stamp}
        if cond.get("status") != value:
            new["lastTransitionTime"] = stamp
        conditions[i] = new
        status["conditions"] = conditions
        return True
    conditions.append(
        {
            "type": type_,
            "status": value,
            "lastProbeTime": stamp,
            "lastTransitionTime": stamp,
            "reason": reason,
            "message": message,
        }
    )
    status["conditions"] = conditions
    return True
