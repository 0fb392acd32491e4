"""What a client write (add, replace, update, pause, resume) does to a schedule's progress.

Pure: no Redis, no RQ; `now` is Redis's clock, read by the caller. The store reads the old record,
asks `plan_write`, and stores the answer in one atomic step (retried when another writer got in
between), so these rules are tested with tables alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hasched._model import Schedule
from hasched._plan import State, due_time, every_us, initial_state, next_after
from hasched._runs import Missed
from hasched._triggers import US, from_us, to_us
from hasched.errors import ValidationError

MAX_PAUSED_WALK = 10_000


@dataclass(frozen=True, slots=True)
class Write:
    """What to store: the schedule, its progress, and when the leader must next act on it
    (`due_us`, nominal time plus jitter; None while paused or once finished)."""

    schedule: Schedule
    state: State
    due_us: int | None
    missed: Missed | None = None  # the fires that fell due while paused, on a resume


def plan_write(
    new: Schedule, now_us: int, old: Schedule | None = None, old_state: State | None = None
) -> Write:
    """The write of `new` over `old` (None: a create) at `now`.

    - A create, or a change of the fire times (trigger, timezone, start), starts afresh: the
      first fire is the first fire time at or after now (an `at` in the past fires at once, but
      one older than the catch-up window is refused).
    - A resume (paused -> not paused) with the same fire times continues from now: fires that
      fell due while paused are not enqueued; the count of fires so far is kept.
    - Otherwise the progress is kept as it is: nothing re-fires, nothing is skipped.
    """
    s = _with_start(new, old, now_us)
    missed = None
    if old is None or old_state is None or old.trigger_key() != s.trigger_key():
        check_at_not_stale(s, now_us)
        state = initial_state(s, now_us)
    elif old.paused and not s.paused:
        state = State(next_after(s, now_us - 1), old_state.n)
        missed = paused_stretch(s, old_state, now_us)
    else:
        state = old_state
    due = None if s.paused or state.next_us is None else due_time(s, state.next_us)
    return Write(s, state, due, missed)


def paused_stretch(s: Schedule, old: State, now_us: int) -> Missed | None:
    """The fires that fell due while `s` was paused (from its pending fire up to now), as one
    missed record; None when there were none. Cron fires are counted up to MAX_PAUSED_WALK."""
    first = old.next_us
    if first is None or first >= now_us:
        return None
    left = None if s.repeat is None else s.repeat - old.n
    if left is not None and left <= 0:
        return None
    if s.every is not None:
        step = every_us(s.every)
        count = (now_us - 1 - first) // step + 1
        if s.end is not None:
            count = min(count, max(0, (to_us(s.end) - first) // step + 1))
        count = count if left is None else min(count, left)
        return Missed("paused", first, first + (count - 1) * step, count) if count else None
    count, last = 0, first
    cur: int | None = first
    while cur is not None and cur < now_us and count < MAX_PAUSED_WALK and (left is None or count < left):
        count, last, cur = count + 1, cur, next_after(s, cur)
    return Missed("paused", first, last, count)


def keep_interval_start(s: Schedule, old: Schedule | None) -> Schedule:
    """An interval declared without a start keeps the start it was first stored with while the
    interval is the same, so re-declaring it (at every application start, from a file) never
    moves its fire times."""
    if s.every is None or s.start is not None or old is None or old.every != s.every:
        return s
    return s if old.start is None else replace(s, start=old.start)


def _with_start(s: Schedule, old: Schedule | None, now_us: int) -> Schedule:
    """An interval without a start starts at its creation; a re-declare keeps that start."""
    s = keep_interval_start(s, old)
    if s.every is not None and s.start is None:
        return replace(s, start=from_us(now_us))
    return s


def check_at_not_stale(s: Schedule, now_us: int) -> None:
    """A one-off written anew must be within its catch-up window (ValidationError otherwise)."""
    if s.at is not None and not s.paused and to_us(s.at) < now_us - round(s.catchup_window * US):
        raise ValidationError("at", f"{s.at.isoformat()} is older than the catch-up window", schedule_id=s.id)
