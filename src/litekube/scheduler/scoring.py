"""Scoring: among the nodes a pod fits on, which one is best? Higher is better, 0..200.

Two scores, each 0..100, are added:
- least allocated (upstream NodeResourcesFit, LeastAllocated): for cpu and memory,
  (allocatable - requested after placing the pod) * 100 / allocatable, averaged. Pods
  without requests count as 100m cpu / 200Mi memory here, so empty pods spread too.
- spreading (upstream's default topology spreading by owner): nodes with fewer pods of the
  pod's controller score higher: 100 * (max - count) / max over the feasible nodes.

Worked example: allocatable cpu 4 on both nodes, node a already has 2 cores requested, node
b has 1; a pod asking for 1 core scores a: (4-3)*100/4 = 25, b: (4-2)*100/4 = 50 for cpu.
Ties go to the node with fewer pods, then to the name, so results are reproducible.

This runs for every feasible node of every pod (10,000 pods x 100 nodes in the benchmark),
so it works on floats: the node's allocatable and summed requests are exact Fractions,
converted once per change (`NodeTotals.scored_floats`, `AllocatableCache`), never summed
as floats — equal nodes get bit-identical scores, so ties still fall to pods and name.
"""

from __future__ import annotations

from litekube.client.base import JSON
from litekube.scheduler.resources import NodeTotals, Resources, scoring_requests

# (node, its totals, float cpu and memory allocatable)
Candidate = tuple[JSON, NodeTotals, tuple[float, float]]


def wanted_floats(requests: Resources) -> tuple[float, float]:
    """The pod's scored cpu and memory (with the non-zero defaults) as floats."""
    scored = scoring_requests(requests)
    return float(scored["cpu"]), float(scored["memory"])


def least_allocated(
    wanted: tuple[float, float], allocatable: tuple[float, float], totals: NodeTotals
) -> float:
    total = 0.0
    for have, used, extra in zip(allocatable, totals.scored_floats, wanted, strict=True):
        if have <= 0:
            continue
        free = (have - used - extra) * 100 / have
        if free > 0:
            total += free
    return total / 2


def spreading(owner: str | None, candidates: list[NodeTotals]) -> list[float]:
    if owner is None:
        return [100.0] * len(candidates)
    counts = [t.owners.get(owner, 0) for t in candidates]
    most = max(counts, default=0)
    if most == 0:
        return [100.0] * len(candidates)
    return [100 * (most - c) / most for c in counts]


def pick_node(requests: Resources, owner: str | None, feasible: list[Candidate]) -> JSON:
    """The best node of a non-empty feasible list: highest score, then fewest pods, then name."""
    wanted = wanted_floats(requests)
    spread = spreading(owner, [t for _, t, _ in feasible])
    best: tuple[float, int, str] | None = None
    chosen = feasible[0][0]
    for (node, totals, allocatable), spread_score in zip(feasible, spread, strict=True):
        rank = (
            -(least_allocated(wanted, allocatable, totals) + spread_score),
            totals.pods,
            node["metadata"]["name"],
        )
        if best is None or rank < best:
            best, chosen = rank, node
    return chosen
