"""The scheduler: filters, scoring and binding of unscheduled pods (see `scheduler.py`)."""

from litekube.scheduler.scheduler import DEFAULT_SCHEDULER_NAME, Scheduler

__all__ = ["DEFAULT_SCHEDULER_NAME", "Scheduler"]
