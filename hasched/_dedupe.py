"""What makes a fire "already enqueued": the rule `commit.lua` applies, stated once in Python.

Redis remembers, per schedule, a high-water mark: the latest nominal fire the leader committed in
order (enqueued, or skipped for overlap). The leader only ever plans fires after the schedule's
stored progress, so in-order fires go up; a fire at or below the mark is one that was handled, or
one the schedule's own sequence already passed. Fires enqueued out of order (a manual trigger,
later backfill) are recorded one by one, with a time after which the record may go. Markers
written by hasched 0.1 (one key per fire) are honoured until they expire.

So the dedupe state grows with schedules (one mark each, kept as a tombstone for the retention
after a delete) plus the out-of-order fires of the retention, never with in-order fires.
`decide` is the rule; the Lua mirrors it and `tests/test_dedupe.py` holds the two together.
"""

from __future__ import annotations

from enum import Enum

from hasched._triggers import US

DAY_US = 86_400 * US
# How long a deleted schedule's mark and an out-of-order record are kept at least.
MIN_RETENTION_US = 7 * DAY_US
# Expired tombstones or out-of-order records one script call removes, so no call does unbounded work.
TRIM_BATCH = 64


class Decision(Enum):
    """What the commit does with one planned fire of a schedule that is still as read."""

    CLAIMED = "C"  # handled before: never enqueued again
    NEW = "N"  # enqueue it (or skip it for overlap); either way the mark moves up to it


def decide(mark: int | None, fire_us: int, recorded: bool) -> Decision:
    """The rule of `commit.lua`: `recorded` is an out-of-order record or a 0.1 claim marker."""
    if (mark is not None and fire_us <= mark) or recorded:
        return Decision.CLAIMED
    return Decision.NEW


def advance(mark: int | None, fire_us: int) -> int:
    """The mark after a fire is handled in order (claimed fires never lower it)."""
    return fire_us if mark is None else max(mark, fire_us)


def retention_us(catchup_window: float) -> int:
    """How long a schedule's dedupe records outlive its fires: at least 7 days, and a day
    longer than its catch-up window (a fire can only be found due again within that window)."""
    return max(MIN_RETENTION_US, round(catchup_window * US) + DAY_US)
