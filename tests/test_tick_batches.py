"""Tests for how a tick cuts the due schedules into commits (`hasched._tick.batch_size`): pure."""

from __future__ import annotations

import pytest

from hasched._tick import BATCH_SCHEDULES, MIN_BATCH, SMALL_TICK_PARTS, _parts, batch_size


@pytest.mark.parametrize(
    ("due", "size"),
    [
        (0, MIN_BATCH),  # nothing due: any size, never zero
        (1, MIN_BATCH),  # one fire, one commit
        (MIN_BATCH, MIN_BATCH),
        (2 * MIN_BATCH, MIN_BATCH),  # too small to cut in SMALL_TICK_PARTS: commits of MIN_BATCH
        (40, 10),  # the sustained load's usual tick: four commits, pipelined
        (41, 11),  # rounded up: still four commits, the last one smaller
        (SMALL_TICK_PARTS * BATCH_SCHEDULES, BATCH_SCHEDULES),
        (2000, BATCH_SCHEDULES),  # a burst: full commits
    ],
)
def test_batch_size(due: int, size: int) -> None:
    assert batch_size(due) == size


@pytest.mark.parametrize("due", [1, 7, 8, 9, 31, 32, 33, 100, 999, 1000, 1001, 2000])
def test_parts_cover_every_due_schedule_once_in_order(due: int) -> None:
    items = list(range(due))
    parts = list(_parts(items, batch_size(due)))
    assert [x for part in parts for x in part] == items
    assert all(0 < len(part) <= BATCH_SCHEDULES for part in parts)
    assert len(parts) <= max(SMALL_TICK_PARTS, -(-due // BATCH_SCHEDULES))
