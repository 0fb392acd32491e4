"""Tests for hasched._plan: the pure core of a tick (catch-up, repeat, bounds, jitter).

All times are integer microseconds since the epoch; no Redis is involved.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hasched._model import Schedule, validate
from hasched._plan import (
    MAX_FIRES_PER_TICK,
    ON_TIME_GRACE_US,
    FireTime,
    Plan,
    State,
    due_time,
    initial_state,
    next_after,
    plan,
)
from hasched._runs import Missed
from hasched._triggers import US, from_us, jitter_us, next_cron, parse_cron, to_us

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T0_US = to_us(T0)
assert T0_US == 1_767_225_600 * US  # 2026-01-01T00:00:00Z, a multiple of every minute and hour
S = US  # one second in microseconds
MIN = 60 * S
H = 60 * MIN


def sched(**kw: Any) -> Schedule:
    """A validated schedule; the caller gives exactly one trigger."""
    kw.setdefault("id", "s1")
    kw.setdefault("func", "app.tasks.job")
    return validate(Schedule(**kw))


def every60(**kw: Any) -> Schedule:
    """Every minute from T0 (fires T0, T0+60s, ...)."""
    return sched(every=60.0, start=T0, **kw)


def at_us(us: int) -> datetime:
    return from_us(us)


def utc(text: str) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=UTC))


def times(p: Plan) -> list[int]:
    """The nominal times of a plan's fires."""
    return [f.fire_us for f in p.fires]


def drain(s: Schedule, state: State, now_us: int, limit: int = 100) -> tuple[list[int], int, State]:
    """plan() repeatedly at one instant until nothing due is left: (fires, missed, final state)."""
    fires: list[int] = []
    missed = 0
    for _ in range(limit):
        p = plan(s, state, now_us)
        fires += times(p)
        missed += p.missed
        state = p.state
        if state.next_us is None or state.next_us > now_us:
            return fires, missed, state
    raise AssertionError(f"still behind after {limit} calls: {state}")


# ------------------------------------------------------------------------ catch-up tables

# every=60s from T0, first fire T0, all instances down until `now`; offsets in seconds from T0.
# (catchup, window s, now offset s, enqueued offsets s, missed, next offset s, n)
CATCHUP_CASES = [
    # 11 overdue fires (0..600), all within the default 1-day window.
    ("latest", 86400.0, 630, [600], 10, 660, 11),
    ("all", 86400.0, 630, [0, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600], 0, 660, 11),
    ("skip", 86400.0, 630, [], 11, 660, 11),
    # window 150s at 630s: fires before 480s (0..420, 8 of them) are missed whatever the policy;
    # 480 itself is exactly catchup_window old, which is not "older than" the window.
    ("latest", 150.0, 630, [600], 10, 660, 11),
    ("all", 150.0, 630, [480, 540, 600], 8, 660, 11),
    ("skip", 150.0, 630, [], 11, 660, 11),
    # one microsecond less of window and 480 is older than it
    ("all", 149.999999, 630, [540, 600], 9, 660, 11),
    # every fire older than the window: only the count moves on
    ("all", 10.0, 630, [], 11, 660, 11),
    ("latest", 10.0, 630, [], 11, 660, 11),
    # exactly ON_TIME_GRACE late is on time: every policy enqueues it
    ("skip", 86400.0, 601, [600], 10, 660, 11),
    ("latest", 86400.0, 601, [600], 10, 660, 11),
    ("all", 86400.0, 601, list(range(0, 601, 60)), 0, 660, 11),
    # now exactly on a fire: it is due and on time
    ("skip", 86400.0, 600, [600], 10, 660, 11),
    # a single fire, on time or late
    ("skip", 86400.0, 0, [0], 0, 60, 1),
    ("skip", 86400.0, 59, [], 1, 60, 1),
    ("latest", 86400.0, 59, [0], 0, 60, 1),
]


@pytest.mark.parametrize(("catchup", "window", "now_s", "fires_s", "missed", "next_s", "n"), CATCHUP_CASES)
def test_catchup_after_downtime(
    catchup: str, window: float, now_s: int, fires_s: list[int], missed: int, next_s: int, n: int
) -> None:
    s = every60(catchup=catchup, catchup_window=window)
    p = plan(s, State(T0_US), T0_US + now_s * S)
    assert times(p) == [T0_US + f * S for f in fires_s]
    assert p.missed == missed
    assert p.state == State(T0_US + next_s * S, n)
    assert p.due_us == T0_US + next_s * S


def test_skip_enqueues_nothing_one_microsecond_past_the_grace() -> None:
    s = every60(catchup="skip")
    now = T0_US + 600 * S + ON_TIME_GRACE_US + 1
    p = plan(s, State(T0_US), now)
    expected = Plan(fires=[], missed=11, first_missed_us=T0_US, state=State(T0_US + 660 * S, 11),
                    due_us=T0_US + 660 * S,
                    stretches=(Missed("catchup_policy", T0_US, T0_US + 600 * S, 11),))  # fmt: skip
    assert p == expected


@pytest.mark.parametrize(
    ("catchup", "fires_s", "missed"),
    [
        # every 0.25s, now = 10s: fires 0, 0.25, ..., 10 (41); on time are those >= 9s (5 of them)
        ("all", [i / 4 for i in range(41)], 0),
        ("latest", [9.0, 9.25, 9.5, 9.75, 10.0], 36),
        ("skip", [9.0, 9.25, 9.5, 9.75, 10.0], 36),
    ],
)
def test_short_interval_fires_within_the_grace_are_all_on_time(
    catchup: str, fires_s: list[float], missed: int
) -> None:
    s = sched(every=0.25, start=T0, catchup=catchup)
    p = plan(s, State(T0_US), T0_US + 10 * S)
    assert times(p) == [T0_US + round(f * S) for f in fires_s]
    assert p.missed == missed
    assert p.state == State(T0_US + 10 * S + 250_000, 41)


def test_latest_with_a_single_overdue_fire_enqueues_it_however_late() -> None:
    s = every60(catchup="latest")
    p = plan(s, State(T0_US), T0_US + 59 * S)
    assert (times(p), p.missed, p.state) == ([T0_US], 0, State(T0_US + MIN, 1))


def test_all_is_capped_per_call_and_the_next_call_carries_on_exactly() -> None:
    s = sched(every=1.0, start=T0, catchup="all")
    now = T0_US + 2500 * S
    p1 = plan(s, State(T0_US), now)
    assert len(times(p1)) == MAX_FIRES_PER_TICK == 1000
    assert times(p1) == [T0_US + i * S for i in range(1000)]
    assert p1.missed == 0
    assert p1.state == State(T0_US + 1000 * S, 1000)
    assert p1.due_us == T0_US + 1000 * S  # still due: the leader comes straight back
    p2 = plan(s, p1.state, now)
    assert times(p2) == [T0_US + i * S for i in range(1000, 2000)]
    assert p2.state == State(T0_US + 2000 * S, 2000)
    p3 = plan(s, p2.state, now)
    assert times(p3) == [T0_US + i * S for i in range(2000, 2501)]
    assert p3.state == State(T0_US + 2501 * S, 2501)
    assert p3.due_us == T0_US + 2501 * S


def test_all_cap_counts_only_enqueued_fires_not_missed_ones() -> None:
    # 3000 fires older than the window are skipped arithmetically, then 1000 are enqueued.
    s = sched(every=1.0, start=T0, catchup="all", catchup_window=1500.0)
    now = T0_US + 4500 * S
    fires, missed, state = drain(s, State(T0_US), now)
    assert missed == 3000
    assert fires == [T0_US + i * S for i in range(3000, 4501)]
    assert state == State(T0_US + 4501 * S, 4501)


@pytest.mark.parametrize("catchup", ["latest", "skip"])
def test_more_than_a_tick_of_overdue_fires_latest_enqueues_only_the_most_recent(catchup: str) -> None:
    # every 10s, 2001 fires overdue (0 .. 20000s), the newest 5s late: all late, none on time.
    s = sched(every=10.0, start=T0, catchup=catchup)
    now = T0_US + 20_005 * S
    fires, missed, state = drain(s, State(T0_US), now)
    expected = [T0_US + 20_000 * S] if catchup == "latest" else []
    assert fires == expected
    assert missed == 2001 - len(expected)
    assert state == State(T0_US + 20_010 * S, 2001)


# ------------------------------------------------------------------------ repeat

# every=60s from T0, repeat 3 unless given; (kwargs, now offset s, fires s, missed, state, due)
REPEAT_CASES = [
    ({"catchup": "all"}, 120, [0, 60, 120], 0, State(None, 3)),
    ({"catchup": "all"}, 1000, [0, 60, 120], 0, State(None, 3)),  # nothing after the 3rd
    ({"catchup": "all"}, 60, [0, 60], 0, State(T0_US + 120 * S, 2)),
    ({"catchup": "latest"}, 1000, [120], 2, State(None, 3)),
    ({"catchup": "skip"}, 1000, [], 3, State(None, 3)),
    # missed fires count against repeat: all 3 are older than the window
    ({"catchup": "all", "catchup_window": 100.0}, 300, [], 3, State(None, 3)),
    # repeat 5, window 100s at 300s: 0..180 (4) missed, 240 enqueued, and that is the 5th
    ({"catchup": "all", "catchup_window": 100.0, "repeat": 5}, 300, [240], 4, State(None, 5)),
    ({"catchup": "latest", "catchup_window": 100.0, "repeat": 5}, 300, [240], 4, State(None, 5)),
    ({"catchup": "skip", "catchup_window": 100.0, "repeat": 5}, 300, [], 5, State(None, 5)),
    ({"catchup": "all", "repeat": 1}, 0, [0], 0, State(None, 1)),
]


@pytest.mark.parametrize(("kw", "now_s", "fires_s", "missed", "state"), REPEAT_CASES)
def test_repeat_retires_after_n_nominal_fires(
    kw: dict[str, Any], now_s: int, fires_s: list[int], missed: int, state: State
) -> None:
    kw = {"repeat": 3, **kw}
    s = every60(**kw)
    p = plan(s, State(T0_US), T0_US + now_s * S)
    assert times(p) == [T0_US + f * S for f in fires_s]
    assert p.missed == missed
    assert p.state == state
    assert p.due_us == state.next_us


def test_repeat_continues_counting_from_the_state() -> None:
    s = every60(repeat=3, catchup="all")
    p1 = plan(s, State(T0_US), T0_US + 60 * S)
    assert p1.state == State(T0_US + 120 * S, 2)
    p2 = plan(s, p1.state, T0_US + 10_000 * S)
    assert (times(p2), p2.missed, p2.state, p2.due_us) == ([T0_US + 120 * S], 0, State(None, 3), None)
    p3 = plan(s, p2.state, T0_US + 20_000 * S)
    assert p3 == Plan(fires=[], missed=0, state=State(None, 3), due_us=None)


def test_an_exhausted_state_never_fires_again() -> None:
    s = every60(repeat=2)
    p = plan(s, State(T0_US + 120 * S, 2), T0_US + 200 * S)
    assert (times(p), p.missed, p.state, p.due_us) == ([], 0, State(None, 2), None)


def test_cron_repeat_counts_every_missed_fire_even_past_the_walk_limit() -> None:
    # A cron firing every second, down for 20000 s with a 100 s window: its 12000 fires are all
    # older than the window, so the schedule is used up without enqueueing anything.
    s = sched(cron="* * * * * *", start=T0, repeat=12_000, catchup="all", catchup_window=100.0)
    fires, missed, state = drain(s, State(T0_US), T0_US + 20_000 * S)
    assert fires == []
    assert missed == 12_000
    assert state == State(None, 12_000)


# ------------------------------------------------------------------------ start / end


def test_nothing_before_start() -> None:
    s = sched(every=60.0, start=T0 + timedelta(hours=1))
    assert initial_state(s, T0_US) == State(T0_US + H)
    p = plan(s, State(T0_US + H), T0_US + 30 * MIN)
    assert p == Plan(fires=[], missed=0, state=State(T0_US + H), due_us=T0_US + H)
    assert next_after(s, T0_US - 10 * H) == T0_US + H
    assert next_after(s, T0_US + H - 1) == T0_US + H
    assert next_after(s, T0_US + H) == T0_US + H + MIN


@pytest.mark.parametrize(
    ("catchup", "window", "fires_s", "missed"),
    [
        ("all", 86400.0, [0, 60, 120], 0),
        ("latest", 86400.0, [120], 2),
        ("skip", 86400.0, [], 3),
        # all three older than the window: 3 missed, not one per window-length of slots
        ("all", 10.0, [], 3),
        ("latest", 10.0, [], 3),
    ],
)
def test_end_retires_the_schedule(catchup: str, window: float, fires_s: list[int], missed: int) -> None:
    s = every60(end=T0 + timedelta(seconds=150), catchup=catchup, catchup_window=window)
    p = plan(s, State(T0_US), T0_US + 1000 * S)
    assert times(p) == [T0_US + f * S for f in fires_s]
    assert p.missed == missed
    assert p.state == State(None, 3)
    assert p.due_us is None


def test_end_is_inclusive() -> None:
    s = every60(end=T0 + timedelta(seconds=120), catchup="all")
    assert next_after(s, T0_US + 60 * S) == T0_US + 120 * S
    assert next_after(s, T0_US + 120 * S) is None
    p = plan(s, State(T0_US), T0_US + 120 * S)
    assert (times(p), p.state) == ([T0_US, T0_US + 60 * S, T0_US + 120 * S], State(None, 3))


def test_start_and_end_bound_a_cron_schedule() -> None:
    s = sched(cron="0 * * * *", start=T0 + timedelta(minutes=30), end=T0 + timedelta(hours=3), catchup="all")
    state = initial_state(s, T0_US - H)
    assert state == State(T0_US + H)
    fires, missed, final = drain(s, state, T0_US + 10 * H)
    assert fires == [T0_US + H, T0_US + 2 * H, T0_US + 3 * H]
    assert (missed, final) == (0, State(None, 3))


# ------------------------------------------------------------------------ at


def test_at_fires_once() -> None:
    at = T0 + timedelta(seconds=10)
    s = sched(at=at)
    state = initial_state(s, T0_US)
    assert state == State(T0_US + 10 * S)
    p0 = plan(s, state, T0_US + 5 * S)
    assert p0 == Plan(fires=[], missed=0, state=state, due_us=T0_US + 10 * S)
    p1 = plan(s, state, T0_US + 10 * S)
    assert p1 == Plan(
        fires=[FireTime(T0_US + 10 * S, T0_US + 10 * S)], missed=0, state=State(None, 1), due_us=None
    )
    p2 = plan(s, p1.state, T0_US + 100 * S)
    assert p2 == Plan(fires=[], missed=0, state=State(None, 1), due_us=None)
    assert next_after(s, T0_US) == T0_US + 10 * S
    assert next_after(s, T0_US + 10 * S) is None


@pytest.mark.parametrize("catchup", ["latest", "all"])
def test_late_at_fires_within_the_window(catchup: str) -> None:
    s = sched(at=T0, catchup=catchup, catchup_window=3600.0)
    p = plan(s, State(T0_US), T0_US + 30 * MIN)
    assert (times(p), p.missed, p.state) == ([T0_US], 0, State(None, 1))


def test_at_older_than_the_window_is_missed() -> None:
    s = sched(at=T0, catchup="all", catchup_window=60.0)
    p = plan(s, State(T0_US), T0_US + 61 * S)
    assert p == Plan(fires=[], missed=1, first_missed_us=T0_US, state=State(None, 1), due_us=None,
                     stretches=(Missed("catchup_window", T0_US, T0_US, 1),))  # fmt: skip


@pytest.mark.parametrize(
    "bounds",
    [
        {"end": T0 + timedelta(seconds=5)},  # at after end
        {"start": T0 + timedelta(seconds=11)},  # at before start
    ],
)
def test_at_outside_start_end_never_fires(bounds: dict[str, datetime]) -> None:
    s = sched(at=T0 + timedelta(seconds=10), **bounds)
    assert next_after(s, T0_US) is None
    state = initial_state(s, T0_US)
    assert state == State(None)
    assert drain(s, state, T0_US + H) == ([], 0, State(None))


# ------------------------------------------------------------------------ cron in a time zone


@pytest.mark.parametrize(
    ("cron", "tz", "created", "now", "catchup", "fires", "next_fire"),
    [
        # New York, 09:00 local across the 2026-03-08 spring forward (EST -> EDT)
        (
            "0 9 * * *",
            "America/New_York",
            "2026-03-07T00:00",
            "2026-03-09T15:00",
            "all",
            ["2026-03-07T14:00", "2026-03-08T13:00", "2026-03-09T13:00"],
            "2026-03-10T13:00",
        ),
        (
            "0 9 * * *",
            "America/New_York",
            "2026-03-07T00:00",
            "2026-03-09T15:00",
            "latest",
            ["2026-03-09T13:00"],
            "2026-03-10T13:00",
        ),
        # Berlin, 02:30 local does not exist on 2026-03-29: it fires at the change (01:00Z)
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-03-28T00:00",
            "2026-03-30T12:00",
            "all",
            ["2026-03-28T01:30", "2026-03-29T01:00", "2026-03-30T00:30"],
            "2026-03-31T00:30",
        ),
        # Lord Howe falls back 30 min at 2026-04-04T15:00Z: 01:45 local happens twice
        (
            "45 * * * *",
            "Australia/Lord_Howe",
            "2026-04-04T13:00",
            "2026-04-04T16:30",
            "all",
            ["2026-04-04T13:45", "2026-04-04T14:45", "2026-04-04T15:15", "2026-04-04T16:15"],
            "2026-04-04T17:15",
        ),
        (
            "45 1 * * *",
            "Australia/Lord_Howe",
            "2026-04-04T13:00",
            "2026-04-04T16:30",
            "all",
            ["2026-04-04T14:45"],
            "2026-04-05T15:15",
        ),
    ],
)
def test_cron_in_a_time_zone(
    cron: str, tz: str, created: str, now: str, catchup: str, fires: list[str], next_fire: str
) -> None:
    s = sched(cron=cron, timezone=tz, catchup=catchup, catchup_window=7 * 86400.0)
    state = initial_state(s, utc(created))
    p = plan(s, state, utc(now))
    assert times(p) == [utc(f) for f in fires]
    assert p.state.next_us == utc(next_fire)
    assert times(p)[-1] < utc(now) < p.state.next_us


# ------------------------------------------------------------------------ jitter


def test_jitter_delays_the_due_time_but_fires_stay_nominal() -> None:
    s = sched(id="jittery", every=60.0, start=T0, jitter=20.0, catchup="all")
    p = plan(s, State(T0_US), T0_US + 130 * S)
    assert times(p) == [T0_US, T0_US + 60 * S, T0_US + 120 * S]  # nominal, not jittered
    nxt = T0_US + 180 * S
    assert p.state == State(nxt, 3)
    assert p.due_us == nxt + jitter_us("jittery", nxt, 20.0, 60 * S)
    assert p.due_us == due_time(s, nxt)
    assert nxt <= p.due_us < nxt + 20 * S


def test_the_plan_carries_each_fire_s_due_time() -> None:
    s = sched(id="carried", every=60.0, start=T0, jitter=20.0, catchup="all")
    p = plan(s, State(T0_US), T0_US + 130 * S)
    assert [f.due_us for f in p.fires] == [due_time(s, f) for f in times(p)]
    assert all(f.fire_us < f.due_us < f.fire_us + 20 * S for f in p.fires)  # this id's jitter is > 0


def test_jitter_values_are_spread_and_within_bounds() -> None:
    s = sched(id="spread", every=60.0, start=T0, jitter=20.0)
    delays = [due_time(s, T0_US + k * MIN) - (T0_US + k * MIN) for k in range(200)]
    assert all(0 <= d < 20 * S for d in delays)
    assert len(set(delays)) > 190  # a different pseudo-random delay per fire
    assert min(delays) < 2 * S and max(delays) > 18 * S


@pytest.mark.parametrize("jitter", [60.0, 3600.0])
def test_jitter_never_reaches_the_next_fire(jitter: float) -> None:
    s = sched(id="wide", every=60.0, start=T0, jitter=jitter)
    for k in range(200):
        nominal = T0_US + k * MIN
        assert nominal <= due_time(s, nominal) < nominal + MIN


def test_jitter_of_the_last_fire_before_end_uses_the_full_jitter() -> None:
    s = sched(id="last", every=60.0, start=T0, end=T0 + timedelta(seconds=60), jitter=600.0)
    nominal = T0_US + MIN
    assert due_time(s, nominal) == nominal + jitter_us("last", nominal, 600.0, None)


def test_zero_jitter_is_due_on_time() -> None:
    s = every60()
    assert due_time(s, T0_US + MIN) == T0_US + MIN


@pytest.mark.parametrize("catchup", ["latest", "all", "skip"])
def test_a_jittered_fire_acted_on_at_its_due_time_is_on_time(catchup: str) -> None:
    # The leader acts on a fire at nominal + jitter; that is not "late", even for catchup=skip.
    s = sched(id="jit-skip", every=60.0, start=T0, jitter=30.0, catchup=catchup)
    due = due_time(s, T0_US)
    assert due - T0_US > ON_TIME_GRACE_US  # this fire's delay is longer than the grace
    p = plan(s, State(T0_US), due + ON_TIME_GRACE_US // 2)
    assert (times(p), p.missed, p.state) == ([T0_US], 0, State(T0_US + MIN, 1))
    assert p.due_us == due_time(s, T0_US + MIN)


# ------------------------------------------------------------------------ initial_state


@pytest.mark.parametrize(
    ("kw", "now", "first"),
    [
        # every without start: the grid is anchored at the epoch (the store fills in a start)
        ({"every": 60.0}, T0_US, T0_US),
        ({"every": 60.0}, T0_US + 1, T0_US + MIN),
        ({"every": 60.0}, T0_US + 30 * S, T0_US + MIN),
        ({"every": 60.0, "start": T0 - timedelta(seconds=45)}, T0_US, T0_US + 15 * S),
        ({"every": 60.0, "start": T0 + timedelta(hours=2)}, T0_US, T0_US + 2 * H),
        ({"every": 0.01, "start": T0}, T0_US + 1, T0_US + 10_000),
        ({"every": 60.0, "start": T0, "end": T0 + timedelta(seconds=59)}, T0_US + 1, None),
        ({"cron": "*/15 * * * *"}, T0_US, T0_US),
        ({"cron": "*/15 * * * *"}, T0_US + 1, T0_US + 15 * MIN),
        ({"cron": "0 * * * *", "start": T0 + timedelta(hours=1, seconds=1)}, T0_US, T0_US + 2 * H),
        ({"cron": "0 9 * * *", "timezone": "Europe/Berlin"}, T0_US, T0_US + 8 * H),
        ({"cron": "0 0 * * *", "end": T0 + timedelta(hours=23)}, T0_US + 1, None),
        ({"at": T0 + timedelta(minutes=5)}, T0_US, T0_US + 5 * MIN),
        ({"at": T0 - timedelta(hours=1)}, T0_US, T0_US - H),  # in the past: fires at once
    ],
)
def test_initial_state(kw: dict[str, Any], now: int, first: int | None) -> None:
    assert initial_state(sched(**kw), now) == State(first, 0)


@settings(max_examples=200, deadline=None)
@given(
    step=st.integers(10_000, 3_600 * S),
    start_off=st.integers(-(10**12), 10**12),
    now_off=st.integers(-(10**12), 10**12),
)
def test_initial_state_is_the_first_grid_point_at_or_after_now(
    step: int, start_off: int, now_off: int
) -> None:
    start, now = T0_US + start_off, T0_US + now_off
    s = sched(every=step / US, start=at_us(start))
    first = initial_state(s, now).next_us
    assert first is not None
    assert (first - start) % step == 0
    assert first >= max(now, start)
    assert first == start or first - step < now


# ------------------------------------------------------------------------ properties: intervals


def _grid(first: int, step: int, last: int, end: int | None, limit: int | None) -> list[int]:
    """The nominal fires from `first` up to `last`, within end, at most `limit` of them."""
    stop = last if end is None else min(last, end)
    out = list(range(first, stop + 1, step))
    return out if limit is None else out[:limit]


@st.composite
def interval_cases(draw: st.DrawFn) -> tuple[Schedule, int, list[int]]:
    # every in [0.01, 3600] s, exact in microseconds
    step = draw(st.sampled_from([10_000, 250_000, S, 60 * S, 3_600 * S]) | st.integers(10_000, 3_600 * S))
    start = T0_US + draw(st.integers(-(10**11), 10**11))
    end = draw(st.none() | st.none() | st.integers(1, 3000 * step).map(lambda d: start + d))
    repeat = draw(st.none() | st.none() | st.integers(1, 60) | st.integers(900, 3000))
    catchup = draw(st.sampled_from(["latest", "all", "skip"]))
    # window: about some number of intervals, or anything up to ~1 day
    window_us = draw(st.integers(1, 3000).map(lambda k: k * step) | st.integers(1, 10**11))
    window_us = max(1, window_us + draw(st.integers(-2, 2)))
    created = start + draw(st.integers(-50 * step, 50 * step))
    # gaps between calls: whole intervals plus a little (near the grace) or plus anything
    gap = st.builds(lambda k, r: max(1, k * step + r), st.integers(0, 2500), st.integers(-2 * S, 2 * S))
    gaps = draw(st.lists(gap | st.integers(1, 3 * S), min_size=1, max_size=6))
    nows = []
    now = created
    for g in gaps:
        now += g
        nows.append(now)
    s = sched(
        every=step / US,
        start=at_us(start),
        end=None if end is None else at_us(end),
        repeat=repeat,
        catchup=catchup,
        catchup_window=window_us / US,
    )
    return s, created, nows


def _run(s: Schedule, state: State, nows: list[int]) -> list[tuple[int, Plan]]:
    """Thread the state through plan() at each now, then drain at the last now."""
    out = []
    for now in nows:
        p = plan(s, state, now)
        out.append((now, p))
        state = p.state
    for _ in range(100):
        if state.next_us is None or state.next_us > nows[-1]:
            return out
        p = plan(s, state, nows[-1])
        out.append((nows[-1], p))
        state = p.state
    raise AssertionError("never caught up")


def _check_call(s: Schedule, now: int, p: Plan, step: int, start: int, end: int | None) -> None:
    for f in times(p):
        assert (f - start) % step == 0  # (1) on the grid, exactly
        assert start <= f <= now  # (3)
        assert end is None or f <= end
    if s.catchup == "skip":
        assert all(now - f <= ON_TIME_GRACE_US for f in times(p))
    if s.catchup == "latest":
        late = [f for f in times(p) if now - f > ON_TIME_GRACE_US]
        assert len(late) <= 1
        if late:  # the one late fire enqueued is the most recent overdue one
            assert times(p) == late
            assert p.state.next_us is None or now - p.state.next_us <= ON_TIME_GRACE_US
    if p.state.next_us is not None:
        assert (p.state.next_us - start) % step == 0
        assert p.state.next_us > now or len(times(p)) == MAX_FIRES_PER_TICK or p.missed > 0
    assert p.due_us == p.state.next_us  # no jitter


@settings(max_examples=200, deadline=None)
@given(interval_cases())
def test_interval_plan_properties(case: tuple[Schedule, int, list[int]]) -> None:
    s, created, nows = case
    assert s.every is not None and s.start is not None
    step, start = round(s.every * US), to_us(s.start)
    end = None if s.end is None else to_us(s.end)
    state = initial_state(s, created)
    first = state.next_us
    runs = _run(s, state, nows)
    fires = [f for _, p in runs for f in times(p)]
    missed = sum(p.missed for _, p in runs)
    for now, p in runs:
        _check_call(s, now, p, step, start, end)
    assert fires == sorted(set(fires))  # (2) strictly increasing across calls, never repeated
    final = runs[-1][1].state
    assert len(fires) + missed == final.n  # (5)
    assert s.repeat is None or final.n <= s.repeat  # (6)
    slots = [] if first is None else _grid(first, step, nows[-1], end, s.repeat)
    # every slot up to the last now was consumed, no more (so the count is exact)
    assert final.n == len(slots)
    if final.next_us is not None:
        assert final.next_us == (slots[-1] + step if slots else first)
    if s.catchup == "all" and round(s.catchup_window * US) > nows[-1] - created:
        assert fires == slots  # (4) nothing lost
        assert missed == 0


@settings(max_examples=100, deadline=None)
@given(
    step=st.integers(10_000, 3_600 * S),
    jitter_ms=st.integers(0, 10_000_000),
    k=st.integers(0, 10**6),
    sid=st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
)
def test_jitter_property(step: int, jitter_ms: int, k: int, sid: str) -> None:
    s = sched(id=sid, every=step / US, start=T0, jitter=jitter_ms / 1000)
    nominal = T0_US + k * step
    due = due_time(s, nominal)
    assert nominal <= due < nominal + step
    assert due - nominal < max(1, jitter_ms * 1000)
    p = plan(s, State(nominal, k), nominal - 1)
    assert (times(p), p.due_us) == ([], due)


# ------------------------------------------------------------------------ properties: cron

CRON_ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]
# Instants near the 2026 transitions of those zones, so runs often cross one.
DST_CHANGES = [
    utc("2026-03-08T07:00"),
    utc("2026-11-01T06:00"),
    utc("2026-03-29T01:00"),
    utc("2026-10-25T01:00"),
    utc("2026-10-03T15:30"),
    utc("2026-04-04T15:00"),
]
cron_exprs = st.builds(
    lambda sec, minute, hour, dom, dow: f"{sec}{minute} {hour} {dom} * {dow}",
    st.sampled_from(["", "", "0 ", "*/30 "]),
    st.sampled_from(["0", "30", "*/15", "0,45", "10-12", "*/20"]),
    st.sampled_from(["*", "*", "*", "1", "2", "*/6", "1-3", "9,17"]),
    st.sampled_from(["*", "*", "*", "*", "*", "1", "*/10"]),
    st.sampled_from(["*", "*", "*", "*", "*", "1-5", "0"]),
)


@st.composite
def cron_cases(draw: st.DrawFn) -> tuple[Schedule, int, list[int]]:
    expr = draw(cron_exprs)
    tz = draw(st.sampled_from(CRON_ZONES))
    hours = st.builds(lambda h, r: max(1, h * H + r), st.integers(0, 30), st.integers(-2 * S, 2 * S))
    base = draw(st.sampled_from(DST_CHANGES)) + draw(st.integers(-36, 6)) * H + draw(st.integers(0, H))
    start = draw(st.none() | st.none() | st.integers(-30 * H, 30 * H).map(lambda d: base + d))
    end = draw(st.none() | st.none() | hours.map(lambda d: max(base, start or base) + d))
    repeat = draw(st.none() | st.none() | st.integers(1, 20))
    catchup = draw(st.sampled_from(["latest", "all", "skip"]))
    window = draw(st.integers(60, 6 * 3600) | st.integers(1, 3 * 86400))
    gaps = draw(st.lists(hours | st.integers(1, 5 * S), min_size=1, max_size=5))
    nows, now = [], base
    for gap in gaps:
        now += gap
        nows.append(now)
    s = sched(
        cron=expr,
        timezone=tz,
        start=None if start is None else at_us(start),
        end=None if end is None else at_us(end),
        repeat=repeat,
        catchup=catchup,
        catchup_window=float(window),
    )
    return s, base, nows


def _cron_fires(s: Schedule, first: int | None, last: int) -> list[int]:
    """Every nominal fire from `first` to `last` by iterating next_cron directly."""
    assert s.cron is not None
    spec, tz = parse_cron(s.cron), ZoneInfo(s.timezone)
    end = None if s.end is None else to_us(s.end)
    out: list[int] = []
    cur = first
    while cur is not None and cur <= last and (end is None or cur <= end):
        if s.repeat is not None and len(out) >= s.repeat:
            break
        out.append(cur)
        cur = to_us(next_cron(spec, tz, from_us(cur)))
    return out


@settings(max_examples=120, deadline=None)
@given(cron_cases())
def test_cron_plan_properties(case: tuple[Schedule, int, list[int]]) -> None:
    s, created, nows = case
    assert s.cron is not None
    spec, tz = parse_cron(s.cron), ZoneInfo(s.timezone)
    start = None if s.start is None else to_us(s.start)
    end = None if s.end is None else to_us(s.end)
    state = initial_state(s, created)
    runs = _run(s, state, nows)
    fires = [f for _, p in runs for f in times(p)]
    missed = sum(p.missed for _, p in runs)
    for now, p in runs:
        for f in times(p):
            assert f <= now  # (3)
            assert start is None or f >= start
            assert end is None or f <= end
            assert to_us(next_cron(spec, tz, from_us(f - 1))) == f  # a real fire time
    assert fires == sorted(set(fires))  # (2)
    final = runs[-1][1].state
    assert len(fires) + missed == final.n
    assert s.repeat is None or final.n <= s.repeat
    slots = _cron_fires(s, state.next_us, nows[-1])
    assert final.n == len(slots)
    if s.catchup == "all" and round(s.catchup_window * US) > nows[-1] - created:
        assert fires == slots


def test_a_late_tick_never_sends_a_jittered_fire_before_its_due_time() -> None:
    s = every60(jitter=30.0, catchup="all")
    # The leader comes back 125 s after T0: T0 and T0+60 s are due (with their jitter), but
    # T0+120 s is due only once its own jitter (8.79 s for this id) has passed too.
    assert due_time(s, T0_US + 2 * MIN) == T0_US + 2 * MIN + 8_791_657
    p = plan(s, State(T0_US), T0_US + 125 * S)
    assert times(p) == [T0_US, T0_US + MIN]
    assert p.state.next_us == T0_US + 2 * MIN


@pytest.mark.parametrize("policy", ["latest", "all", "skip"])
def test_a_one_off_in_the_past_fires_at_once_whatever_the_policy(policy: str) -> None:
    s = sched(at=T0, catchup=policy)
    p = plan(s, initial_state(s, T0_US + 10 * MIN), T0_US + 10 * MIN)
    assert times(p) == [T0_US] and p.missed == 0 and p.state.next_us is None
