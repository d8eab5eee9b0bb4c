"""The Job controller (see `controller.py` for the flow)."""

from litekube.controllers.job.controller import JOBS, JobController

__all__ = ["JOBS", "JobController"]
