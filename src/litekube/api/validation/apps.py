"""Deployments, ReplicaSets, DaemonSets, StatefulSets, ReplicationControllers, ControllerRevisions.

Each `validate_<kind>_spec` follows the order of upstream's checks so that multi-error
messages list causes in the same order a real API server does. Update rules (immutable
selectors, StatefulSet's frozen fields) live in `validate_<kind>_update`.
"""

from __future__ import annotations

from typing import Any

from litekube.api.validation import field
from litekube.api.validation.field import Cause, GoValue
from litekube.api.validation.meta import (
    int_or_string_value,
    label_selector_value,
    labels_value,
    selector_is_empty,
    selector_matches,
    validate_label_selector,
)
from litekube.api.validation.names import is_valid_percent
from litekube.api.validation.pod import validate_pod_template_spec

_PERCENT_OR_INT = "must be an integer or percentage (e.g '5%')"


def _percent_value(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and is_valid_percent(value):
        return int(value[:-1])
    return 0


def validate_positive_int_or_percent(value: Any, path: str) -> list[Cause]:
    if value is None:
        return []
    if isinstance(value, str):
        causes = []
        if not is_valid_percent(value):
            causes.append(field.invalid(path, int_or_string_value(value), _PERCENT_OR_INT))
        return causes + field.non_negative(path, _percent_value(value))
    return field.non_negative(path, value)


def _not_more_than_100_percent(value: Any, path: str) -> list[Cause]:
    if isinstance(value, str) and is_valid_percent(value) and int(value[:-1]) > 100:
        return [field.invalid(path, int_or_string_value(value), "must not be greater than 100%")]
    return []


def _validate_selector(spec: dict[str, Any], path: str, kind: str) -> list[Cause]:
    selector = spec.get("selector")
    selector_path = field.child(path, "selector")
    if selector is None:
        return [field.required(selector_path, "")]
    causes = validate_label_selector(selector, selector_path)
    if selector_is_empty(selector):
        causes.append(
            field.invalid(
                selector_path, label_selector_value(selector), f"empty selector is invalid for {kind}"
            )
        )
    return causes


def _validate_template_for_replicas(template: Any, selector: Any, path: str, owner: str) -> list[Cause]:
    """`ValidatePodTemplateSpecForReplicaSet`: labels match, template valid, restartPolicy Always."""
    if not isinstance(template, dict):
        return [field.required(path, "")]
    causes: list[Cause] = []
    labels = (template.get("metadata") or {}).get("labels")
    if not selector_is_empty(selector) and not selector_matches(selector, labels):
        causes.append(
            field.invalid(
                field.child(path, "metadata", "labels"),
                labels_value(labels),
                "`selector` does not match template `labels`",
            )
        )
    causes.extend(validate_pod_template_spec(template, path))
    causes.extend(_always_restart(template, path, owner))
    return causes


def _always_restart(template: dict[str, Any], path: str, owner: str) -> list[Cause]:
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    causes: list[Cause] = []
    policy = spec.get("restartPolicy")
    if policy and policy != "Always":
        causes.append(field.not_supported(field.child(path, "spec", "restartPolicy"), policy, ("Always",)))
    if spec.get("activeDeadlineSeconds") is not None:
        causes.append(
            field.forbidden(
                field.child(path, "spec", "activeDeadlineSeconds"),
                f"activeDeadlineSeconds in {owner} is not Supported",
            )
        )
    return causes


def validate_deployment_spec(spec: Any, path: str = "spec") -> list[Cause]:
    if not isinstance(spec, dict):
        return [field.required(path, "")]
    causes = field.non_negative(field.child(path, "replicas"), spec.get("replicas"))
    causes.extend(_validate_selector(spec, path, "deployment"))
    causes.extend(
        _validate_template_for_replicas(
            spec.get("template"), spec.get("selector"), field.child(path, "template"), "ReplicaSet"
        )
    )
    causes.extend(_validate_deployment_strategy(spec.get("strategy"), field.child(path, "strategy")))
    min_ready = spec.get("minReadySeconds") or 0
    causes.extend(field.non_negative(field.child(path, "minReadySeconds"), min_ready))
    causes.extend(
        field.non_negative(field.child(path, "revisionHistoryLimit"), spec.get("revisionHistoryLimit"))
    )
    deadline = spec.get("progressDeadlineSeconds")
    if isinstance(deadline, int):
        causes.extend(field.non_negative(field.child(path, "progressDeadlineSeconds"), deadline))
        if isinstance(min_ready, int) and deadline <= min_ready:
            causes.append(
                field.invalid(
                    field.child(path, "progressDeadlineSeconds"),
                    deadline,
                    "must be greater than minReadySeconds",
                )
            )
    return causes


def _validate_deployment_strategy(strategy: Any, path: str) -> list[Cause]:
    if not isinstance(strategy, dict):
        return []
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            return [
                field.forbidden(
                    field.child(path, "rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            ]
        return []
    if kind == "RollingUpdate":
        if not isinstance(rolling, dict):
            return [
                field.required(
                    field.child(path, "rollingUpdate"), "this should be defaulted and never be nil"
                )
            ]
        unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
        rolling_path = field.child(path, "rollingUpdate")
        causes = validate_positive_int_or_percent(unavailable, field.child(rolling_path, "maxUnavailable"))
        causes.extend(validate_positive_int_or_percent(surge, field.child(rolling_path, "maxSurge")))
        if _percent_value(unavailable) == 0 and _percent_value(surge) == 0:
            causes.append(
                field.invalid(
                    field.child(rolling_path, "maxUnavailable"),
                    int_or_string_value(unavailable),
                    "may not be 0 when `maxSurge` is 0",
                )
            )
        causes.extend(_not_more_than_100_percent(unavailable, field.child(rolling_path, "maxUnavailable")))
        return causes
    return [field.not_supported(field.child(path, "type"), kind or "", ("Recreate", "RollingUpdate"))]


def validate_replica_set_spec(spec: Any, path: str = "spec") -> list[Cause]:
    if not isinstance(spec, dict):
        return [field.required(path, "")]
    causes = field.non_negative(field.child(path, "replicas"), spec.get("replicas"))
    causes.extend(field.non_negative(field.child(path, "minReadySeconds"), spec.get("minReadySeconds")))
    causes.extend(_validate_selector(spec, path, "deployment"))  # upstream's wording, for ReplicaSets too
    causes.extend(
        _validate_template_for_replicas(
            spec.get("template"), spec.get("selector"), field.child(path, "template"), "ReplicaSet"
        )
    )
    return causes


def validate_replication_controller_spec(spec: Any, path: str = "spec") -> list[Cause]:
    if not isinstance(spec, dict):
        return [field.required(path, "")]
    causes = field.non_negative(field.child(path, "minReadySeconds"), spec.get("minReadySeconds"))
    selector = spec.get("selector")
    if not selector:
        causes.append(field.required(field.child(path, "selector"), ""))
    causes.extend(field.non_negative(field.child(path, "replicas"), spec.get("replicas")))
    template = spec.get("template")
    template_path = field.child(path, "template")
    if not isinstance(template, dict):
        causes.append(field.required(template_path, ""))
        return causes
    labels = (template.get("metadata") or {}).get("labels")
    if selector and not selector_matches({"matchLabels": selector}, labels):
        causes.append(
            field.invalid(
                field.child(template_path, "metadata", "labels"),
                labels_value(labels),
                "`selector` does not match template `labels`",
            )
        )
    causes.extend(validate_pod_template_spec(template, template_path))
    causes.extend(_always_restart(template, template_path, "ReplicationController"))
    return causes


def validate_daemon_set_spec(spec: Any, path: str = "spec") -> list[Cause]:
    if not isinstance(spec, dict):
        return [field.required(path, "")]
    selector = spec.get("selector")
    selector_path = field.child(path, "selector")
    causes: list[Cause] = []
    if selector is None:
        causes.append(field.required(selector_path, ""))
    else:
        causes.extend(validate_label_selector(selector, selector_path))
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    assert isinstance(template, dict)
    template_path = field.child(path, "template")
    labels = (template.get("metadata") or {}).get("labels")
    if selector is not None and not selector_matches(selector, labels):
        causes.append(
            field.invalid(
                field.child(template_path, "metadata", "labels"),
                labels_value(labels),
                "`selector` does not match template `labels`",
            )
        )
    if selector is not None and selector_is_empty(selector):
        causes.append(
            field.invalid(
                selector_path, label_selector_value(selector), "empty selector is invalid for daemonset"
            )
        )
    causes.extend(validate_pod_template_spec(template, template_path))
    template_spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    assert isinstance(template_spec, dict)
    policy = template_spec.get("restartPolicy")
    if policy and policy != "Always":
        causes.append(
            field.not_supported(field.child(template_path, "spec", "restartPolicy"), policy, ("Always",))
        )
    deadline = template_spec.get("activeDeadlineSeconds")
    if deadline is not None:
        causes.append(
            field.invalid(
                field.child(template_path, "spec", "activeDeadlineSeconds"),
                deadline,
                "activeDeadlineSeconds in DaemonSet is not Supported",
            )
        )
    causes.extend(field.non_negative(field.child(path, "minReadySeconds"), spec.get("minReadySeconds")))
    causes.extend(
        _validate_daemon_set_strategy(spec.get("updateStrategy"), field.child(path, "updateStrategy"))
    )
    causes.extend(
        field.non_negative(field.child(path, "revisionHistoryLimit"), spec.get("revisionHistoryLimit"))
    )
    return causes


def _validate_daemon_set_strategy(strategy: Any, path: str) -> list[Cause]:
    if not isinstance(strategy, dict):
        return []
    kind = strategy.get("type")
    if kind == "OnDelete":
        return []
    if kind != "RollingUpdate":
        text = f"apps.DaemonSetUpdateStrategy{{Type:{field.go_quote(str(kind or ''))}, RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}}"
        return [field.not_supported(path, GoValue(text), ("RollingUpdate", "OnDelete"))]
    rolling = strategy.get("rollingUpdate")
    rolling_path = field.child(path, "rollingUpdate")
    if not isinstance(rolling, dict):
        return [field.required(rolling_path, "")]
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    unavailable_path, surge_path = (
        field.child(rolling_path, "maxUnavailable"),
        field.child(rolling_path, "maxSurge"),
    )
    causes = validate_positive_int_or_percent(unavailable, unavailable_path)
    causes.extend(validate_positive_int_or_percent(surge, surge_path))
    causes.extend(_not_more_than_100_percent(unavailable, unavailable_path))
    causes.extend(_not_more_than_100_percent(surge, surge_path))
    has_unavailable = _percent_value(unavailable) != 0
    has_surge = _percent_value(surge) != 0
    if has_unavailable and has_surge:
        causes.append(
            field.invalid(
                surge_path, int_or_string_value(surge), "may not be set when maxUnavailable is non-zero"
            )
        )
    elif not has_unavailable and not has_surge:
        causes.append(field.required(unavailable_path, "cannot be 0 when maxSurge is 0"))
    return causes


def validate_stateful_set_spec(spec: Any, path: str = "spec") -> list[Cause]:
    if not isinstance(spec, dict):
        return [field.required(path, "")]
    causes: list[Cause] = []
    policy = spec.get("podManagementPolicy")
    if not policy:
        causes.append(field.required(field.child(path, "podManagementPolicy"), ""))
    elif policy not in ("OrderedReady", "Parallel"):
        causes.append(
            field.invalid(
                field.child(path, "podManagementPolicy"), policy, "must be 'OrderedReady' or 'Parallel'"
            )
        )
    strategy = spec.get("updateStrategy") if isinstance(spec.get("updateStrategy"), dict) else {}
    assert isinstance(strategy, dict)
    strategy_path = field.child(path, "updateStrategy")
    kind = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if not kind:
        causes.append(field.required(strategy_path, ""))
    elif kind == "OnDelete":
        if rolling is not None:
            causes.append(
                field.invalid(
                    field.child(strategy_path, "rollingUpdate"),
                    GoValue("&apps.RollingUpdateStatefulSetStrategy{...}"),
                    "only allowed for updateStrategy 'RollingUpdate'",
                )
            )
    elif kind == "RollingUpdate":
        if isinstance(rolling, dict):
            rolling_path = field.child(strategy_path, "rollingUpdate")
            causes.extend(
                field.non_negative(field.child(rolling_path, "partition"), rolling.get("partition"))
            )
            unavailable = rolling.get("maxUnavailable")
            if unavailable is not None:
                causes.extend(
                    validate_positive_int_or_percent(unavailable, field.child(rolling_path, "maxUnavailable"))
                )
                if _percent_value(unavailable) == 0:
                    causes.append(
                        field.invalid(
                            field.child(rolling_path, "maxUnavailable"),
                            int_or_string_value(unavailable),
                            "must be greater than 0",
                        )
                    )
                causes.extend(
                    _not_more_than_100_percent(unavailable, field.child(rolling_path, "maxUnavailable"))
                )
    else:
        text = f"apps.StatefulSetUpdateStrategy{{Type:{field.go_quote(str(kind))}, RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}}"
        causes.append(field.invalid(strategy_path, GoValue(text), "must be 'RollingUpdate' or 'OnDelete'"))
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if isinstance(retention, dict):
        retention_path = field.child(path, "persistentVolumeClaimRetentionPolicy")
        for name in ("whenDeleted", "whenScaled"):
            value = retention.get(name)
            if value not in ("Retain", "Delete"):
                causes.append(
                    field.not_supported(field.child(retention_path, name), value or "", ("Retain", "Delete"))
                )
    causes.extend(field.non_negative(field.child(path, "replicas"), spec.get("replicas")))
    causes.extend(field.non_negative(field.child(path, "minReadySeconds"), spec.get("minReadySeconds")))
    ordinals = spec.get("ordinals")
    if isinstance(ordinals, dict):
        causes.extend(field.non_negative(field.child(path, "ordinals", "start"), ordinals.get("start")))
    causes.extend(_validate_selector(spec, path, "statefulset"))
    template = spec.get("template")
    template_path = field.child(path, "template")
    if isinstance(template, dict):
        labels = (template.get("metadata") or {}).get("labels")
        selector = spec.get("selector")
        if (
            selector is not None
            and not selector_is_empty(selector)
            and not selector_matches(selector, labels)
        ):
            causes.append(
                field.invalid(
                    field.child(template_path, "metadata", "labels"),
                    labels_value(labels),
                    "`selector` does not match template `labels`",
                )
            )
        causes.extend(validate_pod_template_spec(template, template_path))
        causes.extend(_always_restart(template, template_path, "StatefulSet"))
    else:
        causes.append(field.required(template_path, ""))
    causes.extend(
        field.non_negative(field.child(path, "revisionHistoryLimit"), spec.get("revisionHistoryLimit"))
    )
    return causes


_STATEFUL_SET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


def validate_stateful_set_update(new: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
    new_spec = {k: v for k, v in (new.get("spec") or {}).items() if k not in _STATEFUL_SET_MUTABLE}
    old_spec = {k: v for k, v in (old.get("spec") or {}).items() if k not in _STATEFUL_SET_MUTABLE}
    if new_spec != old_spec:
        return [
            field.forbidden(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
                "'minReadySeconds' are forbidden",
            )
        ]
    return []


def validate_selector_immutable(new: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
    new_selector = (new.get("spec") or {}).get("selector")
    old_selector = (old.get("spec") or {}).get("selector")
    if _normalized_selector(new_selector) == _normalized_selector(old_selector):
        return []
    return [field.invalid("spec.selector", label_selector_value(new_selector), field.IMMUTABLE)]


def _normalized_selector(selector: Any) -> Any:
    if not isinstance(selector, dict):
        return selector
    return {k: v for k, v in selector.items() if v}


def validate_controller_revision(obj: dict[str, Any]) -> list[Cause]:
    revision = obj.get("revision")
    return field.non_negative("revision", revision)
