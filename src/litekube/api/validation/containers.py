"""One container's checks: name, image, ports, env, mounts, probes, resources.

Called by `pod.validate_pod_spec` once per container (regular, init and ephemeral). Field
paths and messages follow upstream's `validateContainers` in pkg/apis/core/validation.
"""

from __future__ import annotations

from typing import Any

from litekube.api.validation import field
from litekube.api.validation.field import Cause
from litekube.api.validation.names import (
    is_config_map_key,
    is_dns1123_label,
    is_env_var_name,
    is_qualified_name,
    is_valid_port_name,
    is_valid_port_num,
)
from litekube.api.validation.quantity import parse_quantity

PORT_PROTOCOLS = ("SCTP", "TCP", "UDP")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")
_ENV_FIELD_PATHS = (
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
_RESOURCE_FIELD_REFS = (
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
)
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def validate_container(
    container: dict[str, Any], path: str, volumes: set[str], *, probes_allowed: bool = True
) -> list[Cause]:
    causes: list[Cause] = []
    name = container.get("name") or ""
    if not name:
        causes.append(field.required(field.child(path, "name"), ""))
    else:
        causes.extend(field.invalid(field.child(path, "name"), name, m) for m in is_dns1123_label(name))
    if not container.get("image"):
        causes.append(field.required(field.child(path, "image"), ""))
    policy = container.get("imagePullPolicy")
    if not policy:
        causes.append(field.required(field.child(path, "imagePullPolicy"), ""))
    elif policy not in PULL_POLICIES:
        causes.append(field.not_supported(field.child(path, "imagePullPolicy"), policy, PULL_POLICIES))
    message_policy = container.get("terminationMessagePolicy")
    if not message_policy:
        causes.append(field.required(field.child(path, "terminationMessagePolicy"), ""))
    elif message_policy not in TERMINATION_MESSAGE_POLICIES:
        causes.append(
            field.not_supported(
                field.child(path, "terminationMessagePolicy"), message_policy, TERMINATION_MESSAGE_POLICIES
            )
        )
    causes.extend(validate_container_ports(container.get("ports"), field.child(path, "ports")))
    causes.extend(validate_env(container.get("env"), field.child(path, "env")))
    causes.extend(_validate_env_from(container.get("envFrom"), field.child(path, "envFrom")))
    causes.extend(
        validate_volume_mounts(container.get("volumeMounts"), field.child(path, "volumeMounts"), volumes)
    )
    causes.extend(validate_resources(container.get("resources"), field.child(path, "resources")))
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if probe is None:
            continue
        probe_path = field.child(path, probe_name)
        if not probes_allowed:
            causes.append(
                field.forbidden(probe_path, "may not be set for init containers without restartPolicy=Always")
            )
            continue
        causes.extend(validate_probe(probe, probe_path))
        if probe_name != "readinessProbe" and isinstance(probe, dict):
            success = probe.get("successThreshold")
            if isinstance(success, int) and success != 1:
                causes.append(
                    field.invalid(field.child(probe_path, "successThreshold"), success, "must be 1")
                )
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            handler = lifecycle.get(hook)
            if isinstance(handler, dict):
                causes.extend(
                    _validate_handler(handler, field.child(path, "lifecycle", hook), allow_sleep=True)
                )
    return causes


def validate_container_ports(ports: Any, path: str) -> list[Cause]:
    if not isinstance(ports, list):
        return []
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        port_path = field.index(path, i)
        if not isinstance(port, dict):
            continue
        name = port.get("name")
        if name:
            causes.extend(
                field.invalid(field.child(port_path, "name"), name, m) for m in is_valid_port_name(name)
            )
            if name in names:
                causes.append(field.duplicate(field.child(port_path, "name"), name))
            names.add(name)
        container_port = port.get("containerPort")
        if not container_port:
            causes.append(field.required(field.child(port_path, "containerPort"), ""))
        elif isinstance(container_port, int):
            causes.extend(
                field.invalid(field.child(port_path, "containerPort"), container_port, m)
                for m in is_valid_port_num(container_port)
            )
        host_port = port.get("hostPort")
        if isinstance(host_port, int) and host_port != 0:
            causes.extend(
                field.invalid(field.child(port_path, "hostPort"), host_port, m)
                for m in is_valid_port_num(host_port)
            )
        protocol = port.get("protocol")
        if not protocol:
            causes.append(field.required(field.child(port_path, "protocol"), ""))
        elif protocol not in PORT_PROTOCOLS:
            causes.append(field.not_supported(field.child(port_path, "protocol"), protocol, PORT_PROTOCOLS))
    return causes


def validate_env(env: Any, path: str) -> list[Cause]:
    if not isinstance(env, list):
        return []
    causes: list[Cause] = []
    for i, var in enumerate(env):
        var_path = field.index(path, i)
        if not isinstance(var, dict):
            continue
        name = var.get("name") or ""
        if not name:
            causes.append(field.required(field.child(var_path, "name"), ""))
        else:
            causes.extend(
                field.invalid(field.child(var_path, "name"), name, m) for m in is_env_var_name(name)
            )
        value_from = var.get("valueFrom")
        if value_from is not None:
            causes.extend(_validate_env_value_from(var, field.child(var_path, "valueFrom")))
    return causes


def _validate_env_value_from(var: dict[str, Any], path: str) -> list[Cause]:
    value_from = var.get("valueFrom")
    if not isinstance(value_from, dict):
        return []
    causes: list[Cause] = []
    sources = [
        k
        for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef")
        if value_from.get(k) is not None
    ]
    for source in sources:
        ref = value_from[source]
        ref_path = field.child(path, source)
        if not isinstance(ref, dict):
            continue
        if source == "fieldRef":
            causes.extend(_validate_object_field_selector(ref, ref_path))
        elif source == "resourceFieldRef":
            resource = ref.get("resource") or ""
            if not resource:
                causes.append(field.required(field.child(ref_path, "resource"), ""))
            elif resource not in _RESOURCE_FIELD_REFS:
                causes.append(
                    field.not_supported(field.child(ref_path, "resource"), resource, _RESOURCE_FIELD_REFS)
                )
        elif source in ("configMapKeyRef", "secretKeyRef"):
            if not ref.get("name"):
                causes.append(field.required(field.child(ref_path, "name"), ""))
            key = ref.get("key") or ""
            if not key:
                causes.append(field.required(field.child(ref_path, "key"), ""))
            else:
                causes.extend(
                    field.invalid(field.child(ref_path, "key"), key, m) for m in is_config_map_key(key)
                )
    if not sources:
        causes.append(
            field.invalid(
                path,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            )
        )
    elif len(sources) > 1:
        causes.append(field.invalid(path, "", "may not have more than one field specified at a time"))
    if var.get("value") and sources:
        causes.append(field.invalid(path, "", "may not be specified when `value` is not empty"))
    return causes


def _validate_object_field_selector(ref: dict[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    if not ref.get("apiVersion"):
        causes.append(field.required(field.child(path, "apiVersion"), ""))
    field_path = ref.get("fieldPath") or ""
    if not field_path:
        return [*causes, field.required(field.child(path, "fieldPath"), "")]
    # `metadata.labels['key']` addresses one label; the bare map is only for volumes
    base = field_path.split("[", 1)[0]
    if "[" in field_path:
        if base not in ("metadata.labels", "metadata.annotations") or not field_path.endswith("']"):
            causes.append(
                field.invalid(field.child(path, "fieldPath"), field_path, "error converting fieldPath")
            )
    elif base not in _ENV_FIELD_PATHS or base in ("metadata.labels", "metadata.annotations"):
        supported = [p for p in _ENV_FIELD_PATHS if p not in ("metadata.labels", "metadata.annotations")]
        causes.append(field.not_supported(field.child(path, "fieldPath"), field_path, supported))
    return causes


def _validate_env_from(env_from: Any, path: str) -> list[Cause]:
    if not isinstance(env_from, list):
        return []
    causes: list[Cause] = []
    for i, source in enumerate(env_from):
        source_path = field.index(path, i)
        if not isinstance(source, dict):
            continue
        refs = [k for k in ("configMapRef", "secretRef") if source.get(k) is not None]
        if not refs:
            causes.append(
                field.invalid(source_path, "", "must specify one of: `configMapRef` or `secretRef`")
            )
        elif len(refs) > 1:
            causes.append(
                field.invalid(source_path, "", "may not have more than one field specified at a time")
            )
        for ref_name in refs:
            ref = source[ref_name]
            if isinstance(ref, dict) and not ref.get("name"):
                causes.append(field.required(field.child(source_path, ref_name, "name"), ""))
    return causes


def validate_volume_mounts(mounts: Any, path: str, volumes: set[str]) -> list[Cause]:
    if not isinstance(mounts, list):
        return []
    causes: list[Cause] = []
    mount_paths: set[str] = set()
    for i, mount in enumerate(mounts):
        mount_path = field.index(path, i)
        if not isinstance(mount, dict):
            continue
        name = mount.get("name") or ""
        if not name:
            causes.append(field.required(field.child(mount_path, "name"), ""))
        elif name not in volumes:
            causes.append(field.not_found(field.child(mount_path, "name"), name))
        target = mount.get("mountPath") or ""
        if not target:
            causes.append(field.required(field.child(mount_path, "mountPath"), ""))
        elif target in mount_paths:
            causes.append(field.invalid(field.child(mount_path, "mountPath"), target, "must be unique"))
        mount_paths.add(target)
        sub_path = mount.get("subPath") or ""
        if sub_path:
            causes.extend(_validate_local_descending_path(sub_path, field.child(mount_path, "subPath")))
    return causes


def _validate_local_descending_path(target: str, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if target.startswith("/"):
        causes.append(field.invalid(path, target, "must be a relative path"))
    if ".." in target.split("/"):
        causes.append(field.invalid(path, target, "must not contain '..'"))
    return causes


def validate_probe(probe: Any, path: str) -> list[Cause]:
    if not isinstance(probe, dict):
        return []
    causes = _validate_handler(probe, path, allow_sleep=False)
    for name in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        causes.extend(field.non_negative(field.child(path, name), probe.get(name)))
    grace = probe.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace <= 0:
        causes.append(
            field.invalid(field.child(path, "terminationGracePeriodSeconds"), grace, "must be greater than 0")
        )
    return causes


def _validate_handler(handler: dict[str, Any], path: str, *, allow_sleep: bool) -> list[Cause]:
    kinds = [*_PROBE_HANDLERS, "sleep"] if allow_sleep else list(_PROBE_HANDLERS)
    present = [k for k in kinds if handler.get(k) is not None]
    if not present:
        return [field.required(path, "must specify a handler type")]
    causes: list[Cause] = []
    for extra in present[1:]:
        causes.append(field.forbidden(field.child(path, extra), "may not specify more than 1 handler type"))
    kind = present[0]
    action = handler[kind]
    action_path = field.child(path, kind)
    if not isinstance(action, dict):
        return causes
    if kind == "exec":
        if not action.get("command"):
            causes.append(field.required(field.child(action_path, "command"), ""))
    elif kind in ("httpGet", "tcpSocket"):
        causes.extend(validate_port_num_or_name(action.get("port"), field.child(action_path, "port")))
        if kind == "httpGet":
            scheme = action.get("scheme")
            if scheme not in ("HTTP", "HTTPS"):
                causes.append(
                    field.not_supported(field.child(action_path, "scheme"), scheme or "", ("HTTP", "HTTPS"))
                )
            for j, header in enumerate(action.get("httpHeaders") or []):
                header_name = header.get("name", "") if isinstance(header, dict) else ""
                header_path = field.child(field.index(field.child(action_path, "httpHeaders"), j), "name")
                if not _is_http_header_name(header_name):
                    causes.append(
                        field.invalid(
                            header_path,
                            header_name,
                            "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')",
                        )
                    )
    elif kind == "grpc":
        port = action.get("port")
        if isinstance(port, int):
            causes.extend(
                field.invalid(field.child(action_path, "port"), port, m) for m in is_valid_port_num(port)
            )
    return causes


def _is_http_header_name(name: str) -> bool:
    return bool(name) and all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in name)


def validate_port_num_or_name(port: Any, path: str) -> list[Cause]:
    if isinstance(port, bool) or port is None:
        return [field.required(path, "")]
    if isinstance(port, int):
        return [field.invalid(path, port, m) for m in is_valid_port_num(port)]
    if isinstance(port, str):
        if not port:
            return [field.required(path, "")]
        return [field.invalid(path, port, m) for m in is_valid_port_name(port)]
    return [field.invalid(path, str(port), "must be an integer or a port name")]


def _validate_resource_name(name: str, path: str) -> list[Cause]:
    causes = [field.invalid(path, name, m) for m in is_qualified_name(name)]
    if causes or name in _STANDARD_CONTAINER_RESOURCES or name.startswith("hugepages-"):
        return causes
    if "/" not in name:
        # an unprefixed name is reserved for Kubernetes; extended resources carry a domain
        return [field.invalid(path, name, "must be a standard resource for containers")]
    return []


def validate_resources(resources: Any, path: str) -> list[Cause]:
    if not isinstance(resources, dict):
        return []
    causes: list[Cause] = []
    limits: dict[str, Any] = resources.get("limits") or {}
    requests: dict[str, Any] = resources.get("requests") or {}
    if not isinstance(limits, dict) or not isinstance(requests, dict):
        return []
    limits_path = field.child(path, "limits")
    requests_path = field.child(path, "requests")
    for name, value in limits.items():
        causes.extend(_validate_quantity(name, value, field.key(limits_path, name)))
    for name, value in requests.items():
        key_path = field.key(requests_path, name)
        causes.extend(_validate_quantity(name, value, key_path))
        if name not in limits:
            continue
        request_q, limit_q = parse_quantity(value), parse_quantity(limits[name])
        if request_q is None or limit_q is None:
            continue
        overcommit = not (
            name.startswith("hugepages-") or ("/" in name and not name.startswith("kubernetes.io/"))
        )
        if not overcommit and request_q != limit_q:
            causes.append(
                field.invalid(requests_path, str(value), f"must be equal to {name} limit of {limits[name]}")
            )
        elif request_q > limit_q:
            causes.append(
                field.invalid(
                    requests_path, str(value), f"must be less than or equal to {name} limit of {limits[name]}"
                )
            )
    return causes


def _validate_quantity(name: str, value: Any, path: str) -> list[Cause]:
    causes = _validate_resource_name(name, path)
    quantity = parse_quantity(value)
    if quantity is None:
        causes.append(
            field.invalid(
                path,
                str(value),
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            )
        )
    elif quantity < 0:
        causes.append(field.invalid(path, str(value), "must be greater than or equal to 0"))
    return causes
