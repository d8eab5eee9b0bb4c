"""The smaller kinds: Namespace, ConfigMap, Secret, ServiceAccount, Endpoints, Node, Event,
Lease, EndpointSlice and HorizontalPodAutoscaler. Each function checks one kind's body
beyond its metadata."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import Any

from litekube.api.validation import field
from litekube.api.validation.containers import PORT_PROTOCOLS
from litekube.api.validation.field import Cause
from litekube.api.validation.names import (
    is_config_map_key,
    is_dns1123_label,
    is_qualified_name,
    is_valid_ip,
    is_valid_port_num,
)
from litekube.api.validation.pod import TAINT_EFFECTS

MAX_SECRET_SIZE = 1024 * 1024
_IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"


def validate_namespace(obj: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    for finalizer in (obj.get("spec") or {}).get("finalizers") or []:
        causes.extend(field.invalid("spec.finalizers", finalizer, m) for m in is_qualified_name(finalizer))
        if "/" not in finalizer and finalizer != "kubernetes":
            causes.append(
                field.invalid(
                    "spec.finalizers",
                    finalizer,
                    "name is neither a standard finalizer name nor is it fully qualified",
                )
            )
    return causes


def validate_config_map(obj: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    binary = obj.get("binaryData") if isinstance(obj.get("binaryData"), dict) else {}
    assert isinstance(data, dict) and isinstance(binary, dict)
    total = 0
    for key, value in data.items():
        causes.extend(field.invalid(field.key("data", key), key, m) for m in is_config_map_key(key))
        if key in binary:
            causes.append(
                field.invalid(field.key("data", key), key, "duplicate of key present in binaryData")
            )
        total += len(str(value).encode())
    for key, value in binary.items():
        causes.extend(field.invalid(field.key("binaryData", key), key, m) for m in is_config_map_key(key))
        if key in data:
            causes.append(
                field.invalid(field.key("binaryData", key), key, "duplicate of key present in data")
            )
        total += len(_decoded(value) or b"")
    if total > MAX_SECRET_SIZE:
        causes.append(field.too_long("", MAX_SECRET_SIZE))
    return causes


def _decoded(value: Any) -> bytes | None:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return None


def validate_immutable_data_update(
    new: dict[str, Any], old: dict[str, Any], keys: tuple[str, ...]
) -> list[Cause]:
    """ConfigMaps and Secrets marked `immutable: true` keep their data and the flag forever."""
    if old.get("immutable") is not True:
        return []
    causes: list[Cause] = []
    if new.get("immutable") is not True:
        causes.append(field.forbidden("immutable", _IMMUTABLE_WHEN_SET))
    for name in keys:
        if (new.get(name) or {}) != (old.get(name) or {}):
            causes.append(field.forbidden(name, _IMMUTABLE_WHEN_SET))
    return causes


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def validate_secret(obj: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    assert isinstance(data, dict)
    total = 0
    for key, value in data.items():
        causes.extend(field.invalid(field.key("data", key), key, m) for m in is_config_map_key(key))
        total += len(_decoded(value) or b"")
    if total > MAX_SECRET_SIZE:
        causes.append(field.too_long("data", MAX_SECRET_SIZE))
    secret_type = obj.get("type") or "Opaque"
    if secret_type == "kubernetes.io/service-account-token":
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            causes.append(
                field.required(field.key("metadata.annotations", "kubernetes.io/service-account.name"), "")
            )
    elif secret_type == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            causes.append(field.required(field.key("data", "username"), ""))
            causes.append(field.required(field.key("data", "password"), ""))
    else:
        for key in _SECRET_REQUIRED_KEYS.get(secret_type, ()):
            if key not in data or (secret_type == "kubernetes.io/ssh-auth" and not data[key]):
                causes.append(field.required(field.key("data", key), ""))
    return causes


def validate_secret_update(new: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
    causes = field.immutable("type", new.get("type") or "Opaque", old.get("type") or "Opaque")
    causes.extend(validate_immutable_data_update(new, old, ("data",)))
    return causes


def validate_endpoints(obj: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    for i, subset in enumerate(obj.get("subsets") or []):
        if not isinstance(subset, dict):
            continue
        path = f"subsets[{i}]"
        for group in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(subset.get(group) or []):
                ip = (address or {}).get("ip") or ""
                causes.extend(field.invalid(f"{path}.{group}[{j}].ip", ip, m) for m in is_valid_ip(ip))
        for j, port in enumerate(subset.get("ports") or []):
            causes.extend(
                _validate_endpoint_port(
                    port, f"{path}.ports[{j}]", require_name=len(subset.get("ports") or []) > 1
                )
            )
    return causes


def _validate_endpoint_port(port: Any, path: str, *, require_name: bool) -> list[Cause]:
    if not isinstance(port, dict):
        return []
    causes: list[Cause] = []
    name = port.get("name") or ""
    if require_name and not name:
        causes.append(field.required(f"{path}.name", ""))
    elif name:
        causes.extend(field.invalid(f"{path}.name", name, m) for m in is_dns1123_label(name))
    number = port.get("port")
    if isinstance(number, int):
        causes.extend(field.invalid(f"{path}.port", number, m) for m in is_valid_port_num(number))
    protocol = port.get("protocol")
    if not protocol:
        causes.append(field.required(f"{path}.protocol", ""))
    elif protocol not in PORT_PROTOCOLS:
        causes.append(field.not_supported(f"{path}.protocol", protocol, PORT_PROTOCOLS))
    return causes


def validate_endpoint_slice(obj: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    address_type = obj.get("addressType")
    if not address_type:
        causes.append(field.required("addressType", ""))
    elif address_type not in ("FQDN", "IPv4", "IPv6"):
        causes.append(field.not_supported("addressType", address_type, ("FQDN", "IPv4", "IPv6")))
    for i, endpoint in enumerate(obj.get("endpoints") or []):
        addresses = (endpoint or {}).get("addresses") or []
        path = f"endpoints[{i}].addresses"
        if not addresses:
            causes.append(field.required(path, "must contain at least 1 address"))
        elif len(addresses) > 100:
            causes.append(field.too_many(path, len(addresses), 100))
        for j, address in enumerate(addresses):
            if address_type in ("IPv4", "IPv6") and not _is_ip_of(address, address_type):
                causes.append(
                    field.invalid(f"{path}[{j}]", address, f"must be a valid {address_type} address")
                )
    for i, port in enumerate(obj.get("ports") or []):
        if not isinstance(port, dict):
            continue
        name = port.get("name") or ""
        if name:
            causes.extend(field.invalid(f"ports[{i}].name", name, m) for m in is_dns1123_label(name))
        protocol = port.get("protocol")
        if protocol not in PORT_PROTOCOLS:
            causes.append(field.not_supported(f"ports[{i}].protocol", protocol or "", PORT_PROTOCOLS))
        number = port.get("port")
        if isinstance(number, int):
            causes.extend(field.invalid(f"ports[{i}].port", number, m) for m in is_valid_port_num(number))
    return causes


def _is_ip_of(address: Any, family: str) -> bool:
    try:
        ip = ipaddress.ip_address(str(address))
    except ValueError:
        return False
    return ip.version == (4 if family == "IPv4" else 6)


def validate_node(obj: dict[str, Any]) -> list[Cause]:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    causes: list[Cause] = []
    for i, cidr in enumerate(spec.get("podCIDRs") or []):
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            causes.append(
                field.invalid(
                    f"spec.podCIDRs[{i}]",
                    cidr,
                    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                )
            )
    for i, taint in enumerate(spec.get("taints") or []):
        if not isinstance(taint, dict):
            continue
        key = taint.get("key") or ""
        if not key:
            causes.append(field.required(f"spec.taints[{i}].key", ""))
        else:
            causes.extend(field.invalid(f"spec.taints[{i}].key", key, m) for m in is_qualified_name(key))
        effect = taint.get("effect") or ""
        if not effect:
            causes.append(field.required(f"spec.taints[{i}].effect", ""))
        elif effect not in TAINT_EFFECTS:
            causes.append(field.not_supported(f"spec.taints[{i}].effect", effect, TAINT_EFFECTS))
    return causes


def validate_lease(obj: dict[str, Any]) -> list[Cause]:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    causes: list[Cause] = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        causes.append(field.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    causes.extend(field.non_negative("spec.leaseTransitions", spec.get("leaseTransitions")))
    return causes


def validate_core_event(obj: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    namespace = (obj.get("metadata") or {}).get("namespace") or ""
    involved = obj.get("involvedObject") if isinstance(obj.get("involvedObject"), dict) else {}
    assert isinstance(involved, dict)
    involved_namespace = involved.get("namespace") or ""
    if not involved_namespace:
        if namespace not in ("", "default"):
            causes.append(
                field.invalid(
                    "involvedObject.namespace", involved_namespace, "does not match event.namespace"
                )
            )
    elif namespace != involved_namespace:
        causes.append(
            field.invalid("involvedObject.namespace", involved_namespace, "does not match event.namespace")
        )
    return causes


def validate_events_v1_event(obj: dict[str, Any]) -> list[Cause]:
    causes: list[Cause] = []
    if not obj.get("eventTime"):
        causes.append(field.required("eventTime", ""))
    if obj.get("type") not in ("Normal", "Warning"):
        causes.append(field.invalid("type", "", f"has invalid value: {obj.get('type') or ''}"))
    for name in ("reportingController", "reportingInstance", "action", "reason"):
        value = obj.get(name) or ""
        if not value:
            causes.append(field.required(name, ""))
        elif name in ("action", "reason") and len(value) > 128:
            causes.append(field.too_long(name, 128))
    if len(obj.get("note") or "") > 1024:
        causes.append(field.too_long("note", 1024))
    return causes


_METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")


def validate_hpa(obj: dict[str, Any]) -> list[Cause]:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    causes: list[Cause] = []
    min_replicas = spec.get("minReplicas")
    max_replicas = spec.get("maxReplicas") or 0
    if isinstance(min_replicas, int) and min_replicas < 1:
        causes.append(field.invalid("spec.minReplicas", min_replicas, "must be greater than or equal to 1"))
    if max_replicas < 1:
        causes.append(field.invalid("spec.maxReplicas", max_replicas, "must be greater than 0"))
    if isinstance(min_replicas, int) and max_replicas < min_replicas:
        causes.append(
            field.invalid("spec.maxReplicas", max_replicas, "must be greater than or equal to `minReplicas`")
        )
    ref = spec.get("scaleTargetRef") if isinstance(spec.get("scaleTargetRef"), dict) else {}
    assert isinstance(ref, dict)
    for name in ("kind", "name"):
        value = ref.get(name) or ""
        if not value:
            causes.append(field.required(f"spec.scaleTargetRef.{name}", ""))
        elif value in (".", "..") or "/" in value or "%" in value:
            causes.append(field.invalid(f"spec.scaleTargetRef.{name}", value, "may not contain '/'"))
    for i, metric in enumerate(spec.get("metrics") or []):
        causes.extend(_validate_metric(metric, f"spec.metrics[{i}]"))
    return causes


def _validate_metric(metric: Any, path: str) -> list[Cause]:
    if not isinstance(metric, dict):
        return []
    metric_type = metric.get("type") or ""
    if not metric_type:
        return [field.required(f"{path}.type", "must specify a metric source type")]
    if metric_type not in _METRIC_TYPES:
        return [field.not_supported(f"{path}.type", metric_type, _METRIC_TYPES)]
    key = metric_type[0].lower() + metric_type[1:]
    source = metric.get(key)
    if not isinstance(source, dict):
        return [
            field.required(
                f"{path}.{key}",
                f"must populate information for the given metric source (only allowed when type is {metric_type})",
            )
        ]
    causes: list[Cause] = []
    if metric_type in ("Resource", "ContainerResource") and not source.get("name"):
        causes.append(field.required(f"{path}.{key}.name", "must specify a resource name"))
    target = source.get("target") if isinstance(source.get("target"), dict) else {}
    assert isinstance(target, dict)
    target_type = target.get("type")
    if target_type not in ("Utilization", "Value", "AverageValue"):
        causes.append(field.required(f"{path}.{key}.target.type", "must specify a metric target type"))
    utilization = target.get("averageUtilization")
    if isinstance(utilization, int) and utilization < 1:
        causes.append(
            field.invalid(f"{path}.{key}.target.averageUtilization", utilization, "must be greater than 0")
        )
    return causes
