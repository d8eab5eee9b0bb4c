"""Controller machinery shared by every controller (and the scheduler): the pieces and their seams.

How a controller is put together (see `litekube.controllers.replicaset` for a complete one)::

    class JobController(Controller):
        name = "job-controller"

        def __init__(self, client: Client, informers: InformerFactory, clock: Clock) -> None:
            super().__init__(clock, workers=5)
            self.jobs = informers.informer(JOBS)              # shared, one per resource type
            self.pods = informers.informer(PODS)
            self.jobs.add_handlers(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
            self.recorder = EventRecorder(client, "job-controller", clock)

        async def sync(self, key: str) -> None:               # "namespace/name"
            job = self.jobs.store.get_by_name(*split_key(key))  # read-only: deep_copy before changing
            ...                                                # raise to retry with backoff,
                                                               # raise RequeueAfter(s) to look again later

Register it with `ControllerManager(client, clock, extra={"job": JobController})`.

Modules:
- `clock`: `Clock` protocol (`now()`, `monotonic()`, `async sleep()`), `RealClock`, `FakeClock`
  (`advance(seconds)` wakes due sleepers), `rfc3339()`, `parse_time()`.
- `queue`: `WorkQueue(clock)` — `add`, `async get`, `done`, `add_after`, `add_rate_limited`,
  `forget`; de-duplicates, one worker per key; per-key backoff 5 ms → 1000 s.
- `informer`: `InformerFactory(client, clock).informer(rt)` → `SharedInformer` with
  `add_handlers(on_add, on_update, on_delete)`, `has_synced()`, and `.store`
  (`get_by_name(ns, name)`, `get_by_uid`, `list(ns)`, `by_owner(uid)`); `object_key`, `split_key`.
- `controller`: `Controller` base (`sync(key)`, `enqueue*`, `process_next()` for tests,
  `start()`/`stop()`), `RequeueAfter`.
- `expectations`: `ControllerExpectations` / `UIDTrackingControllerExpectations`.
- `events`: `EventRecorder(client, component, clock).event(obj, type, reason, message)`.
- `owners`: `controller_ref`, `new_controller_ref`, `claim` (adopt/release by selector),
  `recheck_owner`.
"""

from litekube.machinery.clock import Clock, FakeClock, RealClock, parse_time, rfc3339
from litekube.machinery.controller import Controller, RequeueAfter
from litekube.machinery.events import NORMAL, WARNING, EventRecorder
from litekube.machinery.expectations import ControllerExpectations, UIDTrackingControllerExpectations
from litekube.machinery.informer import InformerFactory, SharedInformer, Store, object_key, split_key
from litekube.machinery.owners import claim, controller_ref, new_controller_ref, recheck_owner
from litekube.machinery.queue import WorkQueue, default_controller_rate_limiter

__all__ = [
    "NORMAL",
    "WARNING",
    "Clock",
    "Controller",
    "ControllerExpectations",
    "EventRecorder",
    "FakeClock",
    "InformerFactory",
    "RealClock",
    "RequeueAfter",
    "SharedInformer",
    "Store",
    "UIDTrackingControllerExpectations",
    "WorkQueue",
    "claim",
    "controller_ref",
    "default_controller_rate_limiter",
    "new_controller_ref",
    "object_key",
    "parse_time",
    "recheck_owner",
    "rfc3339",
    "split_key",
]
