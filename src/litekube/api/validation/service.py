"""Services: ports, types, session affinity, cluster IPs and traffic policies.

NodePort ranges are checked here with the allocator's message so a bad port fails before
anything is allocated; whether a valid port or IP is free is the allocators' business.
"""

from __future__ import annotations

from typing import Any

from litekube.api.validation import field
from litekube.api.validation.containers import PORT_PROTOCOLS, validate_port_num_or_name
from litekube.api.validation.field import Cause, GoValue
from litekube.api.validation.meta import validate_labels
from litekube.api.validation.names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_valid_ip,
    is_valid_port_num,
)

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
SESSION_AFFINITIES = ("ClientIP", "None")
TRAFFIC_POLICIES = ("Cluster", "Local")
IP_FAMILIES = ("IPv4", "IPv6")
IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
NODE_PORT_RANGE = (30000, 32767)
_MAX_CLIENT_IP_AFFINITY = 86400
_KUBELET_PORT = 10250


def _port_go_text(protocol: str, port: Any) -> str:
    return (
        f'core.ServicePort{{Name:"", Protocol:{field.go_quote(protocol)}, AppProtocol:(*string)(nil), Port:{port}, '
        'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}'
    )


def validate_service(obj: dict[str, Any]) -> list[Cause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [field.required("spec", "")]
    causes: list[Cause] = []
    service_type = spec.get("type")
    headless = spec.get("clusterIP") == "None"
    ports = spec.get("ports") if isinstance(spec.get("ports"), list) else []
    assert isinstance(ports, list)
    if not ports and not headless and service_type != "ExternalName":
        causes.append(field.required("spec.ports", ""))
    if service_type == "LoadBalancer":
        if headless:
            causes.append(
                field.invalid("spec.clusterIP", "None", "may not be set to 'None' for LoadBalancer services")
            )
        for i, port in enumerate(ports):
            if isinstance(port, dict) and port.get("port") == _KUBELET_PORT:
                causes.append(
                    field.invalid(
                        f"spec.ports[{i}]",
                        _KUBELET_PORT,
                        f"may not expose port {_KUBELET_PORT} externally since it is used by kubelet",
                    )
                )
    elif service_type == "NodePort":
        if headless:
            causes.append(
                field.invalid("spec.clusterIP", "None", "may not be set to 'None' for NodePort services")
            )
    elif service_type == "ExternalName":
        if spec.get("clusterIPs"):
            causes.append(field.forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        if spec.get("ipFamilies"):
            causes.append(field.forbidden("spec.ipFamilies", "may not be set for ExternalName services"))
        if spec.get("ipFamilyPolicy") is not None:
            causes.append(field.forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
        cname = (spec.get("externalName") or "").removesuffix(".")
        if cname:
            causes.extend(field.invalid("spec.externalName", cname, m) for m in is_dns1123_subdomain(cname))
        else:
            causes.append(field.required("spec.externalName", ""))
    names: set[str] = set()
    for i, port in enumerate(ports):
        if isinstance(port, dict):
            causes.extend(_validate_service_port(port, len(ports) > 1, names, f"spec.ports[{i}]"))
    if spec.get("selector") is not None:
        causes.extend(validate_labels(spec.get("selector"), "spec.selector"))
    affinity = spec.get("sessionAffinity")
    if not affinity:
        causes.append(field.required("spec.sessionAffinity", ""))
    elif affinity not in SESSION_AFFINITIES:
        causes.append(field.not_supported("spec.sessionAffinity", affinity, SESSION_AFFINITIES))
    if affinity == "ClientIP":
        causes.extend(_validate_client_ip_affinity(spec.get("sessionAffinityConfig")))
    elif affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        causes.append(
            field.forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")
        )
    causes.extend(_validate_cluster_ips(spec))
    for i, ip in enumerate(spec.get("externalIPs") or []):
        causes.extend(field.invalid(f"spec.externalIPs[{i}]", ip, m) for m in is_valid_ip(str(ip)))
    if not service_type:
        causes.append(field.required("spec.type", ""))
    elif service_type not in SERVICE_TYPES:
        causes.append(field.not_supported("spec.type", service_type, SERVICE_TYPES))
    if service_type == "ClusterIP":
        for i, port in enumerate(ports):
            if isinstance(port, dict) and port.get("nodePort"):
                causes.append(
                    field.forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
                )
    causes.extend(_validate_node_ports(ports, service_type))
    seen_ports: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        key = (port.get("protocol"), port.get("port"))
        if key in seen_ports:
            causes.append(
                field.duplicate(f"spec.ports[{i}]", GoValue(_port_go_text(str(key[0] or ""), key[1])))
            )
        seen_ports.add(key)
    causes.extend(_validate_traffic_policies(spec, service_type))
    return causes


def _validate_service_port(
    port: dict[str, Any], require_name: bool, names: set[str], path: str
) -> list[Cause]:
    causes: list[Cause] = []
    name = port.get("name") or ""
    if require_name and not name:
        causes.append(field.required(f"{path}.name", ""))
    elif name:
        causes.extend(field.invalid(f"{path}.name", name, m) for m in is_dns1123_label(name))
        if name in names:
            causes.append(field.duplicate(f"{path}.name", name))
        names.add(name)
    number = port.get("port")
    if isinstance(number, int) or number is None:
        causes.extend(field.invalid(f"{path}.port", number or 0, m) for m in is_valid_port_num(number or 0))
    protocol = port.get("protocol")
    if not protocol:
        causes.append(field.required(f"{path}.protocol", ""))
    elif protocol not in PORT_PROTOCOLS:
        causes.append(field.not_supported(f"{path}.protocol", protocol, PORT_PROTOCOLS))
    causes.extend(validate_port_num_or_name(port.get("targetPort"), f"{path}.targetPort"))
    return causes


def _validate_node_ports(ports: list[Any], service_type: Any) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[tuple[Any, Any]] = set()
    low, high = NODE_PORT_RANGE
    for i, port in enumerate(ports):
        if not isinstance(port, dict) or not port.get("nodePort"):
            continue
        node_port = port["nodePort"]
        path = f"spec.ports[{i}].nodePort"
        key = (port.get("protocol"), node_port)
        if key in seen:
            causes.append(field.duplicate(path, node_port))
        seen.add(key)
        if (
            service_type in ("NodePort", "LoadBalancer")
            and isinstance(node_port, int)
            and not low <= node_port <= high
        ):
            causes.append(
                field.invalid(
                    path,
                    node_port,
                    f"provided port is not in the valid range. The range of valid ports is {low}-{high}",
                )
            )
    return causes


def _validate_client_ip_affinity(config: Any) -> list[Cause]:
    detail = "when session affinity type is ClientIP"
    if not isinstance(config, dict):
        return [field.required("spec.sessionAffinityConfig", detail)]
    client_ip = config.get("clientIP")
    if not isinstance(client_ip, dict):
        return [field.required("spec.sessionAffinityConfig.clientIP", detail)]
    timeout = client_ip.get("timeoutSeconds")
    path = "spec.sessionAffinityConfig.clientIP.timeoutSeconds"
    if timeout is None:
        return [field.required(path, detail)]
    if not 0 < timeout <= _MAX_CLIENT_IP_AFFINITY:
        return [
            field.invalid(path, timeout, f"must be greater than 0 and less than {_MAX_CLIENT_IP_AFFINITY}")
        ]
    return []


def _validate_cluster_ips(spec: dict[str, Any]) -> list[Cause]:
    if spec.get("type") == "ExternalName":
        return []
    causes: list[Cause] = []
    cluster_ip = spec.get("clusterIP") or ""
    cluster_ips = spec.get("clusterIPs") or []
    if cluster_ip:
        if not cluster_ips:
            causes.append(field.required("spec.clusterIPs", ""))
        elif cluster_ips[0] != cluster_ip:
            causes.append(field.invalid("spec.clusterIPs", cluster_ips, "first value must match `clusterIP`"))
    elif cluster_ips:
        causes.append(
            field.invalid("spec.clusterIPs", cluster_ips, "must be empty when `clusterIP` is not specified")
        )
    seen: set[str] = set()
    for i, family in enumerate(spec.get("ipFamilies") or []):
        if family not in IP_FAMILIES:
            causes.append(field.not_supported(f"spec.ipFamilies[{i}]", family, IP_FAMILIES))
        if family in seen:
            causes.append(field.duplicate(f"spec.ipFamilies[{i}]", family))
        seen.add(family)
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in IP_FAMILY_POLICIES:
        causes.append(field.not_supported("spec.ipFamilyPolicy", policy, IP_FAMILY_POLICIES))
    for i, ip in enumerate(cluster_ips):
        if i == 0 and ip == "None":
            if len(cluster_ips) > 1:
                causes.append(
                    field.invalid("spec.clusterIPs", cluster_ips, "'None' must be the first and only value")
                )
            continue
        causes.extend(field.invalid(f"spec.clusterIPs[{i}]", ip, m) for m in is_valid_ip(str(ip)))
    return causes


def _validate_traffic_policies(spec: dict[str, Any], service_type: Any) -> list[Cause]:
    causes: list[Cause] = []
    external = spec.get("externalTrafficPolicy")
    accessible = service_type in ("NodePort", "LoadBalancer") or (
        service_type == "ClusterIP" and spec.get("externalIPs")
    )
    if not accessible:
        if external:
            causes.append(
                field.invalid(
                    "spec.externalTrafficPolicy",
                    external,
                    "may only be set for externally-accessible services",
                )
            )
    elif not external:
        causes.append(field.required("spec.externalTrafficPolicy", ""))
    elif external not in TRAFFIC_POLICIES:
        causes.append(field.not_supported("spec.externalTrafficPolicy", external, TRAFFIC_POLICIES))
    internal = spec.get("internalTrafficPolicy")
    if internal is None:
        if service_type != "ExternalName":
            causes.append(field.required("spec.internalTrafficPolicy", ""))
    elif internal not in TRAFFIC_POLICIES:
        causes.append(field.not_supported("spec.internalTrafficPolicy", internal, TRAFFIC_POLICIES))
    allocate = spec.get("allocateLoadBalancerNodePorts")
    if service_type == "LoadBalancer":
        if allocate is None:
            causes.append(field.required("spec.allocateLoadBalancerNodePorts", ""))
    elif allocate is not None:
        causes.append(
            field.forbidden(
                "spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"
            )
        )
    return causes


def validate_service_update(new: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
    """Cluster IPs may not change once set (unless the Service moves to or from ExternalName)."""
    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    if "ExternalName" in (new_spec.get("type"), old_spec.get("type")):
        return []
    causes: list[Cause] = []
    new_ips = new_spec.get("clusterIPs") or ([new_spec["clusterIP"]] if new_spec.get("clusterIP") else [])
    old_ips = old_spec.get("clusterIPs") or ([old_spec["clusterIP"]] if old_spec.get("clusterIP") else [])
    if not new_ips:
        return []  # an update that leaves the IPs out keeps the allocated ones
    for i, ip in enumerate(old_ips):
        if i < len(new_ips) and ip != new_ips[i]:
            causes.append(field.invalid(f"spec.clusterIPs[{i}]", new_ips, "may not change once set"))
    return causes
