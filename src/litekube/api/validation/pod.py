"""Pod specs, Pods, pod templates and the Pod update rules.

`validate_pod_spec` is shared by bare Pods and by every workload's template; the workload
validators add their own template rules (restart policy, selector match) on top.
"""

from __future__ import annotations

from typing import Any

from litekube.api.validation import field
from litekube.api.validation.containers import validate_container
from litekube.api.validation.field import Cause
from litekube.api.validation.meta import validate_annotations, validate_labels
from litekube.api.validation.names import is_dns1123_label, is_dns1123_subdomain
from litekube.api.validation.volumes import validate_volumes

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
TOLERATION_OPERATORS = ("Equal", "Exists")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_MAX_INT32 = 2**31 - 1


def validate_pod_spec(spec: Any, path: str) -> list[Cause]:
    if not isinstance(spec, dict):
        return [field.required(path, "")]
    causes: list[Cause] = []
    volumes, volume_causes = validate_volumes(spec.get("volumes"), field.child(path, "volumes"))
    causes.extend(volume_causes)
    causes.extend(_validate_all_containers(spec, path, volumes))
    restart_policy = spec.get("restartPolicy")
    if not restart_policy:
        causes.append(field.required(field.child(path, "restartPolicy"), ""))
    elif restart_policy not in RESTART_POLICIES:
        causes.append(
            field.not_supported(field.child(path, "restartPolicy"), restart_policy, RESTART_POLICIES)
        )
    dns_policy = spec.get("dnsPolicy")
    if not dns_policy:
        causes.append(field.required(field.child(path, "dnsPolicy"), ""))
    elif dns_policy not in DNS_POLICIES:
        causes.append(field.not_supported(field.child(path, "dnsPolicy"), dns_policy, DNS_POLICIES))
    elif dns_policy == "None" and not spec.get("dnsConfig"):
        causes.append(
            field.required(
                field.child(path, "dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None"
            )
        )
    causes.extend(validate_labels(spec.get("nodeSelector"), field.child(path, "nodeSelector")))
    for name in ("serviceAccountName", "nodeName", "priorityClassName", "schedulerName"):
        value = spec.get(name)
        if value:
            causes.extend(
                field.invalid(field.child(path, name), value, m) for m in is_dns1123_subdomain(value)
            )
    for name in ("hostname", "subdomain"):
        value = spec.get(name)
        if value:
            causes.extend(field.invalid(field.child(path, name), value, m) for m in is_dns1123_label(value))
    deadline = spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int) and not 1 <= deadline <= _MAX_INT32:
        causes.append(
            field.invalid(
                field.child(path, "activeDeadlineSeconds"),
                deadline,
                f"must be between 1 and {_MAX_INT32}, inclusive",
            )
        )
    causes.extend(
        field.non_negative(
            field.child(path, "terminationGracePeriodSeconds"), spec.get("terminationGracePeriodSeconds")
        )
    )
    causes.extend(validate_tolerations(spec.get("tolerations"), field.child(path, "tolerations")))
    causes.extend(
        _validate_pod_security_context(spec.get("securityContext"), field.child(path, "securityContext"))
    )
    causes.extend(
        _validate_image_pull_secrets(spec.get("imagePullSecrets"), field.child(path, "imagePullSecrets"))
    )
    return causes


def _validate_all_containers(spec: dict[str, Any], path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[str] = set()
    containers = spec.get("containers")
    containers_path = field.child(path, "containers")
    groups = [("initContainers", spec.get("initContainers")), ("containers", containers)]
    groups.append(("ephemeralContainers", spec.get("ephemeralContainers")))
    for group_name, group in groups:
        if not isinstance(group, list):
            continue
        group_path = field.child(path, group_name)
        for i, container in enumerate(group):
            item_path = field.index(group_path, i)
            if not isinstance(container, dict):
                continue
            # init containers may only probe when they run as sidecars (restartPolicy Always)
            sidecar = container.get("restartPolicy") == "Always"
            causes.extend(
                validate_container(
                    container, item_path, volumes, probes_allowed=group_name != "initContainers" or sidecar
                )
            )
            name = container.get("name")
            if name:
                if name in seen:
                    causes.append(field.duplicate(field.child(item_path, "name"), name))
                seen.add(name)
            policy = container.get("restartPolicy")
            if (
                policy is not None
                and group_name == "containers"
                and policy not in ("Always", "Never", "OnFailure")
            ):
                causes.append(
                    field.not_supported(field.child(item_path, "restartPolicy"), policy, RESTART_POLICIES)
                )
            elif policy is not None and group_name == "initContainers" and policy != "Always":
                causes.append(
                    field.not_supported(field.child(item_path, "restartPolicy"), policy, ("Always",))
                )
    if containers is not None and not isinstance(containers, list):
        causes.append(
            field.type_invalid(containers_path, field.GoValue(type(containers).__name__), "must be a list")
        )
    elif not containers:
        causes.append(field.required(containers_path, ""))
    return causes


def validate_tolerations(tolerations: Any, path: str) -> list[Cause]:
    if not isinstance(tolerations, list):
        return []
    causes: list[Cause] = []
    for i, toleration in enumerate(tolerations):
        item_path = field.index(path, i)
        if not isinstance(toleration, dict):
            continue
        key = toleration.get("key") or ""
        operator = toleration.get("operator") or ""
        if key:
            from litekube.api.validation.names import is_qualified_name

            causes.extend(
                field.invalid(field.child(item_path, "key"), key, m) for m in is_qualified_name(key)
            )
        elif operator != "Exists":
            causes.append(
                field.invalid(
                    field.child(item_path, "operator"),
                    operator,
                    'operator must be Exists when `key` is empty, which means "match all values and all keys"',
                )
            )
        effect = toleration.get("effect") or ""
        seconds = toleration.get("tolerationSeconds")
        if seconds is not None and effect != "NoExecute":
            causes.append(
                field.invalid(
                    field.child(item_path, "effect"),
                    effect,
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if operator in ("", "Equal"):
            pass
        elif operator == "Exists":
            if toleration.get("value"):
                causes.append(
                    field.invalid(
                        field.child(item_path, "operator"),
                        toleration.get("value"),
                        "value must be empty when `operator` is 'Exists'",
                    )
                )
        else:
            causes.append(
                field.not_supported(field.child(item_path, "operator"), operator, TOLERATION_OPERATORS)
            )
        if effect and effect not in TAINT_EFFECTS:
            causes.append(field.not_supported(field.child(item_path, "effect"), effect, TAINT_EFFECTS))
    return causes


def _validate_pod_security_context(context: Any, path: str) -> list[Cause]:
    if not isinstance(context, dict):
        return []
    causes: list[Cause] = []
    for name in ("runAsUser", "runAsGroup", "fsGroup"):
        value = context.get(name)
        if isinstance(value, int) and not 0 <= value <= _MAX_INT32:
            causes.append(
                field.invalid(
                    field.child(path, name), value, f"must be between 0 and {_MAX_INT32}, inclusive"
                )
            )
    return causes


def _validate_image_pull_secrets(secrets: Any, path: str) -> list[Cause]:
    if not isinstance(secrets, list):
        return []
    return [
        field.required(field.child(field.index(path, i), "name"), "")
        for i, secret in enumerate(secrets)
        if isinstance(secret, dict) and not secret.get("name")
    ]


def validate_pod_template_spec(template: Any, path: str) -> list[Cause]:
    """A template's metadata (labels, annotations) and spec."""
    if not isinstance(template, dict):
        return [field.required(path, "")]
    causes: list[Cause] = []
    meta = template.get("metadata") or {}
    meta_path = field.child(path, "metadata")
    causes.extend(validate_labels(meta.get("labels"), field.child(meta_path, "labels")))
    causes.extend(validate_annotations(meta.get("annotations"), field.child(meta_path, "annotations")))
    causes.extend(validate_pod_spec(template.get("spec"), field.child(path, "spec")))
    return causes


_UPDATABLE_POD_FIELDS = (
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def validate_pod_update(new: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
    """A Pod's spec is fixed after create, except images, the deadline and added tolerations."""
    new_spec = new.get("spec") or {}
    old_spec = old.get("spec") or {}
    causes: list[Cause] = []
    old_deadline = old_spec.get("activeDeadlineSeconds")
    new_deadline = new_spec.get("activeDeadlineSeconds")
    if old_deadline is not None and (new_deadline is None or new_deadline > old_deadline):
        causes.append(
            field.invalid(
                "spec.activeDeadlineSeconds", new_deadline, "must be less than or equal to previous value"
            )
        )
    old_tolerations = old_spec.get("tolerations") or []
    new_tolerations = new_spec.get("tolerations") or []
    for toleration in old_tolerations:
        if toleration not in new_tolerations:
            causes.append(
                field.forbidden(
                    "spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"
                )
            )
            break
    # compare everything else with the updatable parts copied over from the new spec
    mutated = dict(old_spec)
    for name in ("activeDeadlineSeconds", "tolerations"):
        if name in new_spec:
            mutated[name] = new_spec[name]
        else:
            mutated.pop(name, None)
    for group in ("containers", "initContainers"):
        old_group = old_spec.get(group)
        new_group = new_spec.get(group)
        if isinstance(old_group, list) and isinstance(new_group, list) and len(old_group) == len(new_group):
            mutated[group] = [
                {**o, "image": n.get("image")} if isinstance(o, dict) and isinstance(n, dict) else o
                for o, n in zip(old_group, new_group, strict=True)
            ]
    if mutated != new_spec:
        causes.append(
            field.forbidden("spec", "pod updates may not change fields other than " + _UPDATABLE_POD_FIELDS)
        )
    return causes
