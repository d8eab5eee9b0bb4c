"""The CronJob controller: create Jobs on schedule, keep history, report what ran.

Handlers: CronJob add/update → enqueue; Job events → enqueue the CronJob controlling it.

`sync(key)`:
1. reconcile status.active with the Jobs we control: finished ones leave the list (Event
   SawCompletedJob; a Complete one sets lastSuccessfulTime), vanished ones are dropped;
2. delete finished Jobs beyond successfulJobsHistoryLimit (3) / failedJobsHistoryLimit (1),
   oldest first (Event SuccessfulDelete);
3. unless suspended, find the most recent missed schedule time (`schedule.py`); too late
   for startingDeadlineSeconds → MissSchedule; Forbid with a running Job → skip; Replace →
   delete the running Jobs; else create `<name>-<scheduled minutes since epoch>` with the
   `batch.kubernetes.io/cronjob-scheduled-timestamp` annotation (Event SuccessfulCreate);
4. write status if changed and requeue at the next schedule time (the injectable clock).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from litekube.api.patch import deep_copy, json_equal
from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.cronjob.schedule import (
    TOO_MANY_MISSED,
    ScheduleError,
    most_recent_schedule,
    parse_schedule,
)
from litekube.machinery.clock import Clock, parse_time, rfc3339
from litekube.machinery.controller import Controller, RequeueAfter
from litekube.machinery.events import NORMAL, WARNING, EventRecorder
from litekube.machinery.informer import InformerFactory
from litekube.machinery.owners import controller_ref, new_controller_ref

log = logging.getLogger(__name__)


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


CRONJOBS = _rt("batch", "v1", "cronjobs")
JOBS = _rt("batch", "v1", "jobs")
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_SCHEDULE_DELTA = 0.1  # upstream wakes 100 ms after the scheduled time


def _finished(job: JSON) -> str | None:
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


def job_name(cronjob_name: str, scheduled: datetime) -> str:
    return f"{cronjob_name}-{int(scheduled.timestamp() // 60)}"


class CronJobController(Controller):
    name = "cronjob-controller"

    def __init__(
        self, client: Client, informers: InformerFactory, clock: Clock, recorder: EventRecorder | None = None
    ) -> None:
        super().__init__(clock, workers=1)
        self.client = client
        self.recorder = recorder or EventRecorder(client, "cronjob-controller", clock)
        self.cronjobs = informers.informer(CRONJOBS)
        self.jobs = informers.informer(JOBS)
        self.cronjobs.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), None)
        self.jobs.add_handlers(self._job_changed, lambda old, new: self._job_changed(new), self._job_changed)

    def _job_changed(self, job: JSON) -> None:
        ref = controller_ref(job)
        if ref is not None and ref.get("kind") == "CronJob":
            self.queue.add(f"{job['metadata'].get('namespace', '')}/{ref.get('name', '')}")

    async def sync(self, key: str) -> None:
        cached = self.cronjobs.store.get(key)
        if cached is None or cached["metadata"].get("deletionTimestamp"):
            return
        cj = deep_copy(cached)
        uid = cj["metadata"]["uid"]
        jobs = [j for j in self.jobs.store.by_owner(uid) if (controller_ref(j) or {}).get("uid") == uid]
        status = deep_copy(cj.get("status") or {})
        now = self.clock.now()
        await self._reconcile_active(cj, status, jobs)
        await self._cleanup_history(cj, jobs)
        requeue = await self._maybe_start(cj, status, jobs, now)
        if not json_equal(status, cj.get("status") or {}):
            cj["status"] = status
            await self.client.update_status(CRONJOBS, cj)
        if requeue is not None:
            raise RequeueAfter(requeue)

    async def _reconcile_active(self, cj: JSON, status: JSON, jobs: list[JSON]) -> None:
        by_uid = {j["metadata"]["uid"]: j for j in jobs}
        active = []
        for ref in status.get("active") or ():
            job = by_uid.get(ref.get("uid", ""))
            if job is None:
                continue  # deleted: no longer active
            outcome = _finished(job)
            if outcome is None:
                active.append(ref)
                continue
            await self.recorder.event(
                cj,
                NORMAL,
                "SawCompletedJob",
                f"Saw completed job: {job['metadata']['name']}, condition: {outcome}",
            )
            if outcome == "Complete":
                done = parse_time((job.get("status") or {}).get("completionTime"))
                last = parse_time(status.get("lastSuccessfulTime"))
                if done and (last is None or done > last):
                    status["lastSuccessfulTime"] = rfc3339(done)
        known = {r.get("uid") for r in active}
        for job in jobs:  # adopt running jobs missing from the list (e.g. a lost status write)
            if (
                _finished(job) is None
                and job["metadata"]["uid"] not in known
                and not job["metadata"].get("deletionTimestamp")
            ):
                active.append(_reference(job))
        if active:
            status["active"] = active
        else:
            status.pop("active", None)

    async def _cleanup_history(self, cj: JSON, jobs: list[JSON]) -> None:
        spec = cj.get("spec") or {}
        for outcome, field, default in (
            ("Complete", "successfulJobsHistoryLimit", 3),
            ("Failed", "failedJobsHistoryLimit", 1),
        ):
            limit = spec.get(field, default)
            if limit is None:
                continue
            finished = [
                j for j in jobs if _finished(j) == outcome and not j["metadata"].get("deletionTimestamp")
            ]
            finished.sort(
                key=lambda j: ((j.get("status") or {}).get("startTime") or "", j["metadata"]["name"])
            )
            for job in finished[: max(0, len(finished) - int(limit))]:
                await self._delete_job(cj, job)

    async def _delete_job(self, cj: JSON, job: JSON) -> None:
        meta = job["metadata"]
        try:
            await self.client.delete(
                JOBS, meta["name"], meta.get("namespace"), propagation_policy="Background"
            )
        except ApiError as e:
            if not e.not_found:
                raise
            return
        await self.recorder.event(cj, NORMAL, "SuccessfulDelete", f"Deleted job {meta['name']}")

    async def _maybe_start(self, cj: JSON, status: JSON, jobs: list[JSON], now: datetime) -> float | None:
        spec = cj.get("spec") or {}
        if spec.get("suspend"):
            return None
        try:
            schedule = parse_schedule(str(spec.get("schedule", "")), spec.get("timeZone"))
        except ScheduleError as e:
            reason = "UnknownTimeZone" if "timeZone" in str(e) else "InvalidSchedule"
            await self.recorder.event(cj, WARNING, reason, str(e))
            return None
        created = parse_time(cj["metadata"].get("creationTimestamp")) or now
        earliest = parse_time(status.get("lastScheduleTime")) or created
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None:
            earliest = max(earliest, now - timedelta(seconds=int(deadline)))
        scheduled, missed = most_recent_schedule(schedule, earliest, now)
        wait = (schedule.next_after(now) - now).total_seconds() + NEXT_SCHEDULE_DELTA
        if scheduled is None:
            return wait
        if missed > TOO_MANY_MISSED:
            await self.recorder.event(
                cj,
                WARNING,
                "TooManyMissedTimes",
                f"too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds "
                "or check clock skew",
            )
        if deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now:
            await self.recorder.event(
                cj, WARNING, "MissSchedule", f"Missed scheduled time to start a job: {scheduled.isoformat()}"
            )
            return wait
        name = job_name(cj["metadata"]["name"], scheduled)
        if any(j["metadata"]["name"] == name for j in jobs):
            return wait  # already started for this time
        active = [j for j in jobs if _finished(j) is None and not j["metadata"].get("deletionTimestamp")]
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and active:
            await self.recorder.event(
                cj,
                NORMAL,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            )
            return wait
        if policy == "Replace":
            for job in active:
                await self._delete_job(cj, job)
            status.pop("active", None)
        job = self._new_job(cj, name, scheduled)
        try:
            job = await self.client.create(JOBS, job, cj["metadata"].get("namespace"))
        except ApiError as e:
            if not e.conflict:
                await self.recorder.event(cj, WARNING, "FailedCreate", f"Error creating job: {e}")
                raise
            return wait
        await self.recorder.event(cj, NORMAL, "SuccessfulCreate", f"Created job {name}")
        status["active"] = [*(status.get("active") or []), _reference(job)]
        status["lastScheduleTime"] = rfc3339(scheduled.astimezone(UTC))
        return wait

    def _new_job(self, cj: JSON, name: str, scheduled: datetime) -> JSON:
        template = deep_copy((cj.get("spec") or {}).get("jobTemplate") or {})
        meta = template.get("metadata") or {}
        annotations = {
            **(meta.get("annotations") or {}),
            SCHEDULED_TIMESTAMP: scheduled.isoformat().replace("+00:00", "Z"),
        }
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "labels": dict(meta.get("labels") or {}),
                "annotations": annotations,
                "ownerReferences": [new_controller_ref(cj, CRONJOBS)],
            },
            "spec": template.get("spec") or {},
        }


def _reference(job: JSON) -> JSON:
    meta = job["metadata"]
    return {
        "kind": "Job",
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "uid": meta["uid"],
        "apiVersion": "batch/v1",
        "resourceVersion": meta.get("resourceVersion", ""),
    }


__all__ = ["CRONJOBS", "CronJobController", "job_name"]
