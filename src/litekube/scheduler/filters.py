"""Filters: can this pod run on this node? Each answers None (yes) or a `Failure`.

They run in upstream's default plugin order — NodeUnschedulable, TaintToleration,
NodeAffinity (nodeSelector + required node affinity), NodePorts, NodeResourcesFit — and
the first failure decides the node's reason, as in the scheduling framework. A failure
says whether preemption could ever help (`resolvable`): evicting pods frees cpu or ports,
but never removes a taint or changes a label.

`fit_error_message` aggregates the reasons over all nodes into upstream's FitError text:
"0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No
preemption victims found for incoming pod.." (the double dot is upstream's).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from litekube.client.base import JSON
from litekube.scheduler.nodeinfo import (
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    TAINT_UNSCHEDULABLE,
    NodeInfo,
    PodView,
    effective_taints,
    is_node_ready,
)
from litekube.scheduler.resources import NodeTotals, ports_conflict

# re-exported: the DaemonSet controller judges eligibility with the same rules
__all__ = [
    "TAINT_NOT_READY",
    "TAINT_UNREACHABLE",
    "TAINT_UNSCHEDULABLE",
    "Failure",
    "check_node",
    "effective_taints",
    "fit_error_message",
    "is_node_ready",
    "node_affinity",
    "tolerates",
]

MSG_UNSCHEDULABLE = "node(s) were unschedulable"
MSG_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
MSG_PORTS = "node(s) didn't have free ports for the requested pod ports"
MSG_TOO_MANY_PODS = "Too many pods"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"


@dataclass(frozen=True)
class Failure:
    reasons: tuple[str, ...]
    resolvable: bool  # could preemption (removing pods) make the node fit?


def tolerates(tolerations: list[JSON], taint: JSON) -> bool:
    for toleration in tolerations:
        effect = toleration.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        operator = toleration.get("operator") or "Equal"
        key = toleration.get("key") or ""
        if key and key != taint.get("key"):
            continue
        if not key and operator != "Exists":
            continue
        if operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _expression_matches(expression: JSON, labels: dict[str, str]) -> bool:
    key = expression.get("key", "")
    operator = expression.get("operator", "")
    values = [str(v) for v in expression.get("values") or ()]
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    if operator in ("Gt", "Lt") and key in labels and len(values) == 1:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def _term_matches(term: JSON, node: JSON) -> bool:
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False  # an empty term matches no objects (upstream)
    labels = (node.get("metadata") or {}).get("labels") or {}
    node_fields = {"metadata.name": (node.get("metadata") or {}).get("name", "")}
    return all(_expression_matches(e, labels) for e in expressions) and all(
        _expression_matches(f, node_fields) for f in fields
    )


def node_affinity(pod: JSON, node: JSON) -> Failure | None:
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return Failure((MSG_AFFINITY,), resolvable=False)
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if required is not None:
        terms = required.get("nodeSelectorTerms") or []
        if not any(_term_matches(term, node) for term in terms):
            return Failure((MSG_AFFINITY,), resolvable=False)
    return None


def check_node(pod: PodView, info: NodeInfo, totals: NodeTotals) -> Failure | None:
    """Run the filters in order; the first failure is the node's answer.

    Each filter is skipped outright when it has nothing to look at (no taints on the node,
    no selector on the pod, no host ports): this runs for every node for every pod.
    """
    if info.unschedulable and not tolerates(pod.tolerations, _UNSCHEDULABLE_TAINT):
        return _UNSCHEDULABLE_FAILURE
    for taint in info.taints:
        if not tolerates(pod.tolerations, taint):
            text = f"{{{taint.get('key', '')}: {taint.get('value', '')}}}"
            return Failure((f"node(s) had untolerated taint {text}",), resolvable=False)
    if pod.needs_affinity:
        failure = node_affinity(pod.pod, info.node)
        if failure is not None:
            return failure
    if pod.ports and ports_conflict(pod.ports, totals.ports):
        return _PORTS_FAILURE
    return resources_fit(pod, info, totals)


def resources_fit(pod: PodView, info: NodeInfo, totals: NodeTotals) -> Failure | None:
    """Upstream NodeResourcesFit: wanted > allocatable - requested, in integer units."""
    reasons: list[str] | None = None
    if info.max_pods is not None and totals.pods + 1 > info.max_pods:
        reasons = [MSG_TOO_MANY_PODS]
    allocatable, requested = info.allocatable, totals.requested_units
    for name, wanted in pod.units:
        if wanted > allocatable.get(name, 0) - requested.get(name, 0):
            if reasons is None:
                reasons = []
            reasons.append(f"Insufficient {name}")
    return Failure(tuple(reasons), resolvable=True) if reasons else None


_UNSCHEDULABLE_TAINT = {"key": TAINT_UNSCHEDULABLE, "effect": "NoSchedule"}
_UNSCHEDULABLE_FAILURE = Failure((MSG_UNSCHEDULABLE,), resolvable=False)
_PORTS_FAILURE = Failure((MSG_PORTS,), resolvable=True)


def _histogram(counts: Counter[str]) -> str:
    return ", ".join(f"{counts[reason]} {reason}" for reason in sorted(counts))


def fit_error_message(total_nodes: int, failures: list[Failure]) -> str:
    """Upstream's FitError text for a pod that fits nowhere (no preemption is attempted)."""
    if total_nodes == 0:
        return "no nodes available to schedule pods"
    reasons: Counter[str] = Counter()
    preemption: Counter[str] = Counter()
    for failure in failures:
        reasons.update(failure.reasons)
        preemption[NO_VICTIMS if failure.resolvable else NOT_HELPFUL] += 1
    return (
        f"0/{total_nodes} nodes are available: {_histogram(reasons)}. "
        f"preemption: 0/{total_nodes} nodes are available: {_histogram(preemption)}.."
    )
