"""Field-level validation errors, shaped like apimachinery's `field.Error`.

A validator returns a list of `Cause`s. Each cause carries the upstream reason
(`FieldValueInvalid`, ...), the field path (`spec.template.spec.containers[0].image`) and the
message body that upstream's `ErrorBody()` renders: the type's words, then the bad value
(strings Go-quoted, numbers plain, anything else in Go's `%#v` shape), then `: detail`.

`GoValue` lets a caller hand over a value already rendered the way Go would print it (for
example `v1.LabelSelector{...}`), because a Python dict cannot tell which Go type it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
TYPE_INVALID = "FieldValueTypeInvalid"
NOT_FOUND = "FieldValueNotFound"

_WORDS = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    DUPLICATE: "Duplicate value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    TYPE_INVALID: "Invalid value",
    NOT_FOUND: "Not found",
}


@dataclass(frozen=True)
class Cause:
    """One validation failure, as it appears in a 422 Status's `details.causes`."""

    reason: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class GoValue:
    """A bad value already printed the way upstream's Go code prints it."""

    text: str


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(text: str) -> str:
    """Go's `%q`: double quotes, backslash escapes, printable Unicode kept as is."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif not ch.isprintable() and ch != " ":
            code = ord(ch)
            out.append(
                f"\\x{code:02x}"
                if code < 0x80
                else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
            )
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def format_value(value: Any) -> str:
    """Render a bad value as `ErrorBody()` does (`%v` for scalars, `%q` for strings)."""
    if isinstance(value, GoValue):
        return value.text
    if value is None:
        return '"null"'  # upstream substitutes the string "null", then %q-quotes it
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(go_quote(v) for v in value) + "}"
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return go_string_map(value)
    return _json_fallback(value)


def go_string_map(value: dict[str, str]) -> str:
    """Go's `%#v` of a map[string]string: keys sorted, `"k":"v"` pairs."""
    inner = ", ".join(f"{go_quote(k)}:{go_quote(value[k])}" for k in sorted(value))
    return "map[string]string{" + inner + "}"


def _json_fallback(value: Any) -> str:
    """Values whose Go type we cannot know: compact JSON, the closest readable form."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return repr(value)


def _body(reason: str, value: Any, detail: str, *, show_value: bool) -> str:
    text = _WORDS[reason]
    if show_value:
        text += ": " + format_value(value)
    if detail:
        text += ": " + detail
    return text


def required(path: str, detail: str = "") -> Cause:
    return Cause(REQUIRED, path, _body(REQUIRED, None, detail, show_value=False))


def forbidden(path: str, detail: str) -> Cause:
    return Cause(FORBIDDEN, path, _body(FORBIDDEN, None, detail, show_value=False))


def too_long(path: str, max_length: int) -> Cause:
    return Cause(
        TOO_LONG, path, _body(TOO_LONG, None, f"must have at most {max_length} bytes", show_value=False)
    )


def too_many(path: str, actual: int, maximum: int) -> Cause:
    return Cause(
        TOO_MANY, path, _body(TOO_MANY, actual, f"must have at most {maximum} items", show_value=True)
    )


def invalid(path: str, value: Any, detail: str) -> Cause:
    return Cause(INVALID, path, _body(INVALID, value, detail, show_value=True))


def type_invalid(path: str, value: Any, detail: str) -> Cause:
    return Cause(TYPE_INVALID, path, _body(TYPE_INVALID, value, detail, show_value=True))


def duplicate(path: str, value: Any) -> Cause:
    return Cause(DUPLICATE, path, _body(DUPLICATE, value, "", show_value=True))


def not_found(path: str, value: Any) -> Cause:
    return Cause(NOT_FOUND, path, _body(NOT_FOUND, value, "", show_value=True))


def not_supported(path: str, value: Any, valid: list[str] | tuple[str, ...]) -> Cause:
    detail = "supported values: " + ", ".join(go_quote(v) for v in valid) if valid else ""
    return Cause(NOT_SUPPORTED, path, _body(NOT_SUPPORTED, value, detail, show_value=True))


def child(path: str, *names: str) -> str:
    """Join field path parts: `child("spec", "template")` -> `spec.template`."""
    parts = [path] if path else []
    parts.extend(names)
    return ".".join(parts)


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    return f"{path}[{k}]"


IMMUTABLE = "field is immutable"


def immutable(path: str, new: Any, old: Any) -> list[Cause]:
    """`ValidateImmutableField`: any change is reported with the new value."""
    if new == old:
        return []
    return [invalid(path, new, IMMUTABLE)]


def non_negative(path: str, value: Any) -> list[Cause]:
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []
