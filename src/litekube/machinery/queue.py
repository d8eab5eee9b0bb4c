"""A rate-limited work queue of keys, with client-go's guarantees.

Flow: `add(key)` marks the key dirty; a key is handed to at most one worker at a time —
while a worker holds it (between `get()` and `done()`), new `add()`s only mark it dirty
and it is queued again at `done()`. So a burst of events for one object collapses into one
`sync`, and two workers never reconcile the same object concurrently.

`add_after(key, seconds)` parks a key on the clock (the earliest deadline wins);
`add_rate_limited(key)` asks the rate limiter how long to wait. The default limiter is
client-go's `DefaultControllerRateLimiter`: the larger of a per-key exponential backoff and
an overall token bucket.

Worked example of the per-key backoff (base 5 ms, cap 1000 s): failures 1, 2, 3, 4 of
the same key wait 5 ms, 10 ms, 20 ms, 40 ms; the 19th waits 5 ms * 2**18 ≈ 1311 s, which
is capped to 1000 s. `forget(key)` after a success resets the count.

Waiting workers park on their own future, first come first served, and each queued key
wakes exactly one of them (not every idle worker, as a shared `asyncio.Event` would: with
N workers that costs N wake-ups per key, N-1 of which find the queue empty again).
"""

from __future__ import annotations

import asyncio
import collections
from typing import Protocol

from litekube.machinery.clock import Clock


class RateLimiter(Protocol):
    def when(self, key: str) -> float:
        """Seconds to wait before the key may be processed again (counts one failure)."""
        ...

    def forget(self, key: str) -> None: ...

    def num_requeues(self, key: str) -> int: ...


class ItemExponentialRateLimiter:
    """delay = base * 2**failures, capped (client-go ItemExponentialFailureRateLimiter)."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        self.base = base
        self.cap = cap
        self._failures: dict[str, int] = {}

    def when(self, key: str) -> float:
        exponent = self._failures.get(key, 0)
        self._failures[key] = exponent + 1
        if exponent > 62:  # 2**63 overflows Go's int64; the cap applies long before
            return self.cap
        return min(self.base * (2**exponent), self.cap)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: str) -> int:
        return self._failures.get(key, 0)


class BucketRateLimiter:
    """An overall token bucket (client-go uses 10 qps, burst 100) shared by all keys."""

    def __init__(self, clock: Clock, qps: float = 10.0, burst: int = 100) -> None:
        self.clock = clock
        self.qps = qps
        self.burst = burst
        self._tokens = float(burst)
        self._last = clock.monotonic()

    def when(self, key: str) -> float:
        now = self.clock.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0  # reserve a token now, possibly going into debt
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, key: str) -> None:
        return None

    def num_requeues(self, key: str) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest wait any of the limiters asks for."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, key: str) -> float:
        return max(limiter.when(key) for limiter in self.limiters)

    def forget(self, key: str) -> None:
        for limiter in self.limiters:
            limiter.forget(key)

    def num_requeues(self, key: str) -> int:
        return max(limiter.num_requeues(key) for limiter in self.limiters)


def default_controller_rate_limiter(clock: Clock) -> RateLimiter:
    return MaxOfRateLimiter(ItemExponentialRateLimiter(0.005, 1000.0), BucketRateLimiter(clock, 10.0, 100))


class WorkQueue:
    """De-duplicating, one-worker-per-key queue with delayed and rate-limited adds."""

    def __init__(self, clock: Clock, rate_limiter: RateLimiter | None = None, name: str = "") -> None:
        self.clock = clock
        self.name = name
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(clock)
        self._queue: collections.deque[str] = collections.deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._waiting: dict[str, tuple[float, asyncio.Task[None]]] = {}
        self._getters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._shutting_down = False

    def add(self, key: str) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # re-queued by done()
        self._queue.append(key)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    async def get(self) -> str | None:
        """The next key (now owned by the caller until `done`), or None once shut down."""
        while not self._queue:
            if self._shutting_down:
                return None
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                # woken and cancelled at once: hand the wake-up on so the key is not stranded
                if getter.done() and not getter.cancelled() and self._queue:
                    self._wake_one()
                raise
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def get_nowait(self) -> str | None:
        if not self._queue:
            return None
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one()

    def add_after(self, key: str, seconds: float) -> None:
        if self._shutting_down:
            return
        if seconds <= 0:
            self.add(key)
            return
        deadline = self.clock.monotonic() + seconds
        current = self._waiting.get(key)
        if current is not None:
            if current[0] <= deadline:
                return  # an earlier wake-up is already arranged
            current[1].cancel()
        self._waiting[key] = (
            deadline,
            asyncio.get_running_loop().create_task(self._wait_then_add(key, deadline)),
        )

    async def _wait_then_add(self, key: str, deadline: float) -> None:
        # the deadline was fixed when the key was parked: time may pass before this task runs
        await self.clock.sleep(deadline - self.clock.monotonic())
        self._waiting.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: str) -> None:
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: str) -> None:
        self.rate_limiter.forget(key)

    def num_requeues(self, key: str) -> int:
        return self.rate_limiter.num_requeues(key)

    def waiting_keys(self) -> list[str]:
        """Keys parked by add_after / add_rate_limited (for tests and debugging)."""
        return sorted(self._waiting)

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing being processed (delayed keys do not count)."""
        return not self._queue and not self._processing

    def shutdown(self) -> None:
        self._shutting_down = True
        for _, task in self._waiting.values():
            task.cancel()
        self._waiting.clear()
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
