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
"""

from __future__ import annotations

from fractions import Fraction

from litekube.client.base import JSON
from litekube.scheduler.resources import NodeTotals, parse_resources, pod_requests, scoring_requests

SCORED_RESOURCES = ("cpu", "memory")


def least_allocated(pod: JSON, node: JSON, totals: NodeTotals) -> Fraction:
    allocatable = parse_resources((node.get("status") or {}).get("allocatable"))
    wanted = scoring_requests(pod_requests(pod))
    scores: list[Fraction] = []
    for name in SCORED_RESOURCES:
        have = allocatable.get(name, Fraction(0))
        if have <= 0:
            scores.append(Fraction(0))
            continue
        used = totals.scored.get(name, Fraction(0)) + wanted.get(name, Fraction(0))
        scores.append(max(Fraction(0), (have - used) * 100 / have))
    return sum(scores, Fraction(0)) / len(scores)


def spreading(owner: str | None, candidates: list[NodeTotals]) -> list[Fraction]:
    if owner is None:
        return [Fraction(100)] * len(candidates)
    counts = [t.owners.get(owner, 0) for t in candidates]
    most = max(counts, default=0)
    if most == 0:
        return [Fraction(100)] * len(candidates)
    return [Fraction(100 * (most - c), most) for c in counts]


def pick_node(pod: JSON, owner: str | None, feasible: list[tuple[JSON, NodeTotals]]) -> JSON:
    """The best node of a non-empty feasible list: highest score, then fewest pods, then name."""
    spread = spreading(owner, [t for _, t in feasible])
    ranked = sorted(
        (
            (
                -(least_allocated(pod, node, totals) + spread_score),
                totals.pods,
                node["metadata"]["name"],
                index,
            )
            for index, ((node, totals), spread_score) in enumerate(zip(feasible, spread, strict=True))
        ),
    )
    return feasible[ranked[0][3]][0]
