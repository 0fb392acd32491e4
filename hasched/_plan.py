"""What the leader does with one schedule at one instant: the pure core of a tick.

Times are integer microseconds since the Unix epoch (UTC), read from Redis's clock by the caller.
Nothing here touches Redis or RQ, so every rule (repeat, start/end, catch-up, jitter) is tested
with plain tables and hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from hasched._model import Schedule
from hasched._runs import Missed
from hasched._triggers import US, from_us, jitter_us, next_cron, next_every, parse_cron, to_us

MAX_FIRES_PER_TICK = 1000
# A fire at most this late counts as on time: it is enqueued whatever the catch-up policy, so a
# busy leader or a very short interval never turns ordinary latency into "missed" fires.
ON_TIME_GRACE_US = 1 * US
# Overdue fires of a cron schedule that are counted one by one before the rest is jumped over.
_MAX_MISSED_WALK = 10_000


@dataclass(frozen=True, slots=True)
class State:
    """A schedule's progress: its next nominal fire (None once finished) and fires consumed."""

    next_us: int | None
    n: int = 0


@dataclass(frozen=True, slots=True)
class FireTime:
    """One fire of a schedule: its nominal time and its due time (nominal plus its jitter)."""

    fire_us: int
    due_us: int


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome of planning one schedule at `now`: fires to enqueue and the state after them."""

    fires: list[FireTime] = field(default_factory=list)
    missed: int = 0
    first_missed_us: int | None = None  # the earliest missed fire, for the log
    state: State = State(None)
    due_us: int | None = None
    stretches: tuple[Missed, ...] = ()  # the missed fires as run records, oldest first


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def next_after(s: Schedule, after_us: int) -> int | None:
    """The schedule's first nominal fire strictly after `after_us`, within start/end, or None."""
    floor_us = after_us
    if s.start is not None:
        floor_us = max(floor_us, to_us(s.start) - 1)
    if s.at is not None:
        nxt: int | None = to_us(s.at) if to_us(s.at) > floor_us else None
    elif s.every is not None:
        start_us = to_us(s.start) if s.start is not None else 0
        nxt = next_every(start_us, every_us(s.every), floor_us)
    else:
        assert s.cron is not None
        nxt = _cron_after(s.cron, s.timezone, floor_us)
    if nxt is not None and s.end is not None and nxt > to_us(s.end):
        return None
    return nxt


@lru_cache(maxsize=4096)
def _cron_after(expr: str, zone: str, floor_us: int) -> int:
    """The first time of `expr` in `zone` after `floor_us`: cached, as many schedules share a
    cron and are planned at the same instant (a bulk create; a tick where they all fire)."""
    return to_us(next_cron(parse_cron(expr), _zone(zone), from_us(floor_us)))


def every_us(every: float) -> int:
    """An interval in whole microseconds (the unit of every fire time)."""
    return max(1, round(every * US))


def initial_state(s: Schedule, now_us: int) -> State:
    """The state of a schedule created (or resumed, or re-triggered) at `now`.

    Its first fire is the first fire time at or after now; an `at` in the past fires at once
    (creation rejects one older than the catch-up window).
    """
    if s.at is not None:
        return State(next_after(s, to_us(s.at) - 1))  # the `at` time, unless outside start/end
    return State(next_after(s, now_us - 1))


def due_time(s: Schedule, nominal_us: int) -> int:
    """When the leader should act on a nominal fire: the fire time plus its fixed jitter."""
    if s.jitter <= 0:
        return nominal_us
    following = next_after(s, nominal_us)
    gap = None if following is None else following - nominal_us
    return nominal_us + jitter_us(s.id, nominal_us, s.jitter, gap)


def plan(s: Schedule, state: State, now_us: int) -> Plan:
    """Which fires of `s` to enqueue at `now`, how many are missed, and the state after them.

    Each fire's due time (nominal plus jitter) is worked out once, here, and carried in the plan.
    """
    window_start = now_us - round(s.catchup_window * US)
    nxt = state.next_us
    if _one_off_due(s, state, window_start, now_us):  # most of a burst: what the loop below gives
        assert nxt is not None
        return Plan([FireTime(nxt, nxt)], state=State(None, state.n + 1))
    pending: list[FireTime] = []
    missed, first_missed = 0, None
    stretches: list[Missed] = []
    n = state.n
    due = _due(s, nxt)
    while due is not None and due <= now_us and not _exhausted(s, n):
        if len(pending) >= MAX_FIRES_PER_TICK:
            break  # the rest is still due: the next tick carries on from here
        assert nxt is not None  # a due time is only had for a fire time
        if nxt < window_start:
            first_missed = nxt if first_missed is None else first_missed
            skipped, last, new_next, n = _skip_to_window(s, nxt, n, window_start)
            if skipped:
                stretches.append(Missed("catchup_window", nxt, last, skipped))
            nxt = new_next
            missed, due = missed + skipped, _due(s, nxt)
            if nxt is not None and nxt < window_start:
                break  # walked as far as one tick may: the next tick carries on from here
            continue
        pending.append(FireTime(nxt, due))
        nxt, n = next_after(s, nxt), n + 1
        due = _due(s, nxt)
    if _exhausted(s, n):
        nxt = due = None
    more = due is not None and due <= now_us  # cut short: more overdue fires follow
    fires, dropped = _apply_catchup(s, pending, now_us, more)
    if dropped:  # a policy keeps the latest fires, so the earliest are dropped
        first_missed = pending[0].fire_us if first_missed is None else first_missed
        stretches.append(Missed("catchup_policy", pending[0].fire_us, pending[dropped - 1].fire_us, dropped))
    first = first_missed if missed + dropped else None
    return Plan(fires, missed + dropped, first, State(nxt, n), due, tuple(stretches))


def _one_off_due(s: Schedule, state: State, window_start: int, now_us: int) -> bool:
    """A one-off without jitter whose one fire is due now and within its catch-up window."""
    nxt = state.next_us
    if s.at is None or nxt is None or s.jitter > 0 or not window_start <= nxt <= now_us:
        return False
    return nxt == to_us(s.at) and not _exhausted(s, state.n)


def _due(s: Schedule, nominal_us: int | None) -> int | None:
    return None if nominal_us is None else due_time(s, nominal_us)


def _exhausted(s: Schedule, n: int) -> bool:
    return s.repeat is not None and n >= s.repeat


def _skip_to_window(s: Schedule, nxt: int, n: int, window_start: int) -> tuple[int, int, int | None, int]:
    """Count fires older than the catch-up window as missed and move past them: (how many, the
    last of them, the next fire, fires consumed)."""
    if s.every is not None:
        step = every_us(s.every)
        count = (window_start - nxt + step - 1) // step
        if s.repeat is not None:
            count = min(count, s.repeat - n)
        if s.end is not None:
            count = min(count, max(0, (to_us(s.end) - nxt) // step + 1))  # no fires after end
        new_next = nxt + count * step
        last = nxt + max(0, count - 1) * step
        if s.end is not None and new_next > to_us(s.end):
            return count, last, None, n + count
        return count, last, new_next, n + count
    count, last = 0, nxt
    cur: int | None = nxt
    while cur is not None and cur < window_start and not _exhausted(s, n + count):
        if count >= _MAX_MISSED_WALK:
            if s.repeat is not None:
                return count, last, cur, n + count  # every missed fire counts against repeat
            return count, last, next_after(s, window_start - 1), n + count
        last = cur
        cur, count = next_after(s, cur), count + 1
    return count, last, cur, n + count


def _apply_catchup(
    s: Schedule, pending: list[FireTime], now_us: int, more: bool
) -> tuple[list[FireTime], int]:
    """Keep the fires the catch-up policy allows; the rest are missed (README: Schedules, catch-up).

    A fire is on time when acted on within the grace of its due time (nominal + jitter). When
    `more` overdue fires follow, the last late one of `pending` is not the most recent.
    """
    if s.catchup == "all" or s.at is not None or not pending:
        return pending, 0  # a one-off within its window fires at once, whatever the policy
    on_time = [f for f in pending if now_us - f.due_us <= ON_TIME_GRACE_US]
    late = pending[: len(pending) - len(on_time)]
    if s.catchup == "latest" and late and not on_time and not more:
        return [late[-1]], len(late) - 1
    return on_time, len(late)
