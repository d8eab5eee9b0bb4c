"""What the filters read, derived once: per node (`NodeInfo`) and per pod (`PodView`).

Placing one pod runs the filters over every node, so 10,000 pods on 100 nodes is a million
node checks. Everything a filter needs from a node object — unschedulable, the effective
NoSchedule/NoExecute taints, readiness, labels, allocatable — is derived when the node
object changes (a new resourceVersion), not per check; everything it needs from the pod —
tolerations, selector, host ports, requests — once per scheduling attempt. The per-check
work left is a few attribute reads and integer comparisons.

Resources are compared in upstream's integer units (the scheduler framework's `Resource`):
cpu in millicores, everything else in whole units, each quantity rounded up (upstream's
`MilliValue()` / `Value()`), the node's usage being the sum of its pods' rounded requests.
Worked example: allocatable cpu "2" → 2000; pods asking "500m" and "0.0001" (→ 1m) leave
1499m free, so a pod asking "1500m" does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from litekube.client.base import JSON
from litekube.scheduler.resources import Resources, host_ports, parse_resources, to_units

TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
_SCHEDULING_EFFECTS = ("NoSchedule", "NoExecute")

Units = dict[str, int]


def resource_units(resources: Resources) -> Units:
    return {name: to_units(name, value) for name, value in resources.items()}


def is_node_ready(node: JSON) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def effective_taints(node: JSON) -> list[JSON]:
    """The node's taints, plus not-ready when Ready is not True and no controller tainted it yet."""
    taints = list((node.get("spec") or {}).get("taints") or [])
    if not is_node_ready(node) and not any(
        t.get("key") in (TAINT_NOT_READY, TAINT_UNREACHABLE) for t in taints
    ):
        taints.append({"key": TAINT_NOT_READY, "effect": "NoSchedule"})
    return taints


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A node as the filters and scores see it; rebuilt when the node's resourceVersion changes."""

    name: str
    node: JSON
    resource_version: str
    unschedulable: bool
    taints: tuple[JSON, ...]  # effective taints with a NoSchedule or NoExecute effect
    allocatable: Units
    max_pods: int | None
    allocatable_floats: tuple[float, float]  # cpu cores, memory bytes: for scoring

    @classmethod
    def of(cls, node: JSON) -> NodeInfo:
        meta = node.get("metadata") or {}
        parsed = parse_resources((node.get("status") or {}).get("allocatable"))
        units = resource_units(parsed)
        return cls(
            name=str(meta.get("name", "")),
            node=node,
            resource_version=str(meta.get("resourceVersion") or ""),
            unschedulable=bool((node.get("spec") or {}).get("unschedulable")),
            taints=tuple(t for t in effective_taints(node) if t.get("effect") in _SCHEDULING_EFFECTS),
            allocatable=units,
            max_pods=units.get("pods"),
            allocatable_floats=(
                float(parsed.get("cpu", Fraction(0))),
                float(parsed.get("memory", Fraction(0))),
            ),
        )


class NodeInfoCache:
    """NodeInfo per node name, and the name-sorted list the scheduler walks for every pod."""

    def __init__(self) -> None:
        self._by_name: dict[str, NodeInfo] = {}
        self._ordered: list[NodeInfo] | None = None

    def upsert(self, node: JSON) -> None:
        meta = node.get("metadata") or {}
        version = str(meta.get("resourceVersion") or "")
        current = self._by_name.get(meta.get("name", ""))
        if current is not None and version and current.resource_version == version:
            return  # an informer resync or a replayed add: nothing a filter reads changed
        info = NodeInfo.of(node)
        self._by_name[info.name] = info
        self._ordered = None

    def remove(self, name: str) -> None:
        if self._by_name.pop(name, None) is not None:
            self._ordered = None

    def ordered(self) -> list[NodeInfo]:
        if self._ordered is None:
            self._ordered = [self._by_name[name] for name in sorted(self._by_name)]
        return self._ordered


@dataclass(slots=True)
class PodView:
    """A pod as the filters see it, derived once per scheduling attempt."""

    pod: JSON
    tolerations: list[JSON]
    needs_affinity: bool  # a nodeSelector or required node affinity to evaluate
    ports: set[tuple[str, str, int]]
    requests: Resources
    units: list[tuple[str, int]]  # requested units > 0, sorted by name, without "pods"

    @classmethod
    def of(cls, pod: JSON, requests: Resources) -> PodView:
        spec = pod.get("spec") or {}
        affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
        units = resource_units(requests)
        return cls(
            pod=pod,
            tolerations=list(spec.get("tolerations") or ()),
            needs_affinity=bool(spec.get("nodeSelector"))
            or affinity.get("requiredDuringSchedulingIgnoredDuringExecution") is not None,
            ports=host_ports(pod),
            requests=requests,
            units=sorted((name, value) for name, value in units.items() if value > 0 and name != "pods"),
        )
