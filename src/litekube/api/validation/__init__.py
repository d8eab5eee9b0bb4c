"""Validation of API objects with upstream's field paths, reasons and messages.

Flow: `validate(obj, old)` looks up the kind by apiVersion/kind, checks the metadata with
the kind's name rule (`meta.py`), then the kind's body (`pod.py`, `apps.py`, `batch.py`,
`service.py`, `networking.py`, `core.py`), and for updates the rules that compare with the
stored object (immutable fields). It expects an object that `apply_defaults` has already
filled in, as the real API server validates after defaulting.

`invalid_status(kind, group, name, causes)` turns the causes into the 422 `Status` body that
`errors.NewInvalid` builds, with the same one-line message kubectl prints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litekube.api.resources import by_kind
from litekube.api.validation import apps, batch, core, field, networking, service
from litekube.api.validation.field import Cause, GoValue, go_quote
from litekube.api.validation.meta import NameFunc, validate_object_meta, validate_object_meta_update
from litekube.api.validation.names import name_is_dns1035_label, name_is_dns_label, name_is_dns_subdomain
from litekube.api.validation.pod import validate_pod_spec, validate_pod_template_spec, validate_pod_update

__all__ = ["Cause", "invalid_status", "validate"]

Obj = dict[str, Any]
_BodyValidator = Callable[[Obj], list[Cause]]
_UpdateValidator = Callable[[Obj, Obj], list[Cause]]


def _spec(check: Callable[[Any, str], list[Cause]]) -> _BodyValidator:
    return lambda obj: check(obj.get("spec"), "spec")


def _cron_job(obj: Obj) -> list[Cause]:
    return batch.validate_cron_job(obj, None)


def _pod_template(obj: Obj) -> list[Cause]:
    return validate_pod_template_spec(obj.get("template"), "template")


_BODY: dict[tuple[str, str], _BodyValidator] = {
    ("v1", "Pod"): _spec(validate_pod_spec),
    ("v1", "PodTemplate"): _pod_template,
    ("v1", "Service"): service.validate_service,
    ("v1", "Namespace"): core.validate_namespace,
    ("v1", "ConfigMap"): core.validate_config_map,
    ("v1", "Secret"): core.validate_secret,
    ("v1", "Endpoints"): core.validate_endpoints,
    ("v1", "Node"): core.validate_node,
    ("v1", "Event"): core.validate_core_event,
    ("v1", "ReplicationController"): _spec(apps.validate_replication_controller_spec),
    ("apps/v1", "Deployment"): _spec(apps.validate_deployment_spec),
    ("apps/v1", "ReplicaSet"): _spec(apps.validate_replica_set_spec),
    ("apps/v1", "DaemonSet"): _spec(apps.validate_daemon_set_spec),
    ("apps/v1", "StatefulSet"): _spec(apps.validate_stateful_set_spec),
    ("apps/v1", "ControllerRevision"): apps.validate_controller_revision,
    ("batch/v1", "Job"): batch.validate_job,
    ("batch/v1", "CronJob"): _cron_job,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): core.validate_hpa,
    ("networking.k8s.io/v1", "Ingress"): networking.validate_ingress,
    ("networking.k8s.io/v1", "IngressClass"): networking.validate_ingress_class,
    ("discovery.k8s.io/v1", "EndpointSlice"): core.validate_endpoint_slice,
    ("coordination.k8s.io/v1", "Lease"): core.validate_lease,
    ("events.k8s.io/v1", "Event"): core.validate_events_v1_event,
}


def _config_map_update(new: Obj, old: Obj) -> list[Cause]:
    return core.validate_immutable_data_update(new, old, ("data", "binaryData"))


def _cron_job_update(new: Obj, old: Obj) -> list[Cause]:
    # the create checks already ran; only the TZ-in-schedule allowance depends on the old object
    return [c for c in batch.validate_cron_job(new, old) if c not in batch.validate_cron_job(new, None)]


_UPDATE: dict[tuple[str, str], _UpdateValidator] = {
    ("v1", "Pod"): validate_pod_update,
    ("v1", "Service"): service.validate_service_update,
    ("v1", "ConfigMap"): _config_map_update,
    ("v1", "Secret"): core.validate_secret_update,
    ("apps/v1", "Deployment"): apps.validate_selector_immutable,
    ("apps/v1", "ReplicaSet"): apps.validate_selector_immutable,
    ("apps/v1", "DaemonSet"): apps.validate_selector_immutable,
    ("apps/v1", "StatefulSet"): apps.validate_stateful_set_update,
    ("batch/v1", "Job"): batch.validate_job_update,
    ("batch/v1", "CronJob"): _cron_job_update,
    ("networking.k8s.io/v1", "IngressClass"): networking.validate_ingress_class_update,
}

_NAME_RULES: dict[str, NameFunc] = {
    "Namespace": name_is_dns_label,
    "Service": name_is_dns1035_label,
}


def validate(obj: Obj, old: Obj | None = None) -> list[Cause]:
    """All validation failures of `obj` (a create when `old` is None, else an update)."""
    api_version = obj.get("apiVersion") or ""
    kind = obj.get("kind") or ""
    resource = by_kind(api_version, kind)
    namespaced = resource.namespaced if resource is not None else True
    name_rule = _NAME_RULES.get(kind, name_is_dns_subdomain)
    causes: list[Cause] = []
    try:
        if old is not None:
            causes.extend(validate_object_meta_update(obj.get("metadata"), old.get("metadata")))
        causes.extend(validate_object_meta(obj.get("metadata"), namespaced, name_rule))
        body = _BODY.get((api_version, kind))
        if body is not None:
            causes.extend(body(obj))
        if old is not None:
            update = _UPDATE.get((api_version, kind))
            if update is not None:
                causes.extend(update(obj, old))
    except (TypeError, AttributeError, ValueError, KeyError):
        # A field holds the wrong JSON type. Upstream rejects such a body while decoding,
        # before validation runs; the checks here assume the schema's types, so report it
        # as one cause rather than fail the request.
        causes.append(field.type_invalid("", GoValue(kind or "object"), _WRONG_TYPE))
    return causes


_WRONG_TYPE = "a field does not have the type the schema requires"


def invalid_status(kind: str, group: str, name: str, causes: list[Cause]) -> dict[str, Any]:
    """The 422 Status body of `errors.NewInvalid` for these causes."""
    qualified = f"{kind}.{group}" if group else kind
    # the message lists each distinct error once (ToAggregate), the causes keep every one
    unique: list[str] = []
    for cause in causes:
        text = str(cause)
        if text not in unique:
            unique.append(text)
    message = f"{qualified} {go_quote(name)} is invalid"
    if len(unique) == 1:
        message += ": " + unique[0]
    elif unique:
        message += ": [" + ", ".join(unique) + "]"
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Invalid",
        "details": details,
        "code": 422,
    }
