"""ObjectMeta, labels, annotations and label selectors (apimachinery's `ValidateObjectMeta`).

`validate_object_meta` checks one object's metadata on create; `validate_object_meta_update`
adds the rules that compare against the stored object (name, namespace, uid stay fixed).
The name rule differs per kind, so the caller passes the name function (`name_is_dns_subdomain`
for most kinds, a DNS label for Namespaces, a DNS-1035 label for Services).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litekube.api.validation import field
from litekube.api.validation.field import Cause, GoValue
from litekube.api.validation.names import is_dns1123_label, is_qualified_name, is_valid_label_value

NameFunc = Callable[[str, bool], list[str]]

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_labels(labels: Any, path: str) -> list[Cause]:
    if not isinstance(labels, dict):
        return []
    causes: list[Cause] = []
    for k, v in labels.items():
        causes.extend(field.invalid(path, k, m) for m in is_qualified_name(k))
        if isinstance(v, str):
            causes.extend(field.invalid(path, v, m) for m in is_valid_label_value(v))
    return causes


def validate_annotations(annotations: Any, path: str) -> list[Cause]:
    if not isinstance(annotations, dict):
        return []
    causes: list[Cause] = []
    for k in annotations:
        # upstream lower-cases the key first: annotation keys may use capitals freely
        causes.extend(field.invalid(path, k, m) for m in is_qualified_name(k.lower()))
    total = sum(len(k) + len(v if isinstance(v, str) else "") for k, v in annotations.items())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(field.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return causes


def validate_object_meta(
    meta: Any, namespaced: bool, name_func: NameFunc, path: str = "metadata"
) -> list[Cause]:
    if not isinstance(meta, dict):
        return [field.required(path, "")]
    causes: list[Cause] = []
    name = meta.get("name") or ""
    generate_name = meta.get("generateName") or ""
    if generate_name:
        causes.extend(
            field.invalid(field.child(path, "generateName"), generate_name, m)
            for m in name_func(generate_name, True)
        )
    if not name:
        causes.append(field.required(field.child(path, "name"), "name or generateName is required"))
    else:
        causes.extend(field.invalid(field.child(path, "name"), name, m) for m in name_func(name, False))
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            causes.append(field.required(field.child(path, "namespace"), ""))
        else:
            causes.extend(
                field.invalid(field.child(path, "namespace"), namespace, m)
                for m in is_dns1123_label(namespace)
            )
    elif namespace:
        causes.append(field.forbidden(field.child(path, "namespace"), "not allowed on this type"))
    gen = meta.get("generation")
    causes.extend(field.non_negative(field.child(path, "generation"), gen))
    causes.extend(validate_labels(meta.get("labels"), field.child(path, "labels")))
    causes.extend(validate_annotations(meta.get("annotations"), field.child(path, "annotations")))
    causes.extend(
        _validate_owner_references(meta.get("ownerReferences"), field.child(path, "ownerReferences"))
    )
    causes.extend(_validate_finalizers(meta.get("finalizers"), field.child(path, "finalizers")))
    return causes


def _validate_owner_references(refs: Any, path: str) -> list[Cause]:
    if not isinstance(refs, list):
        return []
    causes: list[Cause] = []
    controllers: list[str] = []
    for ref in refs:
        if not isinstance(ref, dict):
            continue
        api_version = ref.get("apiVersion") or ""
        if not api_version:
            causes.append(
                field.invalid(field.child(path, "apiVersion"), api_version, "version must not be empty")
            )
        if not ref.get("kind"):
            causes.append(
                field.invalid(field.child(path, "kind"), ref.get("kind", ""), "kind must not be empty")
            )
        if not ref.get("name"):
            causes.append(
                field.invalid(field.child(path, "name"), ref.get("name", ""), "name must not be empty")
            )
        if not ref.get("uid"):
            causes.append(
                field.invalid(field.child(path, "uid"), ref.get("uid", ""), "uid must not be empty")
            )
        if ref.get("controller") is True:
            controllers.append(f"{ref.get('kind')}/{ref.get('name')}")
    if len(controllers) > 1:
        detail = 'Only one reference can have Controller set to true. Found "true" in references for '
        causes.append(
            field.invalid(
                path, GoValue("[]v1.OwnerReference{...}"), detail + "[" + " ".join(controllers) + "]"
            )
        )
    return causes


def _validate_finalizers(finalizers: Any, path: str) -> list[Cause]:
    if not isinstance(finalizers, list):
        return []
    causes: list[Cause] = []
    for f in finalizers:
        if isinstance(f, str):
            causes.extend(field.invalid(path, f, m) for m in is_qualified_name(f))
    return causes


def validate_object_meta_update(new: Any, old: Any, path: str = "metadata") -> list[Cause]:
    if not isinstance(new, dict) or not isinstance(old, dict):
        return []
    causes: list[Cause] = []
    # an update that leaves one out keeps the stored value (upstream's BeforeUpdate copies the
    # uid and creationTimestamp over, and the URL supplies name and namespace)
    for name in ("name", "namespace", "uid"):
        new_value = new.get(name)
        if new_value and new_value != old.get(name):
            causes.append(field.invalid(field.child(path, name), new_value, field.IMMUTABLE))
    return causes


def label_selector_go_text(selector: Any) -> str:
    """A *v1.LabelSelector as upstream prints it in errors: its gogo-protobuf `String()`."""
    if not isinstance(selector, dict):
        return "nil"
    match_labels: dict[str, Any] = selector.get("matchLabels") or {}
    labels_text = "".join(f"{k}: {match_labels[k]}," for k in sorted(match_labels))
    expressions: list[Any] = selector.get("matchExpressions") or []
    items = []
    for e in expressions:
        e = e if isinstance(e, dict) else {}
        values: list[Any] = e.get("values") or []
        items.append(
            f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
            f"Values:[{' '.join(str(v) for v in values)}],}},"
        )
    return (
        f"&LabelSelector{{MatchLabels:map[string]string{{{labels_text}}},"
        f"MatchExpressions:[]LabelSelectorRequirement{{{''.join(items)}}},}}"
    )


def label_selector_value(selector: Any) -> GoValue:
    return GoValue(label_selector_go_text(selector))


def labels_value(labels: Any) -> GoValue:
    """A map[string]string bad value: `%#v`, or the nil map when there are no labels."""
    if not isinstance(labels, dict) or labels is None:
        return GoValue("map[string]string(nil)")
    return GoValue(field.go_string_map({str(k): str(v) for k, v in labels.items()}))


def int_or_string_value(value: Any) -> GoValue:
    """An IntOrString prints through its `String()`: the text or the number, unquoted."""
    return GoValue(str(value))


def validate_label_selector(selector: Any, path: str) -> list[Cause]:
    if not isinstance(selector, dict):
        return []
    causes: list[Cause] = []
    expressions = selector.get("matchExpressions") or []
    for i, requirement in enumerate(expressions if isinstance(expressions, list) else []):
        req_path = field.index(field.child(path, "matchExpressions"), i)
        if not isinstance(requirement, dict):
            continue
        operator = requirement.get("operator", "")
        values = requirement.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                causes.append(
                    field.required(
                        field.child(req_path, "values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    )
                )
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                causes.append(
                    field.forbidden(
                        field.child(req_path, "values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            causes.append(
                field.invalid(field.child(req_path, "operator"), operator, "not a valid selector operator")
            )
        key = requirement.get("key", "")
        causes.extend(
            field.invalid(field.child(req_path, "key"), key, m) for m in is_qualified_name(str(key))
        )
    causes.extend(validate_labels(selector.get("matchLabels"), field.child(path, "matchLabels")))
    return causes


def selector_matches(selector: Any, labels: Any) -> bool:
    """Whether a LabelSelector selects an object with these labels (an empty selector selects all)."""
    labels = labels if isinstance(labels, dict) else {}
    if not isinstance(selector, dict):
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        if not isinstance(e, dict):
            return False
        k, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in values:
            return False
        if op == "NotIn" and k in labels and labels[k] in values:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def selector_is_empty(selector: Any) -> bool:
    if not isinstance(selector, dict):
        return True
    return not selector.get("matchLabels") and not selector.get("matchExpressions")
