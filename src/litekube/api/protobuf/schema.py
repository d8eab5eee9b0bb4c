"""Message descriptors: a compact text form, parsed once into `Message` objects.

Each message is written as `"<number> <jsonName> <type>"` entries, separated by `;` or newlines, in the
order of the Go struct (which is also the key order of the decoded dict):

    "1 name string!; 3 command string[]; 7 env EnvVar[]; 2 data {bytes}; 1 - LocalObjectReference*"

Types are protobuf scalars (`string bytes bool int32 int64 double`) or a message name. Suffixes:

* `[]`   repeated field (a JSON list; omitted when empty, like Go's `omitempty` on a slice);
* `{T}`  a `map<string, T>` (repeated entries `{1: key, 2: value}`; omitted when empty);
* `?`    a Go pointer (`*int32`, `*bool`, `*string`): emitted whenever present, even when zero;
* `!`    a Go field without `omitempty`: always emitted, with the zero value when absent;
* (none) a Go field with `omitempty`: a scalar is dropped when zero; a message is emitted when present;
* `*`    an embedded (inlined) struct: its fields are merged into the parent; the name is `-`.

A message written `"= Other"` shares Other's fields (EphemeralContainerCommon mirrors Container).

Why presence matters: gogo-protobuf writes every non-pointer field, zero or not, and pointer fields only
when set. So "present with a zero value" means a pointer that was set (keep it: `replicas: 0` is not
`replicas` unset) or a plain field that JSON would have dropped (`hostPort: 0`). The suffix tells which.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

SCALARS = frozenset({"string", "bytes", "bool", "int32", "int64", "double"})


class Presence(enum.Enum):
    OMIT_EMPTY = "omitempty"
    POINTER = "pointer"
    ALWAYS = "always"


@dataclass(frozen=True)
class Field:
    number: int
    name: str  # JSON name; "-" for an inlined struct
    type: str  # a scalar from SCALARS or a message name; for maps, the value type
    repeated: bool = False
    is_map: bool = False
    inline: bool = False
    presence: Presence = Presence.OMIT_EMPTY

    @property
    def is_message(self) -> bool:
        return self.type not in SCALARS


@dataclass(frozen=True)
class Message:
    name: str
    fields: tuple[Field, ...]

    def by_number(self) -> dict[int, Field]:
        return {f.number: f for f in self.fields}


def parse_field(entry: str) -> Field:
    """Parse one `"<number> <name> <type><suffixes>"` entry."""
    parts = entry.split()
    if len(parts) != 3:
        raise ValueError(f"bad field entry {entry!r}")
    number_text, name, spec = parts
    presence = Presence.OMIT_EMPTY
    repeated = is_map = inline = False
    if spec.endswith("!"):
        presence, spec = Presence.ALWAYS, spec[:-1]
    elif spec.endswith("?"):
        presence, spec = Presence.POINTER, spec[:-1]
    if spec.endswith("*"):
        inline, spec = True, spec[:-1]
    if spec.endswith("[]"):
        repeated, spec = True, spec[:-2]
    if spec.startswith("{") and spec.endswith("}"):
        is_map, spec = True, spec[1:-1]
    if (name == "-") != inline:
        raise ValueError(f"inline fields, and only they, are named '-': {entry!r}")
    return Field(int(number_text), name, spec, repeated, is_map, inline, presence)


def parse_messages(texts: dict[str, str]) -> dict[str, Message]:
    """Parse descriptor texts; `"= Other"` aliases are resolved after every message is known."""
    messages: dict[str, Message] = {}
    aliases: dict[str, str] = {}
    for name, text in texts.items():
        stripped = text.strip()
        if stripped.startswith("="):
            aliases[name] = stripped[1:].strip()
            continue
        entries = [e.strip() for line in stripped.splitlines() for e in line.split(";")]
        fields = tuple(parse_field(e) for e in entries if e)
        numbers = [f.number for f in fields]
        if len(numbers) != len(set(numbers)):
            raise ValueError(f"{name}: duplicate field number")
        messages[name] = Message(name, fields)
    for name, target in aliases.items():
        messages[name] = Message(name, messages[target].fields)
    return messages


def check_references(messages: dict[str, Message]) -> None:
    """Every message type a field names must itself be described (caught at import, not mid-request)."""
    for message in messages.values():
        for field in message.fields:
            if field.is_message and field.type not in messages:
                raise ValueError(f"{message.name}.{field.name}: unknown message type {field.type}")
