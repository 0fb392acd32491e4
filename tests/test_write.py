"""Tests for hasched._write: what add, replace, update, pause and resume do to a schedule's
progress. Pure tables, no Redis; times are integer microseconds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hasched._model import Schedule, validate
from hasched._plan import State, due_time
from hasched._triggers import US, to_us
from hasched._write import keep_interval_start, plan_write
from hasched.errors import ValidationError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T0_US = to_us(T0)
MIN = 60 * US


def sched(**kw: Any) -> Schedule:
    kw.setdefault("id", "w")
    kw.setdefault("func", "app.tasks.job")
    return validate(Schedule(**kw))


CRON = sched(cron="*/5 * * * *")  # fires every 5 minutes, T0 included
EVERY = sched(every=60.0, start=T0)
NOW = T0_US + 7 * MIN  # 00:07: the cron's next fire is 00:10, the interval's 00:08
PROGRESS = State(T0_US + 5 * MIN, 1)  # an old next fire at 00:05, one fire consumed


@pytest.mark.parametrize(
    ("case", "new", "old", "old_state", "expected"),
    [
        ("create cron", CRON, None, None, State(T0_US + 10 * MIN)),
        ("create interval", EVERY, None, None, State(T0_US + 7 * MIN)),
        ("same fire times keep the progress", replace(CRON, queue="other"), CRON, PROGRESS, PROGRESS),
        ("a new cron starts afresh", sched(cron="*/3 * * * *"), CRON, PROGRESS, State(T0_US + 9 * MIN)),
        ("a new time zone starts afresh", replace(CRON, timezone="Asia/Kolkata"), CRON, PROGRESS,
         State(T0_US + 10 * MIN)),
        ("a trigger change resets the count", sched(every=120.0, start=T0), EVERY, PROGRESS,
         State(T0_US + 8 * MIN)),
        ("resume continues from now, count kept", CRON, replace(CRON, paused=True), PROGRESS,
         State(T0_US + 10 * MIN, 1)),
        ("pause keeps the progress", replace(CRON, paused=True), CRON, PROGRESS, PROGRESS),
        ("a finished schedule stays finished", replace(CRON, description="d"), CRON, State(None, 3),
         State(None, 3)),
    ],
)  # fmt: skip
def test_write_policy(case: str, new: Schedule, old: Schedule | None, old_state: State | None,
                      expected: State) -> None:  # fmt: skip
    assert plan_write(new, NOW, old, old_state).state == expected, case


def test_due_time_is_the_next_fire_plus_its_jitter_and_none_while_paused() -> None:
    jittery = sched(id="jw", every=60.0, start=T0, jitter=30.0)
    w = plan_write(jittery, NOW)
    assert w.state.next_us is not None
    assert w.due_us == due_time(jittery, w.state.next_us) > w.state.next_us
    assert plan_write(replace(jittery, paused=True), NOW).due_us is None
    assert plan_write(replace(CRON, description="x"), NOW, CRON, State(None, 2)).due_us is None


def test_an_interval_without_start_starts_at_its_creation_and_keeps_that_start() -> None:
    created = plan_write(sched(every=60.0), NOW).schedule
    assert created.start == T0 + timedelta(minutes=7)
    later = NOW + 90 * US
    again = plan_write(sched(every=60.0, description="re-declared"), later, created, State(NOW + MIN, 1))
    assert again.schedule.start == created.start
    assert again.state == State(NOW + MIN, 1)  # same fire times: progress kept
    changed = plan_write(sched(every=30.0), later, created, State(NOW + MIN, 1))
    assert to_us(changed.schedule.start) == later  # a new interval is a new grid, from now


@pytest.mark.parametrize(
    ("new", "old", "start"),
    [
        (sched(every=60.0), sched(every=60.0, start=T0), T0),
        (sched(every=60.0), sched(every=30.0, start=T0), None),  # another interval: no start kept
        (sched(every=60.0, start=T0 + timedelta(hours=1)), sched(every=60.0, start=T0),
         T0 + timedelta(hours=1)),  # an explicit start wins
        (sched(every=60.0), sched(cron="* * * * *", start=T0), None),
        (sched(cron="* * * * *"), sched(cron="* * * * *", start=T0), None),  # only intervals
        (sched(every=60.0), None, None),
    ],
)  # fmt: skip
def test_keep_interval_start(new: Schedule, old: Schedule | None, start: datetime | None) -> None:
    assert keep_interval_start(new, old).start == start


def test_an_at_older_than_the_catchup_window_is_refused_unless_paused() -> None:
    stale = sched(at=T0, catchup_window=60.0)
    with pytest.raises(ValidationError) as e:
        plan_write(stale, NOW)
    assert (e.value.field, e.value.schedule_id) == ("at", "w")
    assert plan_write(replace(stale, paused=True), NOW).state == State(T0_US)
    assert plan_write(sched(at=T0), NOW).state == State(T0_US)  # within a day: fires at once
