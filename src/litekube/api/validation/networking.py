"""Ingresses and IngressClasses (networking.k8s.io/v1)."""

from __future__ import annotations

import ipaddress
from typing import Any

from litekube.api.validation import field
from litekube.api.validation.field import Cause, GoValue
from litekube.api.validation.names import (
    is_dns1035_label,
    is_dns1123_subdomain,
    is_valid_port_name,
    is_valid_port_num,
    is_wildcard_dns1123_subdomain,
)

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
_INVALID_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_SUFFIXES = ("/..", "/.")


def validate_ingress(obj: dict[str, Any]) -> list[Cause]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    causes: list[Cause] = []
    rules = spec.get("rules") or []
    if not rules and spec.get("defaultBackend") is None:
        causes.append(
            field.invalid(
                "spec",
                GoValue("[]networking.IngressRule(nil)"),
                "either `defaultBackend` or `rules` must be specified",
            )
        )
    if isinstance(spec.get("defaultBackend"), dict):
        causes.extend(_validate_backend(spec["defaultBackend"], "spec.defaultBackend"))
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if isinstance(rule, dict):
            causes.extend(_validate_rule(rule, f"spec.rules[{i}]"))
    for i, tls in enumerate(spec.get("tls") or []):
        if not isinstance(tls, dict):
            continue
        for j, host in enumerate(tls.get("hosts") or []):
            check = is_wildcard_dns1123_subdomain if "*" in host else is_dns1123_subdomain
            causes.extend(field.invalid(f"spec.tls[{i}].hosts[{j}]", host, m) for m in check(host))
        secret = tls.get("secretName") or ""
        if secret:
            causes.extend(
                field.invalid(f"spec.tls[{i}].secretName", secret, m) for m in is_dns1123_subdomain(secret)
            )
    class_name = spec.get("ingressClassName")
    if class_name is not None:
        causes.extend(
            field.invalid("spec.ingressClassName", class_name, m) for m in is_dns1123_subdomain(class_name)
        )
    return causes


def _validate_rule(rule: dict[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    host = rule.get("host") or ""
    if host:
        try:
            ipaddress.ip_address(host)
            causes.append(field.invalid(f"{path}.host", host, "must be a DNS name, not an IP address"))
        except ValueError:
            pass
        check = is_wildcard_dns1123_subdomain if "*" in host else is_dns1123_subdomain
        causes.extend(field.invalid(f"{path}.host", host, m) for m in check(host))
    http = rule.get("http")
    if isinstance(http, dict):
        paths = http.get("paths") or []
        if not paths:
            causes.append(field.required(f"{path}.http.paths", ""))
        for i, item in enumerate(paths):
            if isinstance(item, dict):
                causes.extend(_validate_path(item, f"{path}.http.paths[{i}]"))
    return causes


def _validate_path(item: dict[str, Any], path: str) -> list[Cause]:
    path_type = item.get("pathType")
    if path_type is None:
        return [field.required(f"{path}.pathType", "pathType must be specified")]
    text = item.get("path") or ""
    causes: list[Cause] = []
    if path_type in ("Exact", "Prefix"):
        if not text.startswith("/"):
            causes.append(field.invalid(f"{path}.path", text, "must be an absolute path"))
        if text:
            causes.extend(
                field.invalid(f"{path}.path", text, f"must not contain '{s}'")
                for s in _INVALID_SEQUENCES
                if s in text
            )
            causes.extend(
                field.invalid(f"{path}.path", text, f"cannot end with '{s}'")
                for s in _INVALID_SUFFIXES
                if text.endswith(s)
            )
    elif path_type == "ImplementationSpecific":
        if text and not text.startswith("/"):
            causes.append(field.invalid(f"{path}.path", text, "must be an absolute path"))
    else:
        causes.append(field.not_supported(f"{path}.pathType", path_type, PATH_TYPES))
    backend = item.get("backend")
    causes.extend(_validate_backend(backend if isinstance(backend, dict) else {}, f"{path}.backend"))
    return causes


def _validate_backend(backend: dict[str, Any], path: str) -> list[Cause]:
    resource, service = backend.get("resource"), backend.get("service")
    if resource is not None and service is not None:
        return [field.invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        causes = []
        if isinstance(resource, dict):
            if not resource.get("kind"):
                causes.append(field.required(f"{path}.resource.kind", ""))
            if not resource.get("name"):
                causes.append(field.required(f"{path}.resource.name", ""))
        return causes
    if not isinstance(service, dict):
        return [field.invalid(path, "", "resource or service backend is required")]
    causes = []
    name = service.get("name") or ""
    if not name:
        causes.append(field.required(f"{path}.service.name", ""))
    else:
        causes.extend(field.invalid(f"{path}.service.name", name, m) for m in is_dns1035_label(name))
    port = service.get("port") if isinstance(service.get("port"), dict) else {}
    assert isinstance(port, dict)
    port_name, number = port.get("name") or "", port.get("number") or 0
    if port_name and number:
        causes.append(field.invalid(path, "", "cannot set both port name & port number"))
    elif port_name:
        causes.extend(
            field.invalid(f"{path}.service.port.name", port_name, m) for m in is_valid_port_name(port_name)
        )
    elif number:
        causes.extend(
            field.invalid(f"{path}.service.port.number", number, m) for m in is_valid_port_num(number)
        )
    else:
        causes.append(field.required(path, "port name or number is required"))
    return causes


def validate_ingress_class(obj: dict[str, Any]) -> list[Cause]:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    controller = spec.get("controller") or ""
    if not controller:
        return [field.required("spec.controller", "")]
    if len(controller) > 250:
        return [field.too_long("spec.controller", 250)]
    return []


def validate_ingress_class_update(new: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
    new_controller = (new.get("spec") or {}).get("controller")
    old_controller = (old.get("spec") or {}).get("controller")
    return field.immutable("spec.controller", new_controller, old_controller)
