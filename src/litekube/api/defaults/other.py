"""Defaults of the non-workload kinds: Service, Namespace, Secret, Node, Endpoints,
EndpointSlice, HorizontalPodAutoscaler. Stateful parts (cluster IPs, node ports) are left to
the allocators."""

from __future__ import annotations

import base64
from typing import Any

Obj = dict[str, Any]

CLIENT_IP_AFFINITY_SECONDS = 10800


def _dict(parent: Obj, key: str) -> Obj:
    value = parent.get(key)
    if not isinstance(value, dict):
        value = {}
        parent[key] = value
    return value


def default_service(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        client_ip = _dict(_dict(spec, "sessionAffinityConfig"), "clientIP")
        client_ip.setdefault("timeoutSeconds", CLIENT_IP_AFFINITY_SECONDS)
    spec.setdefault("type", "ClusterIP")
    service_type = spec["type"]
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        port.setdefault("protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if service_type in ("NodePort", "LoadBalancer") and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if service_type != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        # a single-stack IPv4 cluster: what the registry fills in before allocating
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if spec.get("clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        elif spec.get("clusterIPs") and not spec.get("clusterIP"):
            spec["clusterIP"] = spec["clusterIPs"][0]
    if service_type == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    # every Service shows an (empty) load-balancer status until a controller fills it
    _dict(_dict(obj, "status"), "loadBalancer")


def default_namespace(obj: Obj) -> None:
    metadata = _dict(obj, "metadata")
    name = metadata.get("name")
    if name:
        _dict(metadata, "labels")["kubernetes.io/metadata.name"] = name
    spec = _dict(obj, "spec")
    # only a namespace that never had the list gets it: `finalize` empties it on purpose
    if "finalizers" not in spec:
        spec["finalizers"] = ["kubernetes"]
    _dict(obj, "status").setdefault("phase", "Active")


def default_secret(obj: Obj) -> None:
    if not obj.get("type"):
        obj["type"] = "Opaque"
    # `stringData` is write-only: the v1 conversion merges it into `data`, overriding keys
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = _dict(obj, "data")
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def default_node(obj: Obj) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and status.get("capacity") and not status.get("allocatable"):
        status["allocatable"] = dict(status["capacity"])


def default_endpoints(obj: Obj) -> None:
    for subset in obj.get("subsets") or []:
        for port in (subset or {}).get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def default_endpoint_slice(obj: Obj) -> None:
    for port in obj.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("name", "")
            port.setdefault("protocol", "TCP")


_SCALE_UP_RULES: Obj = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
# scale-down's stabilization window stays unset: the controller's flag decides it
_SCALE_DOWN_RULES: Obj = {
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}


def default_hpa(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
            }
        ]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for direction, defaults in (("scaleUp", _SCALE_UP_RULES), ("scaleDown", _SCALE_DOWN_RULES)):
            rules = behavior.get(direction)
            if not isinstance(rules, dict):
                rules = {}
            merged = {k: _copy(v) for k, v in defaults.items()}
            merged.update({k: v for k, v in rules.items() if v is not None})
            behavior[direction] = merged


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [dict(v) if isinstance(v, dict) else v for v in value]
    return value
