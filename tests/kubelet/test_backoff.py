from __future__ import annotations

from litekube.node.kubelet.backoff import Backoff, go_duration


def test_delays_double_to_the_cap() -> None:
    backoff = Backoff()
    key = "uid/app"
    seen = []
    t = 0.0
    for _ in range(8):
        backoff.next(key, t)
        seen.append(backoff.get(key))
        t += 1
    assert seen == [10, 20, 40, 80, 160, 300, 300, 300]


def test_in_backoff_until_the_delay_has_passed_since_the_exit() -> None:
    backoff = Backoff()
    backoff.next("k", 0.0)  # first exit: restart at once, delay becomes 10 s
    assert backoff.in_backoff_since("k", 5.0, 6.0)  # second exit at 5: wait
    assert backoff.remaining("k", 5.0, 6.0) == 9.0
    assert not backoff.in_backoff_since("k", 5.0, 15.0)


def test_reset_after_ten_minutes_of_running() -> None:
    backoff = Backoff()
    for t in range(6):
        backoff.next("k", float(t))
    assert backoff.get("k") == 300
    backoff.next("k", 5.0 + 601)  # exited again more than 2 x 300 s after the last move
    assert backoff.get("k") == 10
    assert not backoff.in_backoff_since("k", 5.0 + 2000, 5.0 + 2001)


def test_go_duration() -> None:
    assert [go_duration(s) for s in (10, 80, 160, 300, 3700)] == ["10s", "1m20s", "2m40s", "5m0s", "1h1m40s"]
