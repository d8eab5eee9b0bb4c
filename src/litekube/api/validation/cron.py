"""Cron schedule syntax as upstream checks it (robfig/cron's standard parser), with its errors.

Only parsing is done here, to produce the exact error texts a real API server returns for a
bad `spec.schedule`; computing run times is the CronJob controller's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = {
    n: i + 1
    for i, n in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_DAYS = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_DURATION_RE = re.compile(r"^([0-9]*(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$")


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Bounds(0, 59, {}),
    _Bounds(0, 23, {}),
    _Bounds(1, 31, {}),
    _Bounds(1, 12, _MONTHS),
    _Bounds(0, 6, _DAYS),
)


class CronSyntaxError(ValueError):
    pass


def check_schedule(spec: str) -> None:
    """Raise CronSyntaxError with robfig/cron's message when `spec` is not a valid schedule."""
    if not spec:
        raise CronSyntaxError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        equals = spec.find("=")
        zone = spec[equals + 1 : space] if space >= 0 else spec[equals + 1 :]
        if not _zone_exists(zone):
            raise CronSyntaxError(f"provided bad location {zone}: unknown time zone {zone}")
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@"):
        _check_descriptor(spec)
        return
    fields = spec.split()
    if len(fields) != 5:
        raise CronSyntaxError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    for text, bounds in zip(fields, _FIELDS, strict=True):
        for expression in text.split(","):
            _check_range(expression, bounds)


def _check_descriptor(spec: str) -> None:
    if spec in _DESCRIPTORS:
        return
    if spec.startswith("@every "):
        duration = spec[len("@every ") :]
        if not _DURATION_RE.match(duration) or duration in ("", "."):
            raise CronSyntaxError(f'failed to parse duration {spec}: time: invalid duration "{duration}"')
        return
    raise CronSyntaxError(f"unrecognized descriptor: {spec}")


def _parse_int(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise CronSyntaxError(
            f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
        )
    number = int(text)
    if number < 0:
        raise CronSyntaxError(f"negative number ({number}) not allowed: {text}")
    return number


def _parse_int_or_name(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    return _parse_int(text)


def _check_range(expression: str, bounds: _Bounds) -> None:
    range_and_step = expression.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = bounds.low, bounds.high
    else:
        start = _parse_int_or_name(low_and_high[0], bounds.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _parse_int_or_name(low_and_high[1], bounds.names)
        else:
            raise CronSyntaxError(f"too many hyphens: {expression}")
    if len(range_and_step) == 2:
        step = _parse_int(range_and_step[1])
        if len(low_and_high) == 1:
            end = bounds.high  # "N/step" means "N-max/step"
    elif len(range_and_step) > 2:
        raise CronSyntaxError(f"too many slashes: {expression}")
    else:
        step = 1
    if start < bounds.low:
        raise CronSyntaxError(f"beginning of range ({start}) below minimum ({bounds.low}): {expression}")
    if end > bounds.high:
        raise CronSyntaxError(f"end of range ({end}) above maximum ({bounds.high}): {expression}")
    if start > end:
        raise CronSyntaxError(f"beginning of range ({start}) beyond end of range ({end}): {expression}")
    if step == 0:
        raise CronSyntaxError(f"step of range should be a positive number: {expression}")


def _zone_exists(zone: str) -> bool:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def time_zone_errors(zone: str) -> list[str]:
    """Upstream's `validateTimeZone` messages for a CronJob's `spec.timeZone`."""
    if not zone:
        return ["timeZone must be nil or non-empty string"]
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not re.fullmatch(r"[A-Za-z\.\-_0-9]{1,14}", part):
            return [f"unknown time zone {zone}"]
    errors = []
    if zone.lower() == "local":
        errors.append("timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")
    if zone not in ("UTC", "Local") and not _zone_exists(zone):
        errors.append(f"unknown time zone {zone}")
    return errors
