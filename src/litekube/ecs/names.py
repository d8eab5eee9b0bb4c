"""Turning ECS names (up to 255 of `[A-Za-z0-9_-]`, or anything at all in broken input)
into Kubernetes names, and remembering the renames so cross-references follow.

Rule (ECS-MAPPING §2.4): lower-case, replace everything outside `[a-z0-9-]` with `-`,
collapse runs of `-`, trim the ends, and when too long cut and append a short hash of the
original so two long names stay distinct. `NameMap` adds `-2`, `-3`... when two originals
land on the same name (`log_router` and `log-router`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
QUALIFIED_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

# Kubernetes appends "-<11 chars>" to a CronJob's name for its Jobs, so 63 - 11 = 52.
CRONJOB_NAME_MAX = 52


def _short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def dns_label(original: str, max_length: int = 63, fallback: str = "ecs") -> str:
    """A DNS-1123 label for `original` (container, workload, volume names)."""
    name = re.sub(r"[^a-z0-9-]+", "-", original.lower())
    name = re.sub(r"-{2,}", "-", name).strip("-") or fallback
    if len(name) > max_length:
        suffix = _short_hash(original)
        name = name[: max_length - len(suffix) - 1].rstrip("-") + "-" + suffix
    return name


def dns1035_label(original: str, max_length: int = 63) -> str:
    """A DNS-1035 label (Service names): like `dns_label`, but must start with a letter."""
    name = dns_label(original, max_length)
    if not name[0].isalpha():
        name = dns_label("s-" + name, max_length)
    return name


def port_name(original: str) -> str | None:
    """An IANA_SVC_NAME (≤15 chars, `[a-z0-9-]`, a letter, no `--`), or None."""
    name = dns_label(original, fallback="")
    if not name:
        return None
    if not re.search(r"[a-z]", name):
        name = "p-" + name
    if len(name) > 15:
        name = name[:10].rstrip("-") + "-" + _short_hash(original, 4)
    return name if IANA_SVC_NAME.match(name) and "--" not in name else None


def label_value(original: str) -> str | None:
    """`original` if it is a valid label value, else None (callers keep it as an annotation)."""
    return original if len(original) <= 63 and LABEL_VALUE.match(original) else None


def config_key(original: str) -> str:
    """A Secret/ConfigMap data key (`[-._a-zA-Z0-9]+`, not `.` or `..`)."""
    key = re.sub(r"[^-._a-zA-Z0-9]+", "-", original).strip("-") or "value"
    return "value" if key in (".", "..") else key[:253]


def is_qualified_name(key: str) -> bool:
    """Label keys: `[prefix/]name`, name ≤63, prefix a DNS subdomain."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(QUALIFIED_NAME_PART.match(name))


@dataclass
class NameMap:
    """Original name → sanitised unique name, for one namespace of names (containers,
    volumes...). `get` answers cross-references; an unknown original gives None."""

    max_length: int = 63
    renames: dict[str, str] = field(default_factory=dict)

    def assign(self, original: str) -> str:
        if original in self.renames:
            return self.renames[original]
        base = dns_label(original, self.max_length)
        name, counter = base, 2
        used = set(self.renames.values())
        while name in used:
            suffix = f"-{counter}"
            name = base[: self.max_length - len(suffix)].rstrip("-") + suffix
            counter += 1
        self.renames[original] = name
        return name

    def get(self, original: object) -> str | None:
        return self.renames.get(original) if isinstance(original, str) else None
