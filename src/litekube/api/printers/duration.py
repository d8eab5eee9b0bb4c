"""Human-readable ages, as kubectl shows them in AGE, LAST SEEN and DURATION columns.

`human_duration` follows apimachinery's `duration.HumanDuration` bucket by bucket
(seconds below 2 minutes, "MmSs" below 10 minutes, hours and minutes below 8 hours, ...).
`translate_timestamp_since` turns an RFC 3339 timestamp from an object into such an age
relative to a fixed `now`, so that one table is rendered against one instant.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

UNKNOWN = "<unknown>"

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_YEAR = 365 * _DAY


def human_duration(seconds: float) -> str:
    """Render a duration like apimachinery's HumanDuration.

    Worked example: 3725 s is past 3 hours? No: 62 minutes, so "62m"; 4 h 5 m gives "4h5m";
    50 h gives "2d2h"; a clock skew of up to one second in the future still reads "0s".
    """
    whole = math.trunc(seconds)  # Go's int(d.Seconds()) truncates towards zero
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 2 * _MINUTE:
        return f"{whole}s"
    minutes = whole // _MINUTE
    if minutes < 10:
        rest = whole % _MINUTE
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = whole // _HOUR
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def parse_timestamp(value: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 (or MicroTime) string; None when absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def translate_timestamp_since(value: object, now: float) -> str:
    """Age of `value` at `now` (epoch seconds), or `<unknown>` for a missing timestamp."""
    when = parse_timestamp(value)
    if when is None:
        return UNKNOWN
    return human_duration(now - when)


def now_seconds(now: datetime | None) -> float:
    """Epoch seconds of `now`, the current time when None (naive datetimes are taken as UTC)."""
    if now is None:
        return datetime.now(UTC).timestamp()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.timestamp()
