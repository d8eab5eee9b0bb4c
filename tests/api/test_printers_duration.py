"""HumanDuration buckets and timestamp ages."""

from __future__ import annotations

import pytest

from litekube.api.printers.duration import human_duration, translate_timestamp_since
from tests.api.test_printers_support import NOW, ago


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (119.9, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (599, "9m59s"),
        (600, "10m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600, "3h"),
        (4 * 3600 + 5 * 60, "4h5m"),
        (8 * 3600, "8h"),
        (47 * 3600 + 59 * 60, "47h"),
        (50 * 3600, "2d2h"),
        (3 * 86400, "3d"),
        (8 * 86400, "8d"),
        (729 * 86400, "729d"),
        (730 * 86400, "2y"),
        (731 * 86400, "2y1d"),
        (8 * 365 * 86400, "8y"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_translate_timestamp_since() -> None:
    now = NOW.timestamp()
    assert translate_timestamp_since(ago(90), now) == "90s"
    assert translate_timestamp_since("2024-05-01T11:59:00.123456Z", now) == "59s"
    assert translate_timestamp_since(None, now) == "<unknown>"
    assert translate_timestamp_since("", now) == "<unknown>"
    assert translate_timestamp_since("garbage", now) == "<unknown>"
