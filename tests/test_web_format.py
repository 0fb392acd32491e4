"""How the pages write stored values: pure filters, checked with a table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hasched.web._format import as_time, seconds, when


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.0, "0 s"), (2.5, "2.5 s"), (59, "59 s"), (60, "60 s (1 min)"), (86400.0, "86400 s (1 d 0 h)")],
)
def test_seconds_are_shown_as_set_with_their_reading(value: float, shown: str) -> None:
    assert seconds(value) == shown


def test_a_stored_start_reads_in_the_schedule_zone() -> None:
    start = as_time("2026-07-01T01:00:00+00:00")
    assert start == datetime(2026, 7, 1, 1, tzinfo=UTC)
    assert when(start, "Europe/Paris") == "2026-07-01 03:00:00 CEST"
    assert as_time("not a time") is None
