"""Placement (ECS-MAPPING §9.5): strategies → soft spread, constraints → hard affinity.

* `spread` by zone/host/custom attribute → `topologySpreadConstraints` (ScheduleAnyway);
  `binpack` → impossible per workload (a scheduler scoring setting); `random` → nothing.
* `distinctInstance` → required pod anti-affinity on `kubernetes.io/hostname`.
* `memberOf` with a cluster query language expression → required node affinity:
  `A or B` → several nodeSelectorTerms, `A and B` → several matchExpressions,
  `==`/`in` → In, `!=`/`!in` → NotIn, `exists`/`!exists`, `>`/`<` → Gt/Lt.
  Regex matches, parentheses and task attributes other than `task:group` are impossible.
"""

from __future__ import annotations

import re
from typing import Any

from litekube.ecs.context import Context
from litekube.ecs.explain import Scope
from litekube.ecs.names import is_qualified_name, label_value
from litekube.ecs.quirks import as_dict, as_list, to_str

ATTRIBUTE_LABELS = {
    "ecs.availability-zone": "topology.kubernetes.io/zone",
    "ecs.instance-type": "node.kubernetes.io/instance-type",
    "ecs.os-type": "kubernetes.io/os",
    "ecs.cpu-architecture": "kubernetes.io/arch",
    "ecs.os-family": "node.kubernetes.io/windows-build",
}
_NO_LABEL = ("ecs.ami-id", "ecs.vpc-id", "ecs.subnet-id", "ecs.outpost-arn", "ecs.awsvpc-trunk-id")
_EXPRESSION = re.compile(
    r"^\s*attribute:(?P<attr>[A-Za-z0-9_.\-/]+)\s*"
    r"(?:(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>[^\s\[\]]+)|(?P<set>!?in|not_in)\s*\[(?P<values>[^\]]*)\]|(?P<exists>!?exists))\s*$"
)


def _topology_key(field: str) -> tuple[str | None, str]:
    if field in ("instanceId", "host"):
        return "kubernetes.io/hostname", "exact"
    attribute = field.removeprefix("attribute:")
    if attribute in ATTRIBUTE_LABELS:
        return ATTRIBUTE_LABELS[attribute], "exact"
    if attribute in _NO_LABEL or not is_qualified_name(attribute):
        return None, ""
    return attribute, "custom"


def map_strategies(raw: object, scope: Scope, ctx: Context) -> None:
    pod_path = ctx.pod_path()
    for index, item in enumerate(as_list(raw, scope)):
        item_scope = scope.at(index)
        strategy = as_dict(item, item_scope) or {}
        kind = (to_str(strategy.get("type"), item_scope.at("type")) or "").lower()
        field = to_str(strategy.get("field"), item_scope.at("field")) or ""
        if kind == "spread":
            key, how = _topology_key(field)
            if key is None:
                item_scope.impossible(f"no node label for {field!r}")
                continue
            spreads = ctx.pod.setdefault("topologySpreadConstraints", [])
            if not any(s["topologyKey"] == key for s in spreads):
                spreads.append(
                    {
                        "maxSkew": 1,
                        "topologyKey": key,
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": ctx.selector()},
                    }
                )
            note = "ECS applies strategies in order; Kubernetes scores them together"
            if how == "custom":
                note += f"; nodes need the label {key}"
            item_scope.approx(
                f"{pod_path}.topologySpreadConstraints[topologyKey={key}]",
                "spread → soft topology spread",
                note,
            )
        elif kind == "binpack":
            item_scope.impossible(
                "binpack has no per-workload setting",
                "cluster-wide: scheduler NodeResourcesFit MostAllocated",
            )
        elif kind == "random":
            item_scope.exact("", "random: the default scheduler spreads anyway")
        else:
            item_scope.error(f"unknown placement strategy {kind!r}: ignored")


def map_constraints(raw: object, scope: Scope, ctx: Context) -> None:
    pod_path = ctx.pod_path()
    for index, item in enumerate(as_list(raw, scope)):
        item_scope = scope.at(index)
        constraint = as_dict(item, item_scope) or {}
        kind = to_str(constraint.get("type"), item_scope.at("type")) or ""
        if kind == "distinctInstance":
            anti = ctx.pod.setdefault("affinity", {}).setdefault("podAntiAffinity", {})
            terms = anti.setdefault("requiredDuringSchedulingIgnoredDuringExecution", [])
            if not terms:
                terms.append(
                    {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": ctx.selector()},
                    }
                )
            item_scope.exact(
                f"{pod_path}.affinity.podAntiAffinity", "one task per instance → anti-affinity per node"
            )
        elif kind == "memberOf":
            expression = to_str(constraint.get("expression"), item_scope.at("expression")) or ""
            terms = parse_expression(expression)
            if terms is None:
                item_scope.impossible(
                    f"cluster query {expression!r} has no node-affinity form",
                    "regex, parentheses, ECS-only attributes",
                )
                continue
            if isinstance(terms, str):
                item_scope.approx("", "task:group affinity: label the pods and use podAffinity by hand")
                continue
            affinity = ctx.pod.setdefault("affinity", {}).setdefault("nodeAffinity", {})
            required = affinity.setdefault(
                "requiredDuringSchedulingIgnoredDuringExecution", {"nodeSelectorTerms": []}
            )
            existing = required["nodeSelectorTerms"]
            if not existing:
                existing.extend(terms)
            else:
                # two constraints must both hold: AND every existing term with every new term
                required["nodeSelectorTerms"] = [
                    {"matchExpressions": a["matchExpressions"] + b["matchExpressions"]}
                    for a in existing
                    for b in terms
                ]
            item_scope.approx(
                f"{pod_path}.affinity.nodeAffinity",
                "memberOf → required node affinity",
                "node labels must exist",
            )
        else:
            item_scope.error(f"unknown placement constraint {kind!r}: ignored")


def parse_expression(expression: str) -> list[dict[str, Any]] | str | None:
    """Cluster query language → nodeSelectorTerms, "group" for task:group, None if impossible."""
    if "(" in expression or ")" in expression or not expression.strip():
        return None
    if re.match(r"^\s*task:group\s*(==|!=)", expression):
        return "group"
    terms: list[dict[str, Any]] = []
    for alternative in re.split(r"\s+or\s+", expression.strip()):
        expressions = []
        for part in re.split(r"\s+and\s+", alternative):
            match = _EXPRESSION.match(part)
            if not match:
                return None
            key, _ = _topology_key("attribute:" + match["attr"])
            if key is None:
                return None
            requirement = _requirement(key, match)
            if requirement is None:
                return None
            expressions.append(requirement)
        terms.append({"matchExpressions": expressions})
    return terms


def _requirement(key: str, match: re.Match[str]) -> dict[str, Any] | None:
    if match["exists"]:
        return {"key": key, "operator": "DoesNotExist" if match["exists"].startswith("!") else "Exists"}
    if match["set"]:
        values = [v.strip().strip("'\"") for v in match["values"].split(",") if v.strip()]
        if not values or any(label_value(v) is None for v in values):
            return None
        return {"key": key, "operator": "In" if match["set"] == "in" else "NotIn", "values": values}
    op, value = match["op"], match["value"].strip("'\"")
    if op in ("==", "!="):
        if label_value(value) is None or not value:
            return None
        return {"key": key, "operator": "In" if op == "==" else "NotIn", "values": [value]}
    if not re.fullmatch(r"-?\d+", value):
        return None
    number = int(value) + {">": 0, "<": 0, ">=": -1, "<=": 1}[op]
    return {"key": key, "operator": "Gt" if op.startswith(">") else "Lt", "values": [str(number)]}


def map_task_constraints(raw: object, scope: Scope, ctx: Context) -> None:
    if raw is not None:
        map_constraints(raw, scope, ctx)
