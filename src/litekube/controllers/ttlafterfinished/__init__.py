"""TTL-after-finished controller: deletes finished Jobs after ttlSecondsAfterFinished."""

from litekube.controllers.ttlafterfinished.controller import JOBS, TTLAfterFinishedController, expire_at

__all__ = ["JOBS", "TTLAfterFinishedController", "expire_at"]
