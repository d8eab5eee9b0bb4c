"""Upstream's restart and image-pull back-off (client-go `flowcontrol.Backoff`), in seconds.

One entry per key ("<pod uid>/<container name>"): the current delay and when it was last
moved. The kubelet asks `in_backoff_since(key, finished_at, now)` before restarting a
container that exited at `finished_at`; when it is not (or no longer) in back-off it calls
`next(key, finished_at)` and restarts.

Worked example (initial 10 s, cap 300 s): the container exits at t=0 → no entry, so it is
restarted at once and the delay becomes 10 s. It exits again at t=5 → 5 - 5 < 10, so it
waits ("back-off 10s"); at t=15 it restarts and the delay doubles to 20 s. Delays go 10,
20, 40, 80, 160, 300, 300 … An entry whose last move is more than 2 * cap (10 minutes) older
than the new exit is reset to 10 s: a container that ran for 10 minutes starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

INITIAL = 10.0
CAP = 300.0


@dataclass
class _Entry:
    delay: float
    last_update: float


class Backoff:
    def __init__(self, initial: float = INITIAL, cap: float = CAP) -> None:
        self.initial = initial
        self.cap = cap
        self._entries: dict[str, _Entry] = {}

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.delay if entry else 0.0

    def in_backoff_since(self, key: str, event_time: float, now: float) -> bool:
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            return False
        return now - event_time < entry.delay

    def in_backoff_since_update(self, key: str, now: float) -> bool:
        """Image pulls: still inside the delay counted from the last failure (upstream's
        IsInBackOffSinceUpdate)."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, now):
            return False
        return now - entry.last_update < entry.delay

    def remaining(self, key: str, event_time: float, now: float) -> float:
        """Seconds until `in_backoff_since` turns False (0 when not in back-off)."""
        if not self.in_backoff_since(key, event_time, now):
            return 0.0
        return self._entries[key].delay - (now - event_time)

    def next(self, key: str, event_time: float) -> None:
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            self._entries[key] = _Entry(self.initial, event_time)
            return
        entry.delay = min(entry.delay * 2, self.cap)
        entry.last_update = event_time

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def forget_prefix(self, prefix: str) -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]

    def _expired(self, entry: _Entry, event_time: float) -> bool:
        return event_time - entry.last_update > 2 * self.cap


def go_duration(seconds: float) -> str:
    """Go's `time.Duration.String()` for whole seconds: 10s, 1m20s, 5m0s."""
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m{secs}s"
