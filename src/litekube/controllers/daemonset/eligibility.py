"""Which nodes a DaemonSet runs on, and the pod it puts there (upstream NodeShouldRunDaemonPod).

For each node the answer is two booleans:
- `should_run`: a new daemon pod belongs there — the template's nodeName (if any) names the
  node, its nodeSelector and required node affinity match the node's labels/name, and every
  NoSchedule/NoExecute taint of the node is tolerated;
- `should_continue_running`: an existing daemon pod may stay — only NoExecute taints can
  evict it, so a node newly tainted NoSchedule keeps its pod but gets no replacement.

Tolerations are judged on the pod the controller would create, i.e. the template plus the
automatic daemon tolerations below: daemons run on not-ready, unreachable, under-pressure
and cordoned (unschedulable) nodes, as upstream's `AddOrUpdateDaemonPodTolerations` decides.
A node whose Ready condition is not True but that no controller tainted yet is treated as
tainted not-ready:NoSchedule (`effective_taints`), so it gets no new pod until it is Ready.

The pod pins itself to its node through required node affinity `matchFields metadata.name
In [<node>]` (upstream `ReplaceDaemonSetPodNodeNameNodeAffinity`), and the scheduler binds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from litekube.api.patch import deep_copy
from litekube.client.base import JSON
from litekube.scheduler.filters import effective_taints, node_affinity, tolerates

NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"

# (key, effect) of upstream's automatic daemon tolerations, all with operator Exists.
DAEMON_TOLERATIONS: tuple[tuple[str, str], ...] = (
    ("node.kubernetes.io/not-ready", NO_EXECUTE),
    ("node.kubernetes.io/unreachable", NO_EXECUTE),
    ("node.kubernetes.io/disk-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/memory-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/pid-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/unschedulable", NO_SCHEDULE),
)
NETWORK_UNAVAILABLE = ("node.kubernetes.io/network-unavailable", NO_SCHEDULE)  # hostNetwork pods only


@dataclass(frozen=True)
class Placement:
    should_run: bool
    should_continue_running: bool


def add_daemon_tolerations(spec: JSON) -> None:
    """Add the automatic tolerations to a pod spec in place (an equal one is not repeated)."""
    tolerations: list[JSON] = list(spec.get("tolerations") or [])
    wanted = list(DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(NETWORK_UNAVAILABLE)
    for key, effect in wanted:
        toleration = {"key": key, "operator": "Exists", "effect": effect}
        if toleration not in tolerations:
            tolerations.append(toleration)
    spec["tolerations"] = tolerations


def pin_to_node(spec: JSON, node_name: str) -> None:
    """Replace required node affinity with "this node only"; preferred terms are kept."""
    affinity = spec.setdefault("affinity", {})
    node_aff = affinity.setdefault("nodeAffinity", {})
    node_aff["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
        ]
    }


def target_node(pod: JSON) -> str | None:
    """The node a daemon pod is for: its nodeName once bound, else its pinning affinity."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or ():
        for field in term.get("matchFields") or ():
            values = field.get("values") or []
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and len(values) == 1:
                return str(values[0])
    return None


def daemon_pod_spec(ds: JSON) -> JSON:
    """The template's pod spec with the daemon tolerations: what eligibility is judged on."""
    spec = deep_copy(((ds.get("spec") or {}).get("template") or {}).get("spec") or {})
    add_daemon_tolerations(spec)
    return spec


def placement(pod_spec: JSON, node: JSON) -> Placement:
    node_name = (node.get("metadata") or {}).get("name")
    if pod_spec.get("nodeName") and pod_spec["nodeName"] != node_name:
        return Placement(False, False)
    if node_affinity({"spec": pod_spec}, node) is not None:
        return Placement(False, False)
    tolerations = pod_spec.get("tolerations") or []
    should_run = should_continue = True
    for taint in effective_taints(node):
        effect = taint.get("effect")
        if effect not in (NO_SCHEDULE, NO_EXECUTE) or tolerates(tolerations, taint):
            continue
        should_run = False
        if effect == NO_EXECUTE:
            should_continue = False
    return Placement(should_run, should_continue)
