"""A container's environment, as upstream's `makeEnvironmentVariables` builds it (pure).

Order of precedence (later wins): service-link variables, then `envFrom` sources in order
(with their `prefix`), then `env` entries in order. `env[].value` may use `$(VAR)` to refer
to variables defined before it (service links, envFrom, earlier env); `$$` escapes.
The image's own Env comes first and is overridden by any of these (`merge_image_env`).

Missing references raise `ConfigError` with upstream's messages, which become the
waiting reason CreateContainerConfigError:
    configmap "app-config" not found
    couldn't find key DB_HOST in ConfigMap default/app-config
    secret "db" not found / couldn't find key password in Secret default/db
`optional: true` references are skipped instead. Secret values are base64 in `data`.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from litekube.node.kubelet.resources import quantity
from litekube.node.runtime.types import expand

JSON = dict[str, Any]

# upstream's IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]*
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class ConfigError(Exception):
    """A container cannot be configured; str() is the waiting message."""


@dataclass
class EnvSources:
    """Objects the environment may read, fetched by the pod worker beforehand (None = missing)."""

    configmaps: dict[str, JSON | None] = field(default_factory=dict)
    secrets: dict[str, JSON | None] = field(default_factory=dict)
    services: list[JSON] = field(default_factory=list)  # the pod's namespace, plus default/kubernetes
    host_ip: str = ""
    pod_ip: str = ""
    node_allocatable: JSON = field(default_factory=dict)


def referenced_objects(container: JSON) -> tuple[set[str], set[str]]:
    """Names of the ConfigMaps and Secrets a container's env and envFrom use."""
    configmaps: set[str] = set()
    secrets: set[str] = set()
    for source in container.get("envFrom") or ():
        if source.get("configMapRef"):
            configmaps.add(source["configMapRef"].get("name", ""))
        if source.get("secretRef"):
            secrets.add(source["secretRef"].get("name", ""))
    for var in container.get("env") or ():
        value_from = var.get("valueFrom") or {}
        if value_from.get("configMapKeyRef"):
            configmaps.add(value_from["configMapKeyRef"].get("name", ""))
        if value_from.get("secretKeyRef"):
            secrets.add(value_from["secretKeyRef"].get("name", ""))
    return configmaps, secrets


def _service_env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def service_env(services: list[JSON], namespace: str, enable_service_links: bool) -> dict[str, str]:
    """Docker-link-style variables for services (upstream's getServiceEnvVarMap).

    Example: service web-app-service, ClusterIP 10.96.0.20, port 80 named http →
    WEB_APP_SERVICE_SERVICE_HOST=10.96.0.20, WEB_APP_SERVICE_SERVICE_PORT=80,
    WEB_APP_SERVICE_SERVICE_PORT_HTTP=80, WEB_APP_SERVICE_PORT=tcp://10.96.0.20:80,
    WEB_APP_SERVICE_PORT_80_TCP=tcp://10.96.0.20:80 and its _PROTO/_PORT/_ADDR parts.
    """
    chosen: dict[str, JSON] = {}
    for service in services:
        meta = service.get("metadata") or {}
        spec = service.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None":
            continue
        name = meta.get("name", "")
        service_ns = meta.get("namespace") or "default"
        is_master = service_ns == "default" and name == "kubernetes"
        if service_ns == namespace and (enable_service_links or is_master):
            chosen[name] = service
        elif is_master and name not in chosen:
            chosen[name] = service
    env: dict[str, str] = {}
    for name in sorted(chosen):
        spec = chosen[name].get("spec") or {}
        ip = spec["clusterIP"]
        ports = spec.get("ports") or []
        if not ports:
            continue
        prefix = _service_env_name(name)
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port"))
        for port in ports:
            if port.get("name"):
                env[f"{prefix}_SERVICE_PORT_{_service_env_name(port['name'])}"] = str(port.get("port"))
        first = ports[0]
        env[f"{prefix}_PORT"] = f"{(first.get('protocol') or 'TCP').lower()}://{ip}:{first.get('port')}"
        for port in ports:
            protocol = port.get("protocol") or "TCP"
            base = f"{prefix}_PORT_{port.get('port')}_{protocol.upper()}"
            env[base] = f"{protocol.lower()}://{ip}:{port.get('port')}"
            env[f"{base}_PROTO"] = protocol.lower()
            env[f"{base}_PORT"] = str(port.get("port"))
            env[f"{base}_ADDR"] = ip
    return env


def _format_map(values: Mapping[str, str]) -> str:
    # Downward API rendering of labels/annotations: key="value" lines, sorted.
    return "\n".join(f'{k}="{values[k]}"' for k in sorted(values))


def field_ref_value(pod: JSON, path: str, host_ip: str, pod_ip: str) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace") or "default",
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
    }
    if path in simple:
        return str(simple[path])
    if path == "metadata.labels":
        return _format_map(meta.get("labels") or {})
    if path == "metadata.annotations":
        return _format_map(meta.get("annotations") or {})
    match = re.match(r"^metadata\.(labels|annotations)\['(.*)'\]$", path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    raise ConfigError(f"unsupported fieldRef path: {path}")


def resource_field_value(pod: JSON, container_name: str, ref: JSON, node_allocatable: JSON) -> str:
    """requests/limits of a container divided by `divisor`, rounded up (upstream's
    ExtractContainerResourceValue); an unset limit reads as the node's allocatable."""
    spec = pod.get("spec") or {}
    name = ref.get("containerName") or container_name
    containers = [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]
    container = next((c for c in containers if c.get("name") == name), None)
    if container is None:
        raise ConfigError(f"container {name} not found in pod")
    kind, _, resource = str(ref.get("resource", "")).partition(".")
    resources = container.get("resources") or {}
    raw = (resources.get(kind) or {}).get(resource)
    if raw is None and kind == "requests":
        raw = (resources.get("limits") or {}).get(resource)
    if raw is None:
        raw = node_allocatable.get(resource)
    value = quantity(raw) if raw is not None else None
    if value is None:
        return "0"
    divisor = quantity(ref.get("divisor") or "1") or 1
    return str(math.ceil(value / divisor))


def _decode_secret(secret: JSON, key: str) -> str | None:
    data = secret.get("data") or {}
    if key in data:
        return base64.b64decode(data[key]).decode(errors="replace")
    string_data = secret.get("stringData") or {}
    return string_data.get(key)


def _object_keys(obj: JSON, kind: str) -> dict[str, str]:
    if kind == "Secret":
        return {k: _decode_secret(obj, k) or "" for k in (obj.get("data") or {})}
    return {**{k: str(v) for k, v in (obj.get("data") or {}).items()}}


def container_env(pod: JSON, container: JSON, sources: EnvSources) -> list[tuple[str, str]]:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    namespace = meta.get("namespace") or "default"
    enable_links = spec.get("enableServiceLinks", True) is not False
    env: dict[str, str] = {}
    links = service_env(sources.services, namespace, enable_links)
    for source in container.get("envFrom") or ():
        prefix = source.get("prefix") or ""
        if source.get("configMapRef"):
            ref, kind, store = source["configMapRef"], "ConfigMap", sources.configmaps
        elif source.get("secretRef"):
            ref, kind, store = source["secretRef"], "Secret", sources.secrets
        else:
            continue
        obj = store.get(ref.get("name", ""))
        if obj is None:
            if ref.get("optional"):
                continue
            raise ConfigError(f'{kind.lower()} "{ref.get("name", "")}" not found')
        for key, value in _object_keys(obj, kind).items():
            name = prefix + key
            if _ENV_NAME.match(name):  # upstream skips (and reports) invalid names
                env[name] = value
    for var in container.get("env") or ():
        name = var.get("name", "")
        if "valueFrom" not in var:
            # $(VAR) sees everything defined so far, then the service links.
            env[name] = expand(str(var.get("value") or ""), {**links, **env})
            continue
        value_from = var["valueFrom"] or {}
        if value_from.get("fieldRef"):
            path = value_from["fieldRef"].get("fieldPath", "")
            env[name] = field_ref_value(pod, path, sources.host_ip, sources.pod_ip)
        elif value_from.get("resourceFieldRef"):
            env[name] = resource_field_value(
                pod, container.get("name", ""), value_from["resourceFieldRef"], sources.node_allocatable
            )
        elif value_from.get("configMapKeyRef") or value_from.get("secretKeyRef"):
            is_cm = bool(value_from.get("configMapKeyRef"))
            ref = value_from["configMapKeyRef"] if is_cm else value_from["secretKeyRef"]
            kind = "ConfigMap" if is_cm else "Secret"
            obj = (sources.configmaps if is_cm else sources.secrets).get(ref.get("name", ""))
            key = ref.get("key", "")
            if obj is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'{kind.lower()} "{ref.get("name", "")}" not found')
            found = (
                (obj.get("data") or {}).get(key, (obj.get("binaryData") or {}).get(key))
                if is_cm
                else _decode_secret(obj, key)
            )
            if found is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f"couldn't find key {key} in {kind} {namespace}/{ref.get('name', '')}")
            env[name] = str(found)
    # Service links fill in what the container did not define itself.
    result = dict(env)
    for name, value in links.items():
        result.setdefault(name, value)
    return list(result.items())


def merge_image_env(image_env: list[str], env: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The image's Env first (overridden by the container's), then the container's own."""
    ours = dict(env)
    merged: list[tuple[str, str]] = []
    seen: set[str] = set()
    for entry in image_env:
        name, _, value = entry.partition("=")
        if name in seen:
            continue
        seen.add(name)
        merged.append((name, ours.get(name, value)))
    merged += [(name, value) for name, value in env if name not in seen]
    return merged
