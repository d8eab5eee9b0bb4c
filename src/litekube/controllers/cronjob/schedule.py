"""CronJob schedules: standard cron plus Kubernetes' macros, time zones and missed runs.

`most_recent_schedule(...)` answers "which scheduled time should have started last, and
how many were missed" between the earliest time that still counts (lastScheduleTime, else
creationTimestamp, moved forward by startingDeadlineSeconds) and now. Counting stops past
100, as upstream only needs to know "too many".

Example: schedule "0 6 * * *", created 2025-01-01T00:00Z, now 2025-01-03T07:00Z → the most
recent time is 2025-01-03T06:00Z and 2 were missed (Jan 2 and Jan 3 at 06:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
TOO_MANY_MISSED = 100


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    expression: str
    zone: tzinfo

    def next_after(self, moment: datetime) -> datetime:
        it = croniter(self.expression, moment.astimezone(self.zone))
        return it.get_next(datetime).astimezone(self.zone)

    def previous_at_or_before(self, moment: datetime) -> datetime:
        base = moment.astimezone(self.zone).replace(microsecond=0) + timedelta(seconds=1)
        it = croniter(self.expression, base)
        return it.get_prev(datetime).astimezone(self.zone)


def parse_schedule(text: str, time_zone: str | None) -> Schedule:
    """The schedule with its zone: spec.timeZone, else a TZ=/CRON_TZ= prefix, else UTC."""
    expression = text.strip()
    zone_name = time_zone
    if expression.startswith(("TZ=", "CRON_TZ=")):
        prefix, _, expression = expression.partition(" ")
        zone_name = zone_name or prefix.split("=", 1)[1]
        expression = expression.strip()
    expression = MACROS.get(expression, expression)
    if expression.startswith("@every"):
        raise ScheduleError(f"unsupported schedule {text!r}")
    zone: tzinfo = UTC
    if zone_name:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ScheduleError(f"invalid timeZone: {zone_name!r}") from e
    if not croniter.is_valid(expression):
        raise ScheduleError(f"unparseable schedule: {text!r}")
    return Schedule(expression, zone)


def most_recent_schedule(
    schedule: Schedule, earliest: datetime, now: datetime
) -> tuple[datetime | None, int]:
    """(latest scheduled time in (earliest, now], number of such times, capped at 101)."""
    latest = schedule.previous_at_or_before(now)
    if latest <= earliest:
        return None, 0
    missed = 0
    t = earliest
    while missed <= TOO_MANY_MISSED:
        t = schedule.next_after(t)
        if t > now:
            break
        missed += 1
    return latest, missed
