"""The node lifecycle controller (see `controller.py`)."""

from litekube.controllers.nodelifecycle.controller import NodeLifecycleController

__all__ = ["NodeLifecycleController"]
