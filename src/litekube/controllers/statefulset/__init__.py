"""StatefulSet controller: ordered, stably named pods; see controller.py for the flow."""

from litekube.controllers.statefulset.controller import STATEFUL_SETS, StatefulSetController

__all__ = ["STATEFUL_SETS", "StatefulSetController"]
