"""Deployment controller. Files follow upstream: controller.py (handlers, sync entry),
sync.py (new RS, scaling, cleanup, status), rolling.py, recreate.py, rollback.py,
progress.py (Progressing condition, deadlines), util.py (pure arithmetic, annotations, hash)."""

from litekube.controllers.deployment.controller import DeploymentController

__all__ = ["DeploymentController"]
