"""The CronJob controller (see `controller.py`) and schedule arithmetic (`schedule.py`)."""

from litekube.controllers.cronjob.controller import CRONJOBS, CronJobController

__all__ = ["CRONJOBS", "CronJobController"]
