"""The dedupe rules: the pure rule, the Lua that mirrors it (through a real Redis), and what each
client action (replace, delete + re-create, trigger) does to fires already enqueued."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis
from rq import Queue

from hasched import Scheduler
from hasched._commit import Batch
from hasched._dedupe import DAY_US, MIN_RETENTION_US, Decision, advance, decide, retention_us
from hasched._jobs import JobTemplate
from hasched._lease import Lease
from hasched._plan import FireTime, Plan
from hasched._store import Store
from hasched._tick import Ticker
from hasched._triggers import from_us

NS = "d"
T = 1_700_000_000_123_457  # a fire time in µs; odd digits catch a mark written as 1.7e+15
FAR = 2**52  # a record kept far beyond any test


# -- the pure rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mark", "fire", "recorded", "expected"),
    [
        (None, T, False, Decision.NEW),  # first fire of a schedule
        (T, T + 1, False, Decision.NEW),  # in order: above the mark
        (T, T, False, Decision.CLAIMED),  # the same fire again (a stale plan, a re-created `at`)
        (T, T - 1, False, Decision.CLAIMED),  # below the mark: passed by the schedule already
        (None, T, True, Decision.CLAIMED),  # recorded out of order, or a 0.1 marker
        (T, T + 5, True, Decision.CLAIMED),
    ],
)
def test_decide(mark: int | None, fire: int, recorded: bool, expected: Decision) -> None:
    assert decide(mark, fire, recorded) is expected


def test_advance_only_moves_up() -> None:
    assert advance(None, T) == T
    assert advance(T, T + 1) == T + 1
    assert advance(T + 1, T) == T + 1


@pytest.mark.parametrize(
    ("window_s", "kept_us"),
    [(60, MIN_RETENTION_US), (86_400, MIN_RETENTION_US), (30 * 86_400, 31 * DAY_US)],
)
def test_retention_is_a_week_or_a_day_past_the_window(window_s: float, kept_us: int) -> None:
    assert retention_us(window_s) == kept_us


# -- the Lua, driven with chosen fire times through the real Batch -------------------------------


def leader(redis: Redis) -> tuple[Store, Lease]:
    store = Store(redis, NS)
    lease = Lease(store.scripts, "a", 10)
    assert lease.try_acquire()
    return store, lease


def commit(store: Store, lease: Lease, sid: str, fires: list[int]) -> str:
    """Commit `fires` of `sid` as the leader would (the schedule's progress is left as it is)."""
    stored = store.get_stored(sid)
    batch = Batch(store.keys, lease.value, lease.epoch, from_us(store.now_us()))
    plan = Plan(fires=[FireTime(f, f) for f in fires], state=stored.state, due_us=stored.state.next_us)
    batch.add(stored, plan, JobTemplate(stored.schedule, store.redis), None)
    return store.scripts.commit(batch.keys, batch.args)


def mark_of(store: Store, sid: str) -> int | None:
    raw = store.redis.hget(store.keys.mark(sid), sid)
    return None if raw is None else int(raw)


def enqueued(redis: Redis) -> Counter[str]:
    return Counter(x.decode() for x in redis.lrange("rq:queue:default", 0, -1))


@pytest.mark.parametrize(
    ("mark", "record", "fire"),
    [
        (None, None, T),
        (T, None, T),
        (T, None, T - 1),
        (T, None, T + 1),
        (None, "ooo", T),
        (T, "ooo", T + 5),
        (None, "legacy", T),
        (T, "legacy", T + 5),
    ],
)
def test_commit_lua_mirrors_decide(redis: Redis, mark: int | None, record: str | None, fire: int) -> None:
    store, lease = leader(redis)
    Scheduler(redis, NS).every("s", 3600, "jobs.record")
    if mark is not None:
        redis.hset(store.keys.mark("s"), "s", mark)
    if record == "ooo":
        redis.zadd(store.keys.out_of_order, {f"s|{fire}": FAR})
    elif record == "legacy":
        redis.set(store.keys.legacy_claim("s", fire), 1, px=60_000)
    expected = decide(mark, fire, record is not None)
    assert commit(store, lease, "s", [fire]) == ("E" if expected is Decision.NEW else "C")
    assert mark_of(store, "s") == (advance(mark, fire) if expected is Decision.NEW else mark)
    assert sum(enqueued(redis).values()) == (expected is Decision.NEW)


def test_mark_keeps_every_microsecond_and_no_claim_keys_are_written(redis: Redis) -> None:
    store, lease = leader(redis)
    Scheduler(redis, NS).every("s", 3600, "jobs.record")
    assert commit(store, lease, "s", [T, T + 1_000_001]) == "EE"
    assert redis.hget(store.keys.mark("s"), "s") == str(T + 1_000_001).encode()
    assert redis.keys(f"{{{NS}}}:claim:*") == []


def test_overlap_skip_moves_the_mark_so_the_fire_never_comes_back(redis: Redis) -> None:
    store, lease = leader(redis)
    Scheduler(redis, NS).every("ov", 3600, "jobs.record", overlap="skip")
    ticker = Ticker(store, redis)
    later = store.now_us() + 3 * 3_600_000_000
    report = ticker.tick(lease.value, lease.epoch, later)  # catch-up latest: one fire
    assert len(report.outcome.enqueued) == 1
    fire = report.outcome.enqueued[0].fire_us
    stored = store.get_stored("ov")
    batch = Batch(store.keys, lease.value, lease.epoch, from_us(later))
    plan = Plan(fires=[FireTime(fire + 1, fire + 1)], state=stored.state, due_us=stored.state.next_us)
    batch.add(stored, plan, JobTemplate(stored.schedule, redis), report.outcome.enqueued[0].job_id)
    assert store.scripts.commit(batch.keys, batch.args) == "O"
    assert commit(store, lease, "ov", [fire + 1]) == "C"


# -- client actions ------------------------------------------------------------------------------


def test_delete_and_recreate_keeps_the_mark(redis: Redis) -> None:
    store, lease = leader(redis)
    sched = Scheduler(redis, NS)
    sched.every("s", 3600, "jobs.record")
    assert commit(store, lease, "s", [T, T + 10]) == "EE"
    sched.cancel("s")
    assert redis.zscore(store.keys.mark_tombstones, "s") is not None
    sched.every("s", 3600, "jobs.record")
    assert commit(store, lease, "s", [T + 10, T + 20]) == "CE"
    assert enqueued(redis).most_common(1)[0][1] == 1


def test_replace_with_a_new_trigger_fires_only_after_the_mark(redis: Redis) -> None:
    store, lease = leader(redis)
    sched = Scheduler(redis, NS)
    sched.at("s", from_us(store.now_us()), "jobs.record")
    first = Ticker(store, redis).tick(lease.value, lease.epoch, store.now_us()).outcome.enqueued
    assert len(first) == 1
    sched.cron("s", "*/5 * * * * *", "jobs.record")  # a changed trigger, as a re-sync would write
    nxt = store.get_stored("s").state.next_us
    assert nxt is not None and nxt > first[0].fire_us
    assert commit(store, lease, "s", [first[0].fire_us, nxt]) == "CE"


def test_a_one_off_recreated_before_its_mark_is_not_fired(redis: Redis) -> None:
    """The documented limit: a fire at or before the mark counts as handled, even one the old
    trigger never had. A one-off moved back in time under the same id needs a new id."""
    store, lease = leader(redis)
    sched = Scheduler(redis, NS)
    now = store.now_us()
    sched.at("once", from_us(now - 60_000_000), "jobs.record")
    ticker = Ticker(store, redis)
    assert len(ticker.tick(lease.value, lease.epoch, store.now_us()).outcome.enqueued) == 1
    sched.at("once", from_us(now - 120_000_000), "jobs.record")
    report = ticker.tick(lease.value, lease.epoch, store.now_us())
    assert report.outcome.enqueued == [] and len(report.outcome.claimed) == 1


def test_tombstones_go_after_the_retention_unless_the_schedule_is_back(redis: Redis) -> None:
    store, lease = leader(redis)
    sched = Scheduler(redis, NS)
    for sid in ("gone", "back", "other"):
        sched.every(sid, 3600, "jobs.record")
        assert commit(store, lease, sid, [T]) == "E"
        sched.cancel(sid)
    sched.every("back", 3600, "jobs.record")
    expiry = int(max(redis.zmscore(store.keys.mark_tombstones, ["gone", "back"])))
    assert expiry - store.now_us() > MIN_RETENTION_US - 60_000_000
    # a later delete, a retention on, trims the expired tombstones it was handed
    assert not store.scripts.delete("other", expiry + MIN_RETENTION_US, expiry + 1, ["gone", "back"])
    assert mark_of(store, "gone") is None and mark_of(store, "back") == T
    assert redis.zrange(store.keys.mark_tombstones, 0, -1) == [b"other"]
    sched.every("gone", 3600, "jobs.record")
    assert commit(store, lease, "gone", [T]) == "E"  # past the retention it is a fire like any other


def test_expired_out_of_order_records_are_trimmed_a_bounded_number_per_commit(redis: Redis) -> None:
    store, lease = leader(redis)
    Scheduler(redis, NS).every("s", 3600, "jobs.record")
    redis.zadd(store.keys.out_of_order, {f"old|{i}": 1 for i in range(100)} | {"s|live": FAR})
    commit(store, lease, "s", [T])
    assert redis.zcard(store.keys.out_of_order) == 100 - 64 + 1
    commit(store, lease, "s", [T + 1])
    assert redis.zrange(store.keys.out_of_order, 0, -1) == [b"s|live"]


def test_triggers_never_collide_and_never_block_the_schedules_own_fires(redis: Redis) -> None:
    store, lease = leader(redis)
    sched = Scheduler(redis, NS)
    sched.every("s", 1, "jobs.record", start=from_us(store.now_us()))
    now = store.now_us()
    week = MIN_RETENTION_US
    first, second = store.scripts.trigger("s", now, week), store.scripts.trigger("s", now, week)
    assert (first, second) == (now, now + 1)  # the second trigger of that µs gets the next one
    job_ids = [sched.trigger("s"), sched.trigger("s")]
    assert len(set(job_ids)) == 2
    report = Ticker(store, redis).tick(lease.value, lease.epoch, store.now_us() + 2_000_000)
    assert report.outcome.enqueued and not report.outcome.claimed
    assert max(enqueued(redis).values()) == 1
    assert redis.zcard(store.keys.out_of_order) == 4


# -- property: any mix of commits, re-creates and triggers enqueues each fire at most once -------

ops = st.lists(
    st.one_of(
        st.tuples(st.just("commit"), st.sampled_from("ab"), st.lists(st.integers(0, 12), max_size=4)),
        st.tuples(st.just("recreate"), st.sampled_from("ab"), st.just([])),
        st.tuples(st.just("trigger"), st.sampled_from("ab"), st.just([])),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops)
def test_property_each_fire_enqueued_at_most_once(
    redis: Redis, steps: list[tuple[str, str, list[int]]]
) -> None:
    redis.flushall()
    store, lease = leader(redis)
    sched = Scheduler(redis, NS)
    model: dict[str, int | None] = {"a": None, "b": None}
    for sid in model:
        sched.every(sid, 3600, "jobs.record")
    for op, sid, offsets in steps:
        if op == "recreate":
            sched.cancel(sid)
            sched.every(sid, 3600, "jobs.record")
        elif op == "trigger":
            sched.trigger(sid)
        else:
            fires = [T + o for o in sorted(set(offsets))]
            want = ""
            for fire in fires:
                new = decide(model[sid], fire, recorded=False) is Decision.NEW
                want += "E" if new else "C"
                model[sid] = advance(model[sid], fire) if new else model[sid]
            assert commit(store, lease, sid, fires) == want
    counts = enqueued(redis)
    assert not counts or max(counts.values()) == 1
    assert Queue("default", connection=redis).count == sum(counts.values())
