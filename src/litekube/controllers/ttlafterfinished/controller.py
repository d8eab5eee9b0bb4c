"""The TTL-after-finished controller: delete finished Jobs once their TTL has passed.

Handlers: Job add/update → enqueue it when it has `spec.ttlSecondsAfterFinished` and is
finished (Complete or Failed condition True) and not already being deleted.

`sync(key)`:
1. read the Job from the cache; skip it unless it still qualifies;
2. expire time = finish time (the condition's lastTransitionTime) + ttl. Not yet → raise
   `RequeueAfter(remaining)`, so the key comes back exactly then on the injected clock;
3. due → GET the Job fresh from the API (a user may have changed the TTL or the Job may
   have restarted since the cache saw it), check again, and delete it with a uid
   precondition, so a Job recreated under the same name is never the one deleted.

Example: a Job completes at 12:00:00 with ttlSecondsAfterFinished 100 → a sync at 12:00:01
requeues after 99 s; the sync at 12:01:40 deletes it, and the garbage collector removes its
pods (propagationPolicy Background here; upstream's controller asks for Foreground, which
only changes whether the Job lingers until its pods are gone).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.controllers.job.controller import finish_time
from litekube.machinery.clock import Clock
from litekube.machinery.controller import Controller, RequeueAfter
from litekube.machinery.informer import InformerFactory, split_key

_JOBS = lookup("batch", "v1", "jobs")
assert _JOBS is not None
JOBS: ResourceType = _JOBS


class TTLMissingFinishTime(Exception):
    """A finished Job whose condition carries no lastTransitionTime: retried with backoff."""


def needs_cleanup(job: JSON) -> bool:
    spec = job.get("spec") or {}
    return (
        spec.get("ttlSecondsAfterFinished") is not None
        and not (job.get("metadata") or {}).get("deletionTimestamp")
        and _is_finished(job)
    )


def _is_finished(job: JSON) -> bool:
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return True
    return False


def expire_at(job: JSON) -> datetime:
    finished = finish_time(job)
    if finished is None:
        raise TTLMissingFinishTime(f"job {job['metadata'].get('name')} has no finish time")
    return finished + timedelta(seconds=int(job["spec"]["ttlSecondsAfterFinished"]))


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished-controller"

    def __init__(
        self,
        client: Client,
        informers: InformerFactory,
        clock: Clock,
        workers: int = 2,
        propagation_policy: str = "Background",
    ) -> None:
        super().__init__(clock, workers)
        self.client = client
        self.propagation_policy = propagation_policy
        self.jobs = informers.informer(JOBS)
        self.jobs.add_handlers(self._maybe_enqueue, lambda old, new: self._maybe_enqueue(new), None)

    def _maybe_enqueue(self, job: JSON) -> None:
        if needs_cleanup(job):
            self.enqueue(job)

    def _remaining(self, job: JSON) -> float:
        return (expire_at(job) - self.clock.now()).total_seconds()

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        cached = self.jobs.store.get_by_name(namespace, name)
        if cached is None or not needs_cleanup(cached):
            return
        remaining = self._remaining(cached)
        if remaining > 0:
            raise RequeueAfter(remaining)
        try:
            fresh = await self.client.get(JOBS, name, namespace)
        except ApiError as e:
            if e.not_found:
                return
            raise
        if not needs_cleanup(fresh):
            return
        remaining = self._remaining(fresh)
        if remaining > 0:
            raise RequeueAfter(remaining)
        try:
            await self.client.delete(
                JOBS,
                name,
                namespace,
                propagation_policy=self.propagation_policy,
                preconditions={"uid": fresh["metadata"]["uid"]},
            )
        except ApiError as e:
            if not e.not_found:
                raise
