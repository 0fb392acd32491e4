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

A fire at or below the mark was handled, not necessarily enqueued: it may have been missed
(paused, catch-up) or skipped for overlap, and fires before the schedule's first in-order fire
were never enqueued at all. Backfill needs the exact answer, so two more things are kept:

- the schedule's *origin*: its first fire handled in order (`origin` in its stats hash, set once
  by the commit that first sets the mark; a backfill may lower it to the start of its range);
- its *gaps*: stretches of time at or below the mark in which nothing was enqueued, in one
  namespace-wide lexicographic ZSET (`Keys.gaps`, members "id|<last µs, 16 digits>|<first µs>"),
  so a schedule's gap at a time is one ZRANGEBYLEX and no schedule has a key of its own. The
  commit writes them for missed stretches and fires skipped for overlap (a run of skips folds
  into one member), a resume for the fires missed while paused; a gap reaches down to just
  after the mark (nothing between was enqueued), and never down over a fire a backfill
  enqueued above the mark (`top` in the stats hash: the latest of those). At most GAP_CAP per
  schedule: dropping the oldest makes their fires count as enqueued, never the other way.

`enqueued_before` is the rule a backfill applies: a fire was enqueued before iff it has an
out-of-order record (or a 0.1 marker), or it lies in [origin, mark] in no gap. A schedule with a
mark but no origin (written by an older hasched, or re-created over its tombstone) counts
everything up to its mark as enqueued unless in a gap: conservative, never a double.
backfill.lua mirrors it (tests/test_backfill_rules.py holds the two together) and then records
what it did so the rule holds for its own fires too:

- while the leader cannot plan fires in the range (the schedule is paused, finished or its next
  fire is after the range), the mark moves up to the range's end, the origin down to its start,
  the unfilled stretch between the old mark and the range becomes a gap, and the range leaves
  the gaps: permanent, whatever expires;
- otherwise (the leader has due fires in the range it has not committed yet) each backfilled
  fire above the mark gets an out-of-order record, which the leader's commit treats as claimed;
  the mark passes it at the leader's next in-order fire, for good. Only a schedule whose next
  in-order fire does not come within the retention (paused right after, for longer) would lose
  the record before the mark passes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from hasched._triggers import US

DAY_US = 86_400 * US
# How long a deleted schedule's mark and an out-of-order record are kept at least.
MIN_RETENTION_US = 7 * DAY_US
# Expired tombstones or out-of-order records one script call removes, so no call does unbounded work.
TRIM_BATCH = 64
# Gaps kept per schedule at most (the oldest go first: their fires then count as enqueued).
GAP_CAP = 1000
# Width of the zero-padded last µs in a gap member, so members sort by it.
GAP_DIGITS = 16


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


Gap = tuple[int, int]  # (first µs, last µs), both included: no fire in it was enqueued


def enqueued_before(fire_us: int, mark: int | None, origin: int | None, gaps: Iterable[Gap],
                    recorded: bool) -> bool:  # fmt: skip
    """Whether a fire was enqueued before (backfill's rule; see the module docstring).
    `recorded` is an out-of-order record or a 0.1 claim marker of the fire."""
    if recorded:
        return True
    if mark is None or fire_us > mark or (origin is not None and fire_us < origin):
        return False
    return not any(first <= fire_us <= last for first, last in gaps)


def gap_member(schedule_id: str, first_us: int, last_us: int) -> str:
    """A gap's member of `Keys.gaps` (dedupe_lib.lua writes the same)."""
    return f"{schedule_id}|{last_us:0{GAP_DIGITS}d}|{first_us}"


def parse_gap(member: bytes | str) -> tuple[str, Gap]:
    """(schedule id, (first, last)) of a `Keys.gaps` member."""
    text = member.decode() if isinstance(member, bytes) else member
    sid, last, first = text.split("|")
    return sid, (int(first), int(last))
