"""Backfill's rule "was this fire enqueued before?": the pure rule in tables, and the Lua that
mirrors it (backfill.lua in a dry run, through a real Redis) held to it on chosen and on random
states of mark, origin, gaps and out-of-order records."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from hasched import Scheduler
from hasched._backfill import Chunk
from hasched._dedupe import Gap, enqueued_before, gap_member, parse_gap
from hasched._jobs import JobTemplate
from hasched._store import Store

NS = "r"
T = 1_700_000_000_123_457  # odd digits catch a time printed as 1.7e+15
FAR = 2**52


@pytest.mark.parametrize(
    ("fire", "mark", "origin", "gaps", "recorded", "expected"),
    [
        (T, None, None, (), False, False),  # the schedule never committed a fire
        (T, None, None, (), True, True),  # ... but this one was enqueued out of order
        (T, T, T, (), False, True),  # its first fire
        (T + 5, T, T, (), False, False),  # above the mark: not handled yet
        (T + 5, T, T, (), True, True),  # ... unless recorded out of order
        (T - 1, T, T, (), False, False),  # before its origin: never enqueued
        (T - 1, T + 9, None, (), False, True),  # no origin (older data): counts as enqueued
        (T + 3, T + 9, T, ((T + 2, T + 4),), False, False),  # in a gap: missed or skipped
        (T + 2, T + 9, T, ((T + 2, T + 4),), False, False),  # a gap's ends are in it
        (T + 4, T + 9, T, ((T + 2, T + 4),), False, False),
        (T + 5, T + 9, T, ((T + 2, T + 4),), False, True),  # just after the gap
        (T + 3, T + 9, T, ((T + 2, T + 4),), True, True),  # recorded wins over a gap
        (T + 3, T + 9, None, ((T + 2, T + 4),), False, False),  # a gap counts without an origin too
    ],
)
def test_enqueued_before(fire: int, mark: int | None, origin: int | None, gaps: tuple[Gap, ...],
                         recorded: bool, expected: bool) -> None:  # fmt: skip
    assert enqueued_before(fire, mark, origin, gaps, recorded) is expected


def test_gap_members_sort_by_their_last_time_and_read_back() -> None:
    members = [gap_member("a", 5, 10**15), gap_member("a", 1, 2), gap_member("a", 3, 999)]
    assert [parse_gap(m) for m in sorted(members)] == [("a", (1, 2)), ("a", (3, 999)), ("a", (5, 10**15))]
    # a schedule's gaps are exactly the members from "id|" up to "id}": no other id's fall in there
    for other in ("a-b", "ab", "a_", "a0", "aZ", "az", "A", "b"):
        assert not "a|" <= gap_member(other, 0, 10**15) < "a}"


# -- the Lua mirror: backfill.lua in a dry run answers C exactly where the rule says enqueued ----


def lua_answers(redis: Redis, fires: list[int]) -> str:
    store = Store(redis, NS)
    stored = store.get_stored("s")
    s = stored.schedule
    chunk = Chunk(store.keys, s, JobTemplate(s, redis), "allow", store.now_us())
    keys, args = chunk.call(min(fires) - 1, max(fires), fires, stored.rev, dry_run=True)
    return store.scripts.backfill(keys, args)


def set_state(
    redis: Redis, mark: int | None, origin: int | None, gaps: list[Gap], recorded: list[int]
) -> None:
    store = Store(redis, NS)
    k = store.keys
    pipe = redis.pipeline()
    pipe.delete(k.mark("s"), k.stats("s"), k.gaps, k.out_of_order)
    if mark is not None:
        pipe.hset(k.mark("s"), "s", mark)
    if origin is not None:
        pipe.hset(k.stats("s"), "origin", origin)
    for first, last in gaps:
        pipe.zadd(k.gaps, {gap_member("s", first, last): 0})
    for fire in recorded:
        pipe.zadd(k.out_of_order, {f"s|{fire}": FAR})
    pipe.zadd(k.gaps, {gap_member("r", T, T + 100): 0, gap_member("t", T, T + 100): 0})  # neighbours
    pipe.execute()


def expected(
    fires: list[int], mark: int | None, origin: int | None, gaps: list[Gap], recorded: list[int]
) -> str:
    return "".join("C" if enqueued_before(f, mark, origin, gaps, f in recorded) else "E" for f in fires)


def test_lua_mirrors_the_rule_on_chosen_states(redis: Redis) -> None:
    Scheduler(redis, NS).every("s", 3600, "jobs.record")
    fires = list(range(T - 2, T + 12))
    cases: list[tuple[int | None, int | None, list[Gap], list[int]]] = [
        (None, None, [], []),
        (None, None, [], [T + 1]),
        (T + 9, T, [], []),
        (T + 9, None, [], [T + 11]),
        (T + 9, T, [(T + 2, T + 4), (T + 6, T + 6)], [T + 3, T - 1]),
        (T + 9, T + 1, [(T - 2, T + 9)], []),
    ]
    for mark, origin, gaps, recorded in cases:
        set_state(redis, mark, origin, gaps, recorded)
        assert lua_answers(redis, fires) == expected(fires, mark, origin, gaps, recorded), (
            mark,
            origin,
            gaps,
        )


def disjoint_gaps(points: list[int]) -> list[Gap]:
    ends = sorted(set(points))
    return [(T + ends[i], T + ends[i + 1]) for i in range(0, len(ends) - 1, 2)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mark=st.none() | st.integers(0, 40),
    origin=st.none() | st.integers(0, 40),
    points=st.lists(st.integers(0, 40), max_size=8),
    recorded=st.lists(st.integers(0, 40), max_size=5),
)
def test_lua_mirrors_the_rule_on_random_states(redis: Redis, mark: int | None, origin: int | None,
                                               points: list[int], recorded: list[int]) -> None:  # fmt: skip
    if not redis.exists(Store(redis, NS).keys.defs):
        Scheduler(redis, NS).every("s", 3600, "jobs.record")
    fires = list(range(T, T + 41))
    m = None if mark is None else T + mark
    o = None if origin is None else T + origin
    gaps = disjoint_gaps(points)
    rec = [T + r for r in recorded]
    set_state(redis, m, o, gaps, rec)
    assert lua_answers(redis, fires) == expected(fires, m, o, gaps, rec)
