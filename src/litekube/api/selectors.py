"""Label and field selectors, with apimachinery's grammar, matching rules and messages.

Label selectors (`?labelSelector=`) go through a small lexer and a recursive-descent
parser, as upstream's `labels.Parse`: the text is cut into tokens (identifiers, `=`, `==`,
`!=`, `!`, `(`, `)`, `,`, `in`, `notin`, `<`, `>`); a requirement is `key`, `!key`,
`key op value` or `key in|notin (v1,v2)`; requirements are ANDed and kept sorted by key.
Keys and values are validated as label keys/values, and errors read like upstream's so
that kubectl users see familiar text. `selector_from_spec` builds the same structure from a
`metav1.LabelSelector` dict (matchLabels/matchExpressions), and `format_label_selector`
prints it back the way `metav1.FormatLabelSelector` does.

Field selectors (`?fieldSelector=`) are `field=value`, `field==value` or `field!=value`
terms separated by unescaped commas (`\\,`, `\\=` and `\\\\` escape). Each field must be one
the kind registers upstream, otherwise the message is `field label not supported: <field>`
(the apiserver answers it as 400 BadRequest). Matching reads the same flattened field
values upstream's `GetAttrs` functions expose, e.g. a pod's `spec.hostNetwork` as "true" or
"false".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from litekube.api.resources import ResourceType


class SelectorError(ValueError):
    """An unparsable or invalid selector; the message is upstream's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------
# Label keys and values (k8s.io/apimachinery/pkg/util/validation)

_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_RE = re.compile(f"^{_QUALIFIED_NAME_FMT}$")
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_LABEL_VALUE_FMT = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN_FMT}$")
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = "".join(("" if i == 0 else " or ") + f"'{e}', " for i, e in enumerate(examples))
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def qualified_name_errors(value: str) -> list[str]:
    """validation.IsQualifiedName: `[prefix/]name`, prefix a DNS subdomain, name at most 63 chars."""
    errors: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                errors.append("prefix part must be no more than 253 characters")
            if not _DNS1123_SUBDOMAIN_RE.match(prefix):
                errors.append(
                    "prefix part "
                    + _regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com")
                )
    else:
        return [
            "a qualified name "
            + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME_RE.match(name):
        errors.append(
            "name part "
            + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    errors: list[str] = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.match(value):
        errors.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def _go_quote(value: object) -> str:
    """%q of a string, or Go's %#v-ish rendering of a []string, as field.Invalid prints values."""
    if isinstance(value, list):
        return "[]string{" + ", ".join(_go_quote(v) for v in value) + "}"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _invalid(path: str, value: object, detail: str) -> str:
    return f"{path}: Invalid value: {_go_quote(value)}: {detail}"


def _aggregate(errors: list[str]) -> str | None:
    if not errors:
        return None
    if len(errors) == 1:
        return errors[0]
    return "[" + ", ".join(errors) + "]"


# ---------------------------------------------------------------------------------------
# Requirements and selectors

EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
IN, NOT_IN, EXISTS, DOES_NOT_EXIST = "in", "notin", "exists", "!"
GREATER_THAN, LESS_THAN = "gt", "lt"


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        op = self.operator
        if op in (EQUALS, DOUBLE_EQUALS, IN):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_EQUALS, NOT_IN):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        # gt / lt: both sides must be integers, and the label must be there
        if self.key not in labels or len(self.values) != 1:
            return False
        try:
            have, want = int(labels[self.key]), int(self.values[0])
        except ValueError:
            return False
        return have > want if op == GREATER_THAN else have < want

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        # values print sorted, as upstream normalises them on output
        joined = ",".join(sorted(self.values))
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({joined})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{joined}"


@dataclass(frozen=True)
class LabelSelector:
    """ANDed requirements; `nothing` is the nil selector (matches no object)."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def empty(self) -> bool:
        """True when the selector selects everything (no requirements)."""
        return not self.nothing and not self.requirements

    def matches(self, labels: dict[str, str] | None) -> bool:
        if self.nothing:
            return False
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = LabelSelector()
NOTHING = LabelSelector(nothing=True)


def new_requirement(key: str, operator: str, values: Iterable[str], path: str = "") -> Requirement:
    """labels.NewRequirement: validate the key, the value count for the operator and each value."""
    vals = list(values)
    errors: list[str] = []
    prefix = f"{path}." if path else ""
    if key_errors := qualified_name_errors(key):
        errors.append(_invalid(prefix + "key", key, "; ".join(key_errors)))
    values_path = prefix + "values"
    if operator in (IN, NOT_IN):
        if not vals:
            errors.append(
                _invalid(values_path, vals, "for 'in', 'notin' operators, values set can't be empty")
            )
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errors.append(_invalid(values_path, vals, "exact-match compatibility requires one single value"))
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errors.append(
                _invalid(values_path, vals, "values set must be empty for exists and does not exist")
            )
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errors.append(
                _invalid(values_path, vals, "for 'Gt', 'Lt' operators, exactly one value is required")
            )
        for i, v in enumerate(vals):
            try:
                int(v, 10)
            except ValueError:
                errors.append(
                    _invalid(
                        f"{values_path}[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer"
                    )
                )
    else:
        errors.append(
            f'{prefix}operator: Unsupported value: "{operator}": supported values: '
            '"in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!"'
        )
    for i, v in enumerate(vals):
        if value_errors := label_value_errors(v):
            errors.append(_invalid(f"{values_path}[{i}][{key}]", v, "; ".join(value_errors)))
    if message := _aggregate(errors):
        raise SelectorError(message)
    return Requirement(key, operator, tuple(vals))


def _sorted(requirements: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return tuple(sorted(requirements, key=lambda r: r.key))


# ---------------------------------------------------------------------------------------
# The label selector string grammar

_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
# Token kinds; identifiers and "end" are separate from symbol literals.
_IDENT, _END, _ERROR = "identifier", "end", "error"
_SYMBOLS = frozenset({")", ",", "!", "==", "=", ">", "<", "!=", "("})
_KEYWORDS = frozenset({"in", "notin"})
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"


def _lex(text: str) -> list[tuple[str, str]]:
    """Cut a selector into (kind, literal) tokens, as upstream's Lexer does."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n:
            tokens.append((_END, ""))
            return tokens
        if text[i] in _SPECIAL:
            # longest run of special characters that is still a known symbol
            buffer, last = "", ""
            while i < n and text[i] in _SPECIAL:
                candidate = buffer + text[i]
                if candidate in _SYMBOLS:
                    buffer, last = candidate, candidate
                    i += 1
                elif last:
                    break
                else:
                    buffer = candidate
                    i += 1
            if not last:
                tokens.append((_ERROR, f"error expected: keyword found '{buffer}'"))
            else:
                tokens.append((last, last))
            continue
        start = i
        while i < n and text[i] not in _SPECIAL and text[i] not in _WHITESPACE:
            i += 1
        word = text[start:i]
        tokens.append((word if word in _KEYWORDS else _IDENT, word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.position = 0

    def lookahead(self, values: bool = True) -> tuple[str, str]:
        kind, literal = self.tokens[self.position]
        # where values are expected, `in` and `notin` are plain identifiers
        if values and kind in _KEYWORDS:
            kind = _IDENT
        return kind, literal

    def consume(self, values: bool = True) -> tuple[str, str]:
        token = self.lookahead(values)
        if self.position < len(self.tokens) - 1:
            self.position += 1
        return token

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, literal = self.lookahead()
            if kind in (_IDENT, "!"):
                try:
                    requirements.append(self.requirement())
                except SelectorError as err:
                    raise SelectorError(f"unable to parse requirement: {err.message}") from None
                kind, literal = self.consume()
                if kind == _END:
                    return requirements
                if kind != ",":
                    raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
                after, after_literal = self.lookahead()
                if after not in (_IDENT, "!"):
                    raise SelectorError(f"found '{after_literal}', expected: identifier after ','")
            elif kind == _END:
                return requirements
            else:
                raise SelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        operator = ""
        kind, literal = self.consume()
        if kind == "!":
            operator = DOES_NOT_EXIST
            kind, literal = self.consume()
        if kind != _IDENT:
            raise SelectorError(f"found '{literal}', expected: identifier")
        key = literal
        if key_errors := qualified_name_errors(key):
            raise SelectorError(_invalid("<nil>", key, "; ".join(key_errors)))
        if operator == DOES_NOT_EXIST:
            return new_requirement(key, DOES_NOT_EXIST, [])
        if self.lookahead()[0] in (_END, ","):
            return new_requirement(key, EXISTS, [])
        op_kind, op_literal = self.consume(values=False)
        operators = {"in": IN, "notin": NOT_IN, "=": EQUALS, "==": DOUBLE_EQUALS, "!=": NOT_EQUALS}
        operators |= {">": GREATER_THAN, "<": LESS_THAN}
        if op_kind not in operators:
            raise SelectorError(f"found '{op_literal}', expected: {_BINARY_OPERATORS}")
        op = operators[op_kind]
        values = self.value_set() if op in (IN, NOT_IN) else self.exact_value()
        return new_requirement(key, op, sorted(values))

    def value_set(self) -> set[str]:
        kind, literal = self.consume()
        if kind != "(":
            raise SelectorError(f"found '{literal}' expected: '('")
        kind, literal = self.lookahead()
        if kind in (_IDENT, ","):
            values = self.identifier_list()
            if self.consume()[0] != ")":
                raise SelectorError(f"found '{literal}', expected: ')'")
            return values
        if kind == ")":
            self.consume()
            return {""}
        raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")

    def identifier_list(self) -> set[str]:
        values: set[str] = set()
        while True:
            kind, literal = self.consume()
            if kind == _IDENT:
                values.add(literal)
                after, after_literal = self.lookahead()
                if after == ",":
                    continue
                if after == ")":
                    return values
                raise SelectorError(f"found '{after_literal}', expected: ',' or ')'")
            if kind == ",":
                if not values:
                    values.add("")  # "(,"
                after = self.lookahead()[0]
                if after == ")":
                    values.add("")  # ",)"
                    return values
                if after == ",":
                    self.consume()
                    values.add("")  # ",,"
                continue
            raise SelectorError(f"found '{literal}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        if self.lookahead()[0] in (_END, ","):
            return {""}
        kind, literal = self.consume()
        if kind == _IDENT:
            return {literal}
        raise SelectorError(f"found '{literal}', expected: identifier")


def parse_label_selector(text: str) -> LabelSelector:
    """Parse `?labelSelector=` text; an empty string selects everything."""
    if not text.strip():
        return EVERYTHING
    return LabelSelector(_sorted(_Parser(text).parse()))


_SPEC_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def selector_from_spec(spec: dict[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelectorAsSelector: nil selects nothing, `{}` selects everything."""
    if spec is None:
        return NOTHING
    match_labels = spec.get("matchLabels") or {}
    expressions = spec.get("matchExpressions") or []
    if not match_labels and not expressions:
        return EVERYTHING
    requirements = [new_requirement(k, EQUALS, [v]) for k, v in match_labels.items()]
    for expression in expressions:
        operator = expression.get("operator", "")
        if operator not in _SPEC_OPERATORS:
            raise SelectorError(f'"{operator}" is not a valid label selector operator')
        values = list(expression.get("values") or [])
        requirements.append(
            new_requirement(str(expression.get("key", "")), _SPEC_OPERATORS[operator], values)
        )
    return LabelSelector(_sorted(requirements))


def format_label_selector(spec: dict[str, Any] | None) -> str:
    """metav1.FormatLabelSelector: the selector string, `<none>` when it is empty or nil."""
    try:
        text = str(selector_from_spec(spec))
    except SelectorError:
        return "<error>"
    return text or "<none>"


# ---------------------------------------------------------------------------------------
# Field selectors


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    value: str
    negated: bool = False


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()
    fields_of: Callable[[dict[str, Any]], dict[str, str]] = field(default=lambda obj: {}, compare=False)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: dict[str, Any]) -> bool:
        if not self.requirements:
            return True
        values = self.fields_of(obj)
        for r in self.requirements:
            # fields the kind accepts but does not expose read as "" (upstream's fields.Set.Get)
            if (values.get(r.field, "") == r.value) == r.negated:
                return False
        return True

    def __str__(self) -> str:
        def escape(value: str) -> str:
            return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")

        return ",".join(f"{r.field}{'!=' if r.negated else '='}{escape(r.value)}" for r in self.requirements)


def _split_terms(text: str) -> list[str]:
    terms: list[str] = []
    start, escaped = 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def _unescape(value: str) -> str:
    if not any(c in value for c in "\\,="):
        return value
    out: list[str] = []
    escaped = False
    for ch in value:
        if escaped:
            if ch not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: {ch}")
        else:
            out.append(ch)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(rt: ResourceType, text: str) -> FieldSelector:
    """Parse `?fieldSelector=` for one resource type; unknown fields are rejected as upstream does."""
    requirements: list[FieldRequirement] = []
    for part in sorted(_split_terms(text)) if text else []:
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        requirements.append(FieldRequirement(lhs, _unescape(rhs), negated=op == "!="))
    supported, aliases, fields_of = _field_labels(rt)
    converted: list[FieldRequirement] = []
    for r in requirements:
        if r.field not in supported:
            raise SelectorError(f"field label not supported: {r.field}")
        converted.append(FieldRequirement(aliases.get(r.field, r.field), r.value, r.negated))
    return FieldSelector(tuple(converted), fields_of)


# Per-kind selectable fields: what upstream's field label conversion accepts (plus renamed
# aliases) and the values its GetAttrs exposes. Every kind also has metadata.name and, when
# namespaced, metadata.namespace.


def _get(obj: dict[str, Any], *path: str) -> Any:
    value: Any = obj
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pod_fields(pod: dict[str, Any]) -> dict[str, str]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    pod_ips = status.get("podIPs") or []
    return {
        "spec.nodeName": _text(spec.get("nodeName")),
        "spec.restartPolicy": _text(spec.get("restartPolicy")),
        "spec.schedulerName": _text(spec.get("schedulerName")),
        "spec.serviceAccountName": _text(spec.get("serviceAccountName")),
        "spec.hostNetwork": _text(bool(spec.get("hostNetwork"))),
        "status.phase": _text(status.get("phase")),
        "status.podIP": _text(pod_ips[0].get("ip")) if pod_ips else _text(status.get("podIP")),
        "status.nominatedNodeName": _text(status.get("nominatedNodeName")),
    }


def _event_fields(event: dict[str, Any]) -> dict[str, str]:
    # stored events may be in the core/v1 or the events.k8s.io/v1 shape; read either
    involved = event.get("involvedObject") or event.get("regarding") or {}
    source = event.get("source") or event.get("deprecatedSource") or {}
    reporting = event.get("reportingComponent") or event.get("reportingController") or ""
    fields = {f"involvedObject.{k}": _text(involved.get(k)) for k in _INVOLVED_OBJECT_KEYS}
    fields |= {
        "reason": _text(event.get("reason")),
        "reportingComponent": _text(reporting),
        "source": _text(source.get("component") or reporting),
        "type": _text(event.get("type")),
    }
    return fields


_INVOLVED_OBJECT_KEYS = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
_CORE_EVENT_FIELDS = frozenset(
    {f"involvedObject.{k}" for k in _INVOLVED_OBJECT_KEYS}
    | {"reason", "reportingComponent", "source", "type"}
)
_NEW_EVENT_ALIASES = {f"regarding.{k}": f"involvedObject.{k}" for k in _INVOLVED_OBJECT_KEYS} | {
    "reason": "reason",
    "reportingController": "reportingComponent",
    "type": "type",
}

_KindFields = tuple[frozenset[str], dict[str, str], Callable[[dict[str, Any]], dict[str, str]]]


def _status_text(name: str, key: str) -> Callable[[dict[str, Any]], dict[str, str]]:
    return lambda obj: {name: _text(_get(obj, "status", key) or 0)}


_KIND_FIELDS: dict[tuple[str, str], _KindFields] = {
    ("", "Pod"): (
        frozenset(_pod_fields({}) | {"status.podIPs": ""}),
        {"spec.host": "spec.nodeName"},
        _pod_fields,
    ),
    ("", "Event"): (_CORE_EVENT_FIELDS, {}, _event_fields),
    ("events.k8s.io", "Event"): (frozenset(), _NEW_EVENT_ALIASES, _event_fields),
    ("", "Secret"): (frozenset({"type"}), {}, lambda obj: {"type": _text(obj.get("type"))}),
    ("", "Namespace"): (
        frozenset({"status.phase"}),
        {},
        lambda obj: {"status.phase": _text(_get(obj, "status", "phase"))},
    ),
    ("", "Node"): (
        frozenset({"spec.unschedulable"}),
        {},
        lambda obj: {"spec.unschedulable": _text(bool(_get(obj, "spec", "unschedulable")))},
    ),
    ("", "ReplicationController"): (
        frozenset({"status.replicas"}),
        {},
        _status_text("status.replicas", "replicas"),
    ),
    ("apps", "ReplicaSet"): (frozenset({"status.replicas"}), {}, _status_text("status.replicas", "replicas")),
    ("batch", "Job"): (frozenset({"status.successful"}), {}, _status_text("status.successful", "succeeded")),
    ("", "Service"): (
        frozenset({"spec.clusterIP", "spec.type"}),
        {},
        lambda obj: {
            "spec.clusterIP": _text(_get(obj, "spec", "clusterIP")),
            "spec.type": _text(_get(obj, "spec", "type")),
        },
    ),
}


def _field_labels(rt: ResourceType) -> _KindFields:
    """(accepted field names, renames to apply, obj -> field values) for one resource type."""
    specific, aliases, specific_fields = _KIND_FIELDS.get((rt.group, rt.kind), (frozenset(), {}, None))
    meta = {"metadata.name"}
    # Namespaces register their own conversion without metadata.namespace; every other kind
    # falls back to (or includes) the default one that accepts both.
    if rt.kind != "Namespace" or rt.group:
        meta.add("metadata.namespace")
    supported = frozenset(specific | meta | aliases.keys())
    namespaced = rt.namespaced

    def fields_of(obj: dict[str, Any]) -> dict[str, str]:
        metadata = obj.get("metadata") or {}
        values = specific_fields(obj) if specific_fields else {}
        values["metadata.name"] = _text(metadata.get("name"))
        if namespaced:
            values["metadata.namespace"] = _text(metadata.get("namespace"))
        return values

    return supported, aliases, fields_of
