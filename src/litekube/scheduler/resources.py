"""What a pod asks for and what a node has left: the scheduler's bookkeeping.

`pod_requests(pod)` follows upstream's resource helpers: the sum of the app containers'
requests (plus restartable "sidecar" init containers), or the largest regular init container
(plus the sidecars started before it) if that is bigger, plus `spec.overhead`. Quantities
are exact `Fraction`s: cpu in cores ("100m" = 1/10), memory in bytes.

`NodeUsage` keeps, per node, the sum of the requests of the pods bound to it (and of pods
the scheduler has just bound but its cache has not shown yet, "assumed" pods), their host
ports and how many pods of each owner run there. It is updated incrementally from the pod
informer's events, so a scheduling decision costs O(nodes), not O(pods).

Worked example: a node with allocatable cpu "2" and two pods requesting "500m" each has
`requested["cpu"] == 1`; a third pod asking for "1500m" does not fit (1 + 1.5 > 2).
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from litekube.api.validation.quantity import parse_quantity
from litekube.client.base import JSON

Resources = dict[str, Fraction]

# Scoring treats a pod without requests as if it asked for this much (upstream's
# DefaultMilliCPURequest / DefaultMemoryRequest), so empty pods still spread out.
DEFAULT_CPU_REQUEST = Fraction(1, 10)
DEFAULT_MEMORY_REQUEST = Fraction(200 * 2**20)


@functools.lru_cache(maxsize=4096)
def _cached_quantity(raw: str | int | float) -> Fraction | None:
    # The same few strings ("100m", "128Mi", node allocatables) are parsed for every pod on
    # every node; Fractions are immutable, so the parsed values can be shared.
    return parse_quantity(raw)


def parse_resources(values: JSON | None) -> Resources:
    out: Resources = {}
    for name, raw in (values or {}).items():
        quantity = _cached_quantity(raw) if isinstance(raw, str | int | float) else parse_quantity(raw)
        if quantity is not None:
            out[name] = quantity
    return out


def _add(total: Resources, extra: Resources) -> None:
    for name, value in extra.items():
        total[name] = total.get(name, Fraction(0)) + value


def _max_into(total: Resources, other: Resources) -> None:
    for name, value in other.items():
        if value > total.get(name, Fraction(0)):
            total[name] = value


def container_requests(container: JSON) -> Resources:
    resources = container.get("resources") or {}
    # A limit without a request means request == limit (apiserver defaulting; be robust without it).
    merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    return parse_resources(merged)


def pod_requests(pod: JSON) -> Resources:
    spec = pod.get("spec") or {}
    total: Resources = {}
    sidecars: Resources = {}
    init_peak: Resources = {}
    for container in spec.get("initContainers") or ():
        requests = container_requests(container)
        if container.get("restartPolicy") == "Always":
            _add(sidecars, requests)
            continue
        running = dict(sidecars)
        _add(running, requests)
        _max_into(init_peak, running)
    for container in spec.get("containers") or ():
        _add(total, container_requests(container))
    _add(total, sidecars)
    _max_into(total, init_peak)
    _add(total, parse_resources(spec.get("overhead")))
    return total


def host_ports(pod: JSON) -> set[tuple[str, str, int]]:
    """(hostIP, protocol, hostPort) triples the pod claims on its node."""
    ports: set[tuple[str, str, int]] = set()
    spec = pod.get("spec") or {}
    for container in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
        for port in container.get("ports") or ():
            host_port = port.get("hostPort")
            if host_port:
                ports.add((port.get("hostIP") or "0.0.0.0", port.get("protocol") or "TCP", int(host_port)))
    return ports


def ports_conflict(wanted: set[tuple[str, str, int]], used: Counter[tuple[str, str, int]]) -> bool:
    """0.0.0.0 conflicts with every address on the same protocol and port (upstream HostPortInfo)."""
    for ip, protocol, port in wanted:
        for used_ip, used_protocol, used_port in used:
            if used_port != port or used_protocol != protocol:
                continue
            if ip == used_ip or ip == "0.0.0.0" or used_ip == "0.0.0.0":
                return True
    return False


def owner_uid(pod: JSON) -> str | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller") is True:
            return str(ref.get("uid") or "") or None
    return None


@dataclass
class PodEntry:
    node: str
    requests: Resources
    units: dict[str, int]  # the requests in the filters' integer units (nodeinfo.to_units)
    ports: set[tuple[str, str, int]]
    owner: str | None


@dataclass
class NodeTotals:
    requested: Resources = field(default_factory=dict)
    # the same sum in upstream's integer units, each pod rounded up: what the filters compare
    requested_units: dict[str, int] = field(default_factory=dict)
    # requests with upstream's non-zero defaults, for scoring only
    scored: Resources = field(default_factory=dict)
    pods: int = 0
    ports: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    owners: Counter[str] = field(default_factory=Counter)
    # float(scored cpu), float(scored memory): refreshed from the exact sums after every
    # change (never accumulated as floats, so equal sums give equal floats and ties stay ties)
    scored_floats: tuple[float, float] = (0.0, 0.0)

    def refresh_floats(self) -> None:
        self.scored_floats = (
            float(self.scored.get("cpu", Fraction(0))),
            float(self.scored.get("memory", Fraction(0))),
        )


def occupies_node(pod: JSON) -> bool:
    """Bound, and not finished: such a pod holds its requests on the node."""
    if not (pod.get("spec") or {}).get("nodeName"):
        return False
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


class NodeUsage:
    """Per-node totals of the pods placed there, updated one pod at a time."""

    def __init__(self) -> None:
        self._pods: dict[str, PodEntry] = {}
        self._nodes: dict[str, NodeTotals] = {}
        self.node_totals = self._nodes  # read-only view for the scheduler's per-node loop

    def totals(self, node: str) -> NodeTotals:
        return self._nodes.get(node) or NodeTotals()

    def placed_on(self, key: str) -> str | None:
        entry = self._pods.get(key)
        return entry.node if entry else None

    def set_pod(self, key: str, pod: JSON | None, node: str | None = None) -> None:
        """Record `pod` (None = gone) under `key`; `node` overrides spec.nodeName (assumed pods)."""
        self.remove(key)
        if pod is None:
            return
        target = node or (pod.get("spec") or {}).get("nodeName")
        if not target or (node is None and not occupies_node(pod)):
            return
        requests = pod_requests(pod)
        units = {name: to_units(name, value) for name, value in requests.items()}
        entry = PodEntry(target, requests, units, host_ports(pod), owner_uid(pod))
        self._pods[key] = entry
        totals = self._nodes.setdefault(target, NodeTotals())
        _add(totals.requested, entry.requests)
        requested_units = totals.requested_units
        for name, value in units.items():
            requested_units[name] = requested_units.get(name, 0) + value
        _add(totals.scored, scoring_requests(entry.requests))
        totals.pods += 1
        totals.ports.update(entry.ports)
        if entry.owner:
            totals.owners[entry.owner] += 1
        totals.refresh_floats()

    def remove(self, key: str) -> None:
        entry = self._pods.pop(key, None)
        if entry is None:
            return
        totals = self._nodes[entry.node]
        for name, value in entry.requests.items():
            totals.requested[name] = totals.requested.get(name, Fraction(0)) - value
        for name, amount in entry.units.items():
            totals.requested_units[name] = totals.requested_units.get(name, 0) - amount
        for name, value in scoring_requests(entry.requests).items():
            totals.scored[name] = totals.scored.get(name, Fraction(0)) - value
        totals.pods -= 1
        totals.refresh_floats()
        if entry.ports:
            totals.ports.subtract(entry.ports)
            totals.ports += Counter()  # drop zero counts
        if entry.owner:
            totals.owners[entry.owner] -= 1
            if totals.owners[entry.owner] <= 0:
                del totals.owners[entry.owner]


def to_units(name: str, quantity: Fraction) -> int:
    """Upstream's integer view of a quantity: millicores for cpu, whole units otherwise, rounded up."""
    return math.ceil(quantity * 1000) if name == "cpu" else math.ceil(quantity)


def scoring_requests(requests: Resources) -> Resources:
    scored = dict(requests)
    if not scored.get("cpu"):
        scored["cpu"] = DEFAULT_CPU_REQUEST
    if not scored.get("memory"):
        scored["memory"] = DEFAULT_MEMORY_REQUEST
    return scored
