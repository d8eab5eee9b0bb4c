"""The Job controller: run pods until enough succeed, or give up as upstream would.

Handlers: Job add/update → enqueue; pod events → enqueue the Job that controls the pod
(creations are observed in the expectations, so a stale cache cannot cause extra pods).

`sync(key)`, on a fresh GET of the Job (its status counters are the ledger):
1. finished Jobs only drop the tracking finalizer from leftover pods;
2. count: terminal pods (or pods deleted while running) that still carry our finalizer are
   recorded in `uncountedTerminatedPods`, their finalizer is removed, then they move into
   `succeeded` / `failed` (upstream's two-phase tracking) — podFailurePolicy may turn a
   failure into FailJob or Ignore;
3. decide: a FailJob match, failed > backoffLimit, or activeDeadlineSeconds passed → the
   FailureTarget condition; enough successes → SuccessCriteriaMet; then remaining active
   pods are deleted and, once none is left, Complete / Failed follows with an Event;
4. otherwise manage pods: suspend deletes them; else create up to parallelism (lowest
   missing indexes for Indexed Jobs), waiting out the pod-failure backoff, or delete the
   surplus;
5. write status (startTime, active, ready, terminating, succeeded, failed,
   completedIndexes, completionTime, conditions) when it changed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from litekube.api.patch import deep_copy, json_equal
from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.job import status as st
from litekube.controllers.job.backoff import remaining_backoff
from litekube.controllers.job.indexed import format_indexes, parse_indexes, pod_index
from litekube.controllers.job.pods import (
    TRACKING_FINALIZER,
    has_tracking_finalizer,
    is_deleting,
    is_ready,
    is_terminal,
    new_pod,
    phase,
)
from litekube.controllers.job.policy import match_pod_failure_policy
from litekube.machinery.clock import Clock, parse_time, rfc3339
from litekube.machinery.controller import Controller, RequeueAfter
from litekube.machinery.events import NORMAL, WARNING, EventRecorder
from litekube.machinery.expectations import ControllerExpectations
from litekube.machinery.informer import InformerFactory, object_key, split_key
from litekube.machinery.owners import controller_ref, new_controller_ref

log = logging.getLogger(__name__)


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


JOBS = _rt("batch", "v1", "jobs")
PODS = _rt("", "v1", "pods")
DEFAULT_BACKOFF_LIMIT = 6


class JobController(Controller):
    name = "job-controller"

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        clock: Clock,
        recorder: EventRecorder | None = None,
        workers: int = 2,
    ) -> None:
        super().__init__(clock, workers)
        self.client = client
        self.recorder = recorder or EventRecorder(client, "job-controller", clock)
        self.expectations = ControllerExpectations(clock)
        self.jobs = informers.informer(JOBS)
        self.pods = informers.informer(PODS)
        self.jobs.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), self._job_deleted)
        self.pods.add_handlers(self._pod_added, lambda old, new: self._pod_changed(new), self._pod_changed)
        # pod uids whose finalizer we removed and counted, per job uid: a stale cache may
        # still show them with the finalizer, and they must not be counted twice
        self._counted: dict[str, set[str]] = {}

    # --- handlers ----------------------------------------------------------------------

    def _job_key_of(self, pod: JSON) -> str | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "Job":
            return None
        return f"{pod['metadata'].get('namespace', '')}/{ref.get('name', '')}"

    def _pod_added(self, pod: JSON) -> None:
        key = self._job_key_of(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self.queue.add(key)

    def _pod_changed(self, pod: JSON) -> None:
        key = self._job_key_of(pod)
        if key is not None:
            self.queue.add(key)

    def _job_deleted(self, job: JSON) -> None:
        self.expectations.delete_expectations(object_key(job))
        self._counted.pop(job["metadata"].get("uid", ""), None)

    # --- sync --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        if self.jobs.store.get(key) is None:
            return
        try:
            job = await self.client.get(JOBS, name, namespace)
        except ApiError as e:
            if e.not_found:
                return
            raise
        uid = job["metadata"]["uid"]
        pods = [p for p in self.pods.store.by_owner(uid) if (controller_ref(p) or {}).get("uid") == uid]
        if st.is_finished(job):
            await self._drop_finalizers([p for p in pods if has_tracking_finalizer(p)])
            return
        if not self.expectations.satisfied_expectations(key):
            return
        status = deep_copy(job.get("status") or {})
        now = self.clock.now()
        spec = job.get("spec") or {}
        failure = await self._count_finished(job, status, pods)
        live = [p for p in pods if not is_terminal(p) and not is_deleting(p)]
        terminating = [p for p in pods if is_deleting(p) and not is_terminal(p)]
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions")
        parallelism = int(spec["parallelism"]) if spec.get("parallelism") is not None else 1
        suspended = bool(spec.get("suspend"))

        if not suspended and not status.get("startTime"):
            status["startTime"] = rfc3339(now)
        requeue: float | None = None

        # 3. decide whether the Job is done
        if failure is None and not st.is_true(status, st.FAILURE_TARGET):
            backoff_limit = int(spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT))
            deadline = spec.get("activeDeadlineSeconds")
            started = parse_time(status.get("startTime"))
            if int(status.get("failed") or 0) > backoff_limit:
                failure = (st.REASON_BACKOFF_LIMIT, st.MSG_BACKOFF_LIMIT)
            elif deadline is not None and started is not None and not suspended:
                left = (started + timedelta(seconds=int(deadline)) - now).total_seconds()
                if left <= 0:
                    failure = (st.REASON_DEADLINE, st.MSG_DEADLINE)
                else:
                    requeue = left
        if failure is not None:
            st.set_condition(status, st.FAILURE_TARGET, "True", failure[0], failure[1], now)
        succeeded_indexes = (
            parse_indexes(status.get("completedIndexes"), int(completions or 0)) if indexed else set()
        )
        if not st.is_true(status, st.FAILURE_TARGET) and self._success_reached(
            status, completions, indexed, succeeded_indexes, live
        ):
            st.set_condition(
                status,
                st.SUCCESS_CRITERIA_MET,
                "True",
                st.REASON_COMPLETIONS_REACHED,
                st.MSG_COMPLETIONS_REACHED,
                now,
            )

        finishing = st.is_true(status, st.FAILURE_TARGET) or st.is_true(status, st.SUCCESS_CRITERIA_MET)
        if finishing:
            await self._delete_pods(job, live)
            terminating = terminating + live
            live = []
        elif suspended:
            if st.set_condition(status, st.SUSPENDED, "True", st.REASON_SUSPENDED, st.MSG_SUSPENDED, now):
                await self.recorder.event(job, NORMAL, "Suspended", st.MSG_SUSPENDED)
            status.pop("startTime", None)
            await self._delete_pods(job, live)
            terminating = terminating + live
            live = []
        else:
            if st.is_true(status, st.SUSPENDED):
                st.set_condition(status, st.SUSPENDED, "False", st.REASON_RESUMED, st.MSG_RESUMED, now)
                await self.recorder.event(job, NORMAL, "Resumed", st.MSG_RESUMED)
            wait = remaining_backoff(
                [p for p in pods if phase(p) == "Failed"], int(status.get("failed") or 0), now
            )
            live, created_wait = await self._manage(
                job, key, live, status, completions, parallelism, indexed, succeeded_indexes, wait
            )
            if created_wait:
                requeue = min(requeue, created_wait) if requeue else created_wait

        # 5. status
        status["active"] = len(live)
        status["ready"] = sum(1 for p in live if is_ready(p))
        status["terminating"] = len(terminating)
        status.setdefault("succeeded", 0)
        status.setdefault("failed", 0)
        status["uncountedTerminatedPods"] = {}
        if indexed:
            status["completedIndexes"] = format_indexes(succeeded_indexes)
        final_event: tuple[str, str, str] | None = None
        if finishing and not live and not terminating:
            target = st.get_condition(status, st.FAILURE_TARGET)
            if target is not None and target.get("status") == "True":
                st.set_condition(status, st.FAILED, "True", target["reason"], target["message"], now)
                final_event = (WARNING, target["reason"], target["message"])
            else:
                st.set_condition(
                    status,
                    st.COMPLETE,
                    "True",
                    st.REASON_COMPLETIONS_REACHED,
                    st.MSG_COMPLETIONS_REACHED,
                    now,
                )
                status["completionTime"] = rfc3339(now)
                final_event = (NORMAL, "Completed", "Job completed")
        if not json_equal(status, job.get("status") or {}):
            job["status"] = status
            await self.client.update_status(JOBS, job)
        if final_event is not None:
            self._counted.pop(uid, None)
            await self.recorder.event(job, *final_event)
        if requeue:
            raise RequeueAfter(requeue)

    def _success_reached(
        self, status: JSON, completions: int | None, indexed: bool, done_indexes: set[int], live: list[JSON]
    ) -> bool:
        succeeded = int(status.get("succeeded") or 0)
        if indexed:
            return completions is not None and len(done_indexes) >= int(completions)
        if completions is None:
            # work-queue Jobs: done when one pod succeeded and none is still running
            return succeeded > 0 and not live
        return succeeded >= int(completions)

    async def _count_finished(self, job: JSON, status: JSON, pods: list[JSON]) -> tuple[str, str] | None:
        """Move newly finished pods into the counters; a FailJob policy match is returned."""
        uid = job["metadata"]["uid"]
        counted = self._counted.setdefault(uid, set())
        newly_succeeded: list[JSON] = []
        newly_failed: list[JSON] = []
        failure: tuple[str, str] | None = None
        for pod in pods:
            pod_uid = pod["metadata"].get("uid", "")
            if not has_tracking_finalizer(pod) or pod_uid in counted:
                continue
            if phase(pod) == "Succeeded":
                newly_succeeded.append(pod)
            elif phase(pod) == "Failed" or is_deleting(pod):
                match = match_pod_failure_policy(job, pod) if phase(pod) == "Failed" else None
                if match is not None and match.action == "Ignore":
                    counted.add(pod_uid)
                    await self._drop_finalizers([pod])
                    continue
                if match is not None and match.action == "FailJob" and failure is None:
                    failure = (st.REASON_POD_FAILURE_POLICY, match.message)
                newly_failed.append(pod)
        if not newly_succeeded and not newly_failed:
            return failure
        # phase one: record the uids so a crash between the writes cannot lose or double them
        status["uncountedTerminatedPods"] = {
            "succeeded": [p["metadata"]["uid"] for p in newly_succeeded],
            "failed": [p["metadata"]["uid"] for p in newly_failed],
        }
        job["status"] = deep_copy(status)
        job.update(await self.client.update_status(JOBS, job))
        await self._drop_finalizers(newly_succeeded + newly_failed)
        counted.update(p["metadata"]["uid"] for p in newly_succeeded + newly_failed)
        # phase two (written with the rest of the status by the caller)
        status["succeeded"] = int(status.get("succeeded") or 0) + len(newly_succeeded)
        status["failed"] = int(status.get("failed") or 0) + len(newly_failed)
        status["uncountedTerminatedPods"] = {}
        if (job.get("spec") or {}).get("completionMode") == "Indexed":
            completions = int((job.get("spec") or {}).get("completions") or 0)
            done = parse_indexes(status.get("completedIndexes"), completions)
            done.update(
                i for i in (pod_index(p) for p in newly_succeeded) if i is not None and i < completions
            )
            status["completedIndexes"] = format_indexes(done)
        return failure

    async def _manage(
        self,
        job: JSON,
        key: str,
        live: list[JSON],
        status: JSON,
        completions: int | None,
        parallelism: int,
        indexed: bool,
        done_indexes: set[int],
        backoff_wait: float,
    ) -> tuple[list[JSON], float | None]:
        succeeded = int(status.get("succeeded") or 0)
        if indexed:
            total = int(completions or 0)
            running = {pod_index(p) for p in live}
            missing = [i for i in range(total) if i not in done_indexes and i not in running]
            want = max(0, min(parallelism - len(live), len(missing)))
            to_create: list[int | None] = list(missing[:want])
        elif completions is None:
            want = parallelism - len(live) if succeeded == 0 else 0
            to_create = [None] * max(0, want)
        else:
            want = min(parallelism, int(completions) - succeeded) - len(live)
            to_create = [None] * max(0, want)
        if want < 0:
            surplus = sorted(live, key=lambda p: (is_ready(p), p["metadata"].get("creationTimestamp", "")))[
                :-want
            ]
            await self._delete_pods(job, surplus)
            return [p for p in live if p not in surplus], None
        if not to_create:
            return live, None
        if backoff_wait > 0:
            return live, backoff_wait
        owner = new_controller_ref(job, JOBS)
        self.expectations.expect_creations(key, len(to_create))
        for index in to_create:
            try:
                pod = await self.client.create(
                    PODS, new_pod(job, owner, index), job["metadata"].get("namespace")
                )
            except ApiError:
                self.expectations.lower_expectations(key, 1, 0)
                raise
            live = [*live, pod]
            await self.recorder.event(
                job, NORMAL, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}"
            )
        return live, None

    async def _delete_pods(self, job: JSON, pods: list[JSON]) -> None:
        for pod in pods:
            meta = pod["metadata"]
            try:
                await self.client.delete(PODS, meta["name"], meta.get("namespace"))
            except ApiError as e:
                if not e.not_found:
                    raise
                continue
            await self.recorder.event(job, NORMAL, "SuccessfulDelete", f"Deleted pod: {meta['name']}")

    async def _drop_finalizers(self, pods: list[JSON]) -> None:
        for pod in pods:
            meta = pod["metadata"]
            remaining = [f for f in meta.get("finalizers") or () if f != TRACKING_FINALIZER]
            patch = {"metadata": {"finalizers": remaining or None, "uid": meta.get("uid")}}
            try:
                await self.client.patch(PODS, meta["name"], patch, meta.get("namespace"))
            except ApiError as e:
                if not e.not_found:
                    raise


def finish_time(job: JSON) -> datetime | None:
    """When the Job reached Complete or Failed (for ttlSecondsAfterFinished)."""
    status = job.get("status") or {}
    for type_ in (st.COMPLETE, st.FAILED):
        cond = st.get_condition(status, type_)
        if cond is not None and cond.get("status") == "True":
            return parse_time(cond.get("lastTransitionTime"))
    return None
