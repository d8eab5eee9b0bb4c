"""Structural checks of generated manifests: what the API server would reject.

`problems(obj)` applies the validation rules our output can break (names, quantities,
probes, ports, mounts, selectors, rolling-update 0/0, pod-level resources, CronJob
schedules) and returns readable messages; `schema_problems(obj)` validates against the
upstream v1.36 JSON schemas shipped in the `kubernetes_validate` package (strict: no
unknown fields). Tests run both on every conversion; an empty list means "would apply".
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from litekube.ecs.names import (
    CONFIG_KEY,
    CRONJOB_NAME_MAX,
    DNS1035_LABEL,
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    IANA_SVC_NAME,
    is_qualified_name,
    label_value,
)

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
_PROBE_FIELDS = (
    "initialDelaySeconds",
    "periodSeconds",
    "timeoutSeconds",
    "successThreshold",
    "failureThreshold",
)
_POD_PATHS = {
    "Deployment": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def _quantity_value(text: str) -> float:
    match = re.match(r"^([0-9.]+)(.*)$", text)
    assert match
    number, suffix = float(match.group(1)), match.group(2)
    scale = {
        "": 1,
        "m": 0.001,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
        "T": 1e12,
    }
    return number * scale[suffix]


def problems(obj: dict[str, Any]) -> list[str]:
    found: list[str] = []
    kind = obj.get("kind", "")
    meta = obj.get("metadata", {})
    name = meta.get("name", "")
    where = f"{kind}/{name}"
    if kind == "Service":
        if not DNS1035_LABEL.match(name) or len(name) > 63:
            found.append(f"{where}: name is not a DNS-1035 label")
    elif kind == "CronJob":
        if not DNS1123_LABEL.match(name) or len(name) > CRONJOB_NAME_MAX:
            found.append(f"{where}: name must be a DNS label of at most {CRONJOB_NAME_MAX}")
    elif not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
        found.append(f"{where}: name is not a DNS-1123 subdomain")
    for key, value in meta.get("labels", {}).items():
        if not is_qualified_name(key) or label_value(value) is None:
            found.append(f"{where}: bad label {key}={value}")
    for key in meta.get("annotations", {}):
        if not is_qualified_name(key):
            found.append(f"{where}: bad annotation key {key}")
    path = _POD_PATHS.get(kind)
    if path:
        template: Any = obj
        for step in path:
            template = template[step]
        found += [f"{where}: {p}" for p in pod_problems(template, kind)]
        selector = obj["spec"].get("selector", {}).get("matchLabels")
        if selector and any(template["metadata"]["labels"].get(k) != v for k, v in selector.items()):
            found.append(f"{where}: selector does not match the template labels")
    if kind == "Deployment":
        rolling = obj["spec"].get("strategy", {}).get("rollingUpdate", {})
        if rolling and _zero(rolling.get("maxSurge")) and _zero(rolling.get("maxUnavailable")):
            found.append(f"{where}: maxSurge and maxUnavailable are both 0")
    if kind == "DaemonSet":
        rolling = obj["spec"].get("updateStrategy", {}).get("rollingUpdate", {})
        surge, unavailable = _zero(rolling.get("maxSurge", 0)), _zero(rolling.get("maxUnavailable", 1))
        if surge == unavailable:
            found.append(f"{where}: exactly one of maxSurge / maxUnavailable must be non-zero")
    if kind == "CronJob":
        found += _cronjob_problems(obj, where)
    if kind == "Service":
        ports = obj["spec"].get("ports", [])
        if obj["spec"].get("clusterIP") != "None" and not ports:
            found.append(f"{where}: a Service needs ports")
        if len(ports) > 1 and len({p.get("name") for p in ports}) != len(ports):
            found.append(f"{where}: several ports need unique names")
    if kind in ("Secret", "ConfigMap"):
        for key in [*obj.get("data", {}), *obj.get("stringData", {})]:
            if not CONFIG_KEY.match(key):
                found.append(f"{where}: bad data key {key}")
    return found


def _zero(value: object) -> bool:
    return value in (0, "0", "0%")


def _cronjob_problems(obj: dict[str, Any], where: str) -> list[str]:
    from croniter import croniter

    from litekube.ecs.schedule import valid_time_zone

    found = []
    spec = obj["spec"]
    if not croniter.is_valid(spec.get("schedule", "")):
        found.append(f"{where}: invalid schedule {spec.get('schedule')!r}")
    if "timeZone" in spec and not valid_time_zone(spec["timeZone"]):
        found.append(f"{where}: unknown time zone")
    return found


def pod_problems(template: dict[str, Any], kind: str) -> list[str]:
    found: list[str] = []
    spec = template["spec"]
    containers = spec.get("containers", [])
    inits = spec.get("initContainers", [])
    if not containers:
        found.append("no containers")
    names = [c.get("name", "") for c in [*inits, *containers]]
    if len(set(names)) != len(names):
        found.append(f"duplicate container names {names}")
    volumes = {v["name"] for v in spec.get("volumes", [])}
    if len(volumes) != len(spec.get("volumes", [])):
        found.append("duplicate volume names")
    for volume in volumes:
        if not DNS1123_LABEL.match(volume):
            found.append(f"volume name {volume!r} is not a DNS label")
    port_names: list[str] = []
    requests = {"cpu": 0.0, "memory": 0.0}
    for container in [*inits, *containers]:
        is_init = container in inits
        cname = container.get("name", "")
        if not DNS1123_LABEL.match(cname) or len(cname) > 63:
            found.append(f"container name {cname!r} is not a DNS label")
        if not container.get("image"):
            found.append(f"{cname}: no image")
        sidecar = container.get("restartPolicy") == "Always"
        if "restartPolicy" in container and (not is_init or not sidecar):
            found.append(f"{cname}: restartPolicy only allowed as Always on init containers")
        for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = container.get(probe_name)
            if probe is None:
                continue
            if is_init and not sidecar:
                found.append(f"{cname}: init containers may not have {probe_name}")
            missing = [f for f in _PROBE_FIELDS if f not in probe]
            if missing:
                found.append(f"{cname}.{probe_name}: timings not written out: {missing}")
            if any(probe.get(f, 1) < 1 for f in _PROBE_FIELDS[1:]):
                found.append(f"{cname}.{probe_name}: timing below 1")
            if probe_name != "readinessProbe" and probe.get("successThreshold", 1) != 1:
                found.append(f"{cname}.{probe_name}: successThreshold must be 1")
        for port in container.get("ports", []):
            if not 1 <= port.get("containerPort", 0) <= 65535:
                found.append(f"{cname}: bad containerPort")
            if "name" in port:
                if not IANA_SVC_NAME.match(port["name"]) or len(port["name"]) > 15 or "--" in port["name"]:
                    found.append(f"{cname}: bad port name {port['name']!r}")
                port_names.append(port["name"])
        resources = container.get("resources", {})
        for section in ("requests", "limits"):
            for resource, quantity in resources.get(section, {}).items():
                if not isinstance(quantity, str) or not _QUANTITY.match(quantity):
                    found.append(f"{cname}: bad quantity {resource}={quantity!r}")
        for resource in ("cpu", "memory"):
            request = resources.get("requests", {}).get(resource)
            limit = resources.get("limits", {}).get(resource)
            if request and limit and _quantity_value(request) > _quantity_value(limit):
                found.append(f"{cname}: {resource} request above its limit")
            if request and (not is_init or sidecar):
                requests[resource] += _quantity_value(request)
        mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
        if len(set(mounts)) != len(mounts):
            found.append(f"{cname}: duplicate mountPath")
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in volumes:
                found.append(f"{cname}: mounts unknown volume {mount['name']!r}")
        for env in container.get("env", []):
            if not env.get("name") or "=" in env["name"]:
                found.append(f"{cname}: bad env name")
    if len(set(port_names)) != len(port_names):
        found.append("duplicate port names in the pod")
    pod_resources = spec.get("resources", {})
    for resource, total in requests.items():
        pod_request = pod_resources.get("requests", {}).get(resource)
        if pod_request and _quantity_value(pod_request) < total:
            found.append(f"pod-level {resource} request below the containers' total")
    if kind in ("Job", "CronJob") and spec.get("restartPolicy") not in ("Never", "OnFailure"):
        found.append("Job pods need restartPolicy Never or OnFailure")
    sysctls = [s["name"] for s in spec.get("securityContext", {}).get("sysctls", [])]
    if len(set(sysctls)) != len(sysctls):
        found.append("duplicate sysctls")
    return found


@functools.cache
def _schema_registry() -> tuple[Path, Any]:
    import kubernetes_validate
    from referencing import Registry, Resource

    directory = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / "v1.36.0-local-strict"
    definitions = json.loads((directory / "_definitions.json").read_text())
    registry = Registry().with_resource(definitions["$id"], Resource.from_contents(definitions))
    return directory, registry


@functools.cache
def _validator(file_name: str) -> Any:
    from jsonschema import Draft202012Validator

    directory, registry = _schema_registry()
    schema = json.loads((directory / file_name).read_text())
    return Draft202012Validator(schema, registry=registry)


def schema_problems(obj: dict[str, Any]) -> list[str]:
    """Validation against the upstream v1.36 strict schema of the object's kind."""
    group_version = obj["apiVersion"]
    group, _, version = group_version.rpartition("/")
    file_name = f"{obj['kind'].lower()}-{group.split('.')[0] + '-' if group else ''}{version}.json"
    validator = _validator(file_name)
    where = f"{obj['kind']}/{obj['metadata']['name']}"
    return [
        f"{where}: {'.'.join(str(p) for p in error.absolute_path)}: {error.message[:200]}"
        for error in validator.iter_errors(obj)
    ]
