"""The `nginx.ingress.kubernetes.io/` annotations of one Ingress → `LocationOptions` + problems.

Every path of an Ingress shares its annotations, so they are parsed once per Ingress:

    metadata.annotations ──► known key? ── no ──► Problem("UnsupportedAnnotation")
                                │ yes
                                ▼
                        parse/validate value ── bad ──► Problem("InvalidAnnotation"), default kept
                                │ ok
                                ▼
                        field of LocationOptions (defaults are ingress-nginx's)

Values end up inside nginx.conf, so anything that could break out of its directive (whitespace,
quotes, `;`, braces, control characters) is refused here. A bad whitelist-source-range fails
closed (the location denies everyone): failing open would silently drop a restriction the user
asked for. proxy-body-size is passed through with only a character check, as ingress-nginx does,
so a value nginx rejects is caught by `nginx -t` and the last good configuration keeps serving.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

PREFIX = "nginx.ingress.kubernetes.io/"

# ingress-nginx's defaults (its ConfigMap defaults, in seconds)
DEFAULT_CONNECT_TIMEOUT = 5
DEFAULT_SEND_TIMEOUT = 60
DEFAULT_READ_TIMEOUT = 60
DEFAULT_BODY_SIZE = "1m"

BACKEND_PROTOCOLS = ("HTTP", "HTTPS", "GRPC", "GRPCS")
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9.]+$")
_UNSAFE = re.compile(r"[\s\"';{}\\]")
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}  # Go's strconv.ParseBool, which ingress-nginx uses
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


@dataclass(frozen=True)
class LocationOptions:
    """What the annotations of one Ingress ask of each of its locations."""

    rewrite_target: str | None = None
    use_regex: bool = False
    ssl_redirect: bool = True
    force_ssl_redirect: bool = False
    proxy_body_size: str = DEFAULT_BODY_SIZE
    proxy_connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
    proxy_send_timeout: int = DEFAULT_SEND_TIMEOUT
    proxy_read_timeout: int = DEFAULT_READ_TIMEOUT
    backend_protocol: str = "HTTP"
    # None: everyone; () with deny_all: nobody (a bad range list fails closed)
    allow_source_ranges: tuple[str, ...] | None = None
    redirect: tuple[int, str] | None = None  # (status code, URL): permanent or temporal redirect


@dataclass(frozen=True)
class AnnotationProblem:
    reason: str  # "UnsupportedAnnotation" or "InvalidAnnotation"
    message: str


def _bool(value: str) -> bool | None:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def _seconds(value: str) -> int | None:
    # ingress-nginx reads these as integers of seconds; "60s" is accepted too as people write it
    text = value.strip().removesuffix("s")
    return int(text) if text.isdigit() and 0 < int(text) <= 86400 else None


def _source_ranges(value: str) -> tuple[str, ...] | None:
    ranges = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            ranges.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            return None
    return tuple(ranges)


def _redirect_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or _UNSAFE.search(value):
        return None
    return value


def _redirect_code(value: str | None, default: int) -> int | None:
    if value is None:
        return default
    return int(value) if value.isdigit() and 300 <= int(value) <= 308 else None


def parse_annotations(annotations: dict[str, str]) -> tuple[LocationOptions, list[AnnotationProblem]]:
    """Options for every location of the Ingress, and what could not be honoured."""
    ours = {k[len(PREFIX) :]: str(v) for k, v in sorted(annotations.items()) if k.startswith(PREFIX)}
    problems: list[AnnotationProblem] = []
    fields: dict[str, object] = {}

    def invalid(name: str, why: str) -> None:
        problems.append(
            AnnotationProblem("InvalidAnnotation", f'annotation {PREFIX}{name}="{ours[name]}": {why}')
        )

    handled = {"permanent-redirect-code", "temporal-redirect-code"}
    for name, value in ours.items():
        if name in ("use-regex", "ssl-redirect", "force-ssl-redirect"):
            flag = _bool(value)
            if flag is None:
                invalid(name, "not a boolean")
            else:
                fields[name.replace("-", "_")] = flag
        elif name == "rewrite-target":
            if not value or _UNSAFE.search(value):
                invalid(name, "empty or contains whitespace, quotes, ';', braces or backslashes")
            else:
                fields["rewrite_target"] = value
        elif name == "proxy-body-size":
            if not _SAFE_TOKEN.match(value):
                invalid(name, "expected a size such as 8m")
            else:
                fields["proxy_body_size"] = value
        elif name in ("proxy-read-timeout", "proxy-send-timeout", "proxy-connect-timeout"):
            seconds = _seconds(value)
            if seconds is None:
                invalid(name, "expected a number of seconds between 1 and 86400")
            else:
                fields[name.replace("-", "_")] = seconds
        elif name == "backend-protocol":
            if value.upper() not in BACKEND_PROTOCOLS:
                invalid(name, f"supported protocols are {', '.join(BACKEND_PROTOCOLS)}")
            else:
                fields["backend_protocol"] = value.upper()
        elif name in ("whitelist-source-range", "allowlist-source-range"):
            ranges = _source_ranges(value)
            if ranges is None:
                invalid(name, "not a comma-separated list of CIDRs; denying all clients")
                fields["allow_source_ranges"] = ()
            elif fields.get("allow_source_ranges") != ():  # a failed list elsewhere stays closed
                fields["allow_source_ranges"] = ranges
        elif name in ("permanent-redirect", "temporal-redirect"):
            url = _redirect_url(value)
            permanent = name == "permanent-redirect"
            code = _redirect_code(ours.get(f"{name}-code"), 301 if permanent else 302)
            if url is None:
                invalid(name, "expected an http(s) URL without spaces or quotes")
            elif code is None:
                invalid(f"{name}-code", "expected a redirect status code between 300 and 308")
            elif permanent or "redirect" not in fields:  # ingress-nginx: permanent wins
                fields["redirect"] = (code, url)
        elif name not in handled:
            problems.append(
                AnnotationProblem(
                    "UnsupportedAnnotation",
                    f"annotation {PREFIX}{name} is not supported by litekube's ingress",
                )
            )
    return LocationOptions(**fields), problems  # type: ignore[arg-type]
