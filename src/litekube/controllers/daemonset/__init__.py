"""DaemonSet controller: one pod per eligible node; see controller.py for the flow."""

from litekube.controllers.daemonset.controller import DAEMON_SETS, DaemonSetController
from litekube.controllers.daemonset.eligibility import DAEMON_TOLERATIONS, placement, target_node

__all__ = ["DAEMON_SETS", "DAEMON_TOLERATIONS", "DaemonSetController", "placement", "target_node"]
