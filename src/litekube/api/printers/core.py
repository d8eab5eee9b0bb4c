"""Tables of the simpler kinds: ConfigMap, Secret, ServiceAccount, Namespace, Node, Lease
and HorizontalPodAutoscaler.

Node STATUS is `Ready`/`NotReady` from the Ready condition (`Unknown` without one), plus
`SchedulingDisabled` when cordoned; ROLES come from `node-role.kubernetes.io/<role>` label
keys and the `kubernetes.io/role` label value, sorted and unique.
"""

from __future__ import annotations

from typing import Any

from litekube.api.printers.columns import CORE, Column, age_column, name_column
from litekube.api.printers.duration import translate_timestamp_since


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _age(obj: dict[str, Any], now: float) -> str:
    return translate_timestamp_since(_meta(obj).get("creationTimestamp"), now)


CONFIG_MAP_COLUMNS = (name_column(), Column("Data", doc=(CORE + "ConfigMap", "data")), age_column())


def config_map_cells(obj: dict[str, Any], now: float) -> list[Any]:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_meta(obj).get("name", ""), count, _age(obj, now)]


SECRET_COLUMNS = (
    name_column(),
    Column("Type", doc=(CORE + "Secret", "type")),
    Column("Data", doc=(CORE + "Secret", "data")),
    age_column(),
)


def secret_cells(obj: dict[str, Any], now: float) -> list[Any]:
    return [_meta(obj).get("name", ""), obj.get("type") or "", len(obj.get("data") or {}), _age(obj, now)]


SERVICE_ACCOUNT_COLUMNS = (name_column(), age_column())


def name_age_cells(obj: dict[str, Any], now: float) -> list[Any]:
    return [_meta(obj).get("name", ""), _age(obj, now)]


NAMESPACE_COLUMNS = (name_column(), Column("Status", text="The status of the namespace"), age_column())


def namespace_cells(obj: dict[str, Any], now: float) -> list[Any]:
    return [_meta(obj).get("name", ""), (obj.get("status") or {}).get("phase") or "", _age(obj, now)]


_SYSTEM_INFO = CORE + "NodeSystemInfo"
NODE_COLUMNS = (
    name_column(),
    Column("Status", text="The status of the node"),
    Column("Roles", text="The roles of the node"),
    age_column(),
    Column("Version", doc=(_SYSTEM_INFO, "kubeletVersion")),
    Column("Internal-IP", priority=1, doc=(CORE + "NodeStatus", "addresses")),
    Column("External-IP", priority=1, doc=(CORE + "NodeStatus", "addresses")),
    Column("OS-Image", priority=1, doc=(_SYSTEM_INFO, "osImage")),
    Column("Kernel-Version", priority=1, doc=(_SYSTEM_INFO, "kernelVersion")),
    Column("Container-Runtime", priority=1, doc=(_SYSTEM_INFO, "containerRuntimeVersion")),
)

_ROLE_PREFIX = "node-role.kubernetes.io/"


def node_roles(labels: dict[str, str] | None) -> list[str]:
    roles: set[str] = set()
    for key, value in (labels or {}).items():
        if key.startswith(_ROLE_PREFIX):
            if role := key[len(_ROLE_PREFIX) :]:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return sorted(roles)


def _node_address(status: dict[str, Any], kind: str) -> str:
    for address in status.get("addresses") or ():
        if address.get("type") == kind:
            return str(address.get("address", ""))
    return "<none>"


def node_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata = _meta(obj)
    status = obj.get("status") or {}
    info = status.get("nodeInfo") or {}
    states: list[str] = []
    ready = None
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Ready":
            ready = condition  # the last Ready condition wins, as in upstream's map
    if ready is not None:
        states.append("Ready" if ready.get("status") == "True" else "NotReady")
    else:
        states.append("Unknown")
    if (obj.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    return [
        metadata.get("name", ""),
        ",".join(states),
        ",".join(node_roles(metadata.get("labels"))) or "<none>",
        _age(obj, now),
        info.get("kubeletVersion") or "",
        _node_address(status, "InternalIP"),
        _node_address(status, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


LEASE_COLUMNS = (
    name_column(),
    Column("Holder", doc=("io.k8s.api.coordination.v1.LeaseSpec", "holderIdentity")),
    age_column(),
)


def lease_cells(obj: dict[str, Any], now: float) -> list[Any]:
    holder = (obj.get("spec") or {}).get("holderIdentity") or ""
    return [_meta(obj).get("name", ""), holder, _age(obj, now)]


_HPA_SPEC = "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec"
HPA_COLUMNS = (
    name_column(),
    Column("Reference", doc=(_HPA_SPEC, "scaleTargetRef")),
    Column("Targets", doc=(_HPA_SPEC, "metrics")),
    Column("MinPods", doc=(_HPA_SPEC, "minReplicas")),
    Column("MaxPods", doc=(_HPA_SPEC, "maxReplicas")),
    Column("Replicas", doc=("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", "currentReplicas")),
    age_column(),
)


def _metric_text(spec: dict[str, Any], status: dict[str, Any] | None) -> str:
    """One entry of the TARGETS cell: `current/target`, with the resource name for resource metrics."""
    kind = spec.get("type")
    source_key = {
        "External": "external",
        "Pods": "pods",
        "Object": "object",
        "Resource": "resource",
        "ContainerResource": "containerResource",
    }.get(str(kind))
    if source_key is None:
        return "<unknown type>"
    source = spec.get(source_key) or {}
    target = source.get("target") or {}
    current = ((status or {}).get(source_key) or {}).get("current") if status else None
    if kind in ("Resource", "ContainerResource"):
        name = source.get("name", "")
        if target.get("averageValue") is not None:
            value = "<unknown>" if current is None else str(current.get("averageValue", "<unknown>"))
            return f"{name}: {value}/{target['averageValue']}"
        utilization = None if current is None else current.get("averageUtilization")
        value = "<unknown>" if utilization is None else f"{utilization}%"
        wanted = "<auto>" if target.get("averageUtilization") is None else f"{target['averageUtilization']}%"
        return f"{name}: {value}/{wanted}"
    if kind == "Pods":
        value = "<unknown>" if current is None else str(current.get("averageValue", "<unknown>"))
        return f"{value}/{target.get('averageValue', '')}"
    if target.get("averageValue") is not None:
        value = (
            "<unknown>" if current is None or current.get("averageValue") is None else current["averageValue"]
        )
        return f"{value}/{target['averageValue']} (avg)"
    value = "<unknown>" if current is None else str(current.get("value", "<unknown>"))
    return f"{value}/{target.get('value', '')}"


def hpa_cells(obj: dict[str, Any], now: float) -> list[Any]:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    metrics = spec.get("metrics") or []
    currents = status.get("currentMetrics") or []
    if not metrics:
        targets = "<none>"
    else:
        texts = [_metric_text(m, currents[i] if i < len(currents) else None) for i, m in enumerate(metrics)]
        targets = ", ".join(texts[:2])
        if len(texts) > 2:
            targets += f" + {len(texts) - 2} more..."
    ref = spec.get("scaleTargetRef") or {}
    min_replicas = spec.get("minReplicas")
    return [
        _meta(obj).get("name", ""),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        targets,
        "<unset>" if min_replicas is None else str(min_replicas),
        int(spec.get("maxReplicas") or 0),
        int(status.get("currentReplicas") or 0),
        _age(obj, now),
    ]
