"""Backfill against a real Redis: the fall-back night of a cron schedule, the same range twice,
paused schedules, fires missed while paused or skipped for overlap, the 100,000-fire bound, and
the command line."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from cluster import Hasched, console
from redis import Redis
from redis_server import RedisServer

from hasched import Scheduler, ValidationError
from hasched._backfill import fire_times
from hasched._dedupe import parse_gap
from hasched._keys import Keys
from hasched._lease import Lease
from hasched._scripts import Scripts
from hasched._store import Store
from hasched._tick import Ticker
from hasched._triggers import US, from_us, to_us

NS = "bf"


@pytest.fixture()
def hasched(redis_server: RedisServer, redis: Redis) -> Hasched:
    return console(redis_server.url, NS)


def queued(redis: Redis) -> list[str]:
    return [x.decode() for x in redis.lrange("rq:queue:default", 0, -1)]


def job_ids(sid: str, fires: list[datetime]) -> list[str]:
    return [Keys(NS).job_id(sid, to_us(f)) for f in fires]


def now_of(redis: Redis) -> datetime:
    return from_us(Store(redis, NS).now_us())


@pytest.mark.parametrize(("expr", "count"), [("30 1 * * *", 3), ("*/30 * * * *", 122)])
def test_the_fall_back_night_enqueues_exactly_what_next_lists(
    hasched: Hasched, redis: Redis, expr: str, count: int
) -> None:
    sched = Scheduler(redis, NS)
    sched.cron("dst", expr, "jobs.record", timezone="America/New_York", history=1000)
    start, end = "2026-10-31T00:00:00-04:00", "2026-11-02T12:00:00-05:00"
    listed = json.loads(hasched("next", "dst", "-n", "1000", "--from", start, "--json").stdout)
    fires = [t for t in map(datetime.fromisoformat, listed) if t <= datetime.fromisoformat(end)]
    assert len(fires) == count
    if expr.startswith("*/30"):  # the repeated hour fires in both passes
        assert {"2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00"} <= set(listed)
    out = hasched("schedule", "backfill", "dst", "--from", start, "--to", end)
    assert (out.returncode, out.stdout) == (0, f"enqueued {count} fires of dst (0 enqueued before)\n")
    assert queued(redis) == job_ids("dst", fires)  # oldest first, each with a live fire's job id
    runs = sched.history("dst", n=1000)
    assert {r["kind"] for r in runs} == {"backfill"}
    assert sorted(datetime.fromisoformat(r["fire_time"]) for r in runs) == fires
    again = hasched("schedule", "backfill", "dst", "--from", start, "--to", end)
    assert again.stdout == f"enqueued 0 fires of dst ({count} enqueued before)\n"
    assert len(queued(redis)) == count


def test_a_paused_schedule_is_backfilled_and_a_wider_range_adds_only_the_rest(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    now = now_of(redis)
    start = now - timedelta(minutes=60, seconds=0.5)  # fires start + k min, k = 0..60 up to now
    sched.every("p", 60, "jobs.record", start=start, paused=True)
    half = sched.backfill("p", now - timedelta(minutes=30), now)
    assert half.enqueued == [start + timedelta(minutes=k) for k in range(31, 61)]
    assert sched.backfill("p", now - timedelta(minutes=30), now).already == 30
    sched.resume("p")
    rest = sched.backfill("p", start - timedelta(seconds=1), now)
    assert rest.enqueued == [start + timedelta(minutes=k) for k in range(31)] and rest.already == 30
    assert sched.backfill("p", start - timedelta(seconds=1), now).enqueued == []
    every = [start + timedelta(minutes=k) for k in range(61)]
    assert Counter(queued(redis)) == Counter(job_ids("p", every))
    assert sched.describe("p")["counters"]["enqueued"] == 61


def leader(redis: Redis) -> tuple[Store, Lease, Ticker]:
    store = Store(redis, NS)
    lease = Lease(store.scripts, "a", 10)
    assert lease.try_acquire()
    return store, lease, Ticker(store, redis)


def run_leader(store: Store, lease: Lease, ticker: Ticker, seconds: float) -> None:
    """The leader's loop, in this process, for `seconds` of Redis time."""
    until = store.now_us() + round(seconds * US)
    while (now := store.now_us()) < until:
        ticker.tick(lease.value, lease.epoch, now)
        time.sleep(0.01)


def test_fires_missed_while_paused_are_backfilled_exactly(redis: Redis) -> None:
    store, lease, ticker = leader(redis)
    sched = Scheduler(redis, NS)
    sched.every("m", 0.1, "jobs.record")
    run_leader(store, lease, ticker, 0.6)
    sched.pause("m")
    time.sleep(0.6)
    sched.resume("m")
    run_leader(store, lease, ticker, 0.5)  # the leader goes on past the missed stretch
    missed = [r for r in sched.history("m", n=1000) if r["kind"] == "missed"]
    assert len(missed) == 1 and missed[0]["reason"] == "paused"
    first, last = (datetime.fromisoformat(missed[0][k]) for k in ("first_fire_time", "last_fire_time"))
    before = Counter(queued(redis))
    s = sched.get("m")
    assert s.start is not None
    done = sched.backfill("m", s.start - timedelta(seconds=1), now_of(redis) - timedelta(seconds=0.3))
    assert done.enqueued == [from_us(f) for f in fire_times(s, to_us(first) - 1, to_us(last))]
    assert len(done.enqueued) == missed[0]["count"]
    after = Counter(queued(redis))
    assert after - before == Counter(job_ids("m", done.enqueued)) and max(after.values()) == 1
    assert (
        sched.backfill("m", s.start - timedelta(seconds=1), now_of(redis) - timedelta(seconds=0.3)).enqueued
        == []
    )


def test_fires_skipped_for_overlap_are_one_gap_and_are_backfilled(redis: Redis) -> None:
    store, lease, ticker = leader(redis)
    sched = Scheduler(redis, NS)
    sched.every("o", 0.1, "jobs.record", overlap="skip")  # no worker: the first job stays queued
    run_leader(store, lease, ticker, 0.8)
    skipped = [
        datetime.fromisoformat(r["fire_time"]) for r in sched.history("o", n=1000) if r["status"] == "skipped"
    ]
    assert len(skipped) >= 3
    gaps = [parse_gap(m) for m in redis.zrange(store.keys.gaps, 0, -1)]
    assert len(gaps) == 1 and gaps[0][0] == "o"  # a run of skips folds into one member
    s = sched.get("o")
    assert s.start is not None
    done = sched.backfill("o", s.start - timedelta(seconds=1), max(skipped), overlap="allow")
    assert done.enqueued == sorted(skipped)
    assert max(Counter(queued(redis)).values()) == 1
    assert sched.backfill("o", s.start - timedelta(seconds=1), max(skipped), overlap="allow").enqueued == []


def test_more_than_100000_fires_is_refused_with_nothing_written(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    now = now_of(redis)
    sched.every("dense", 0.01, "jobs.record", start=now - timedelta(seconds=2000), paused=True)
    before = {k: redis.type(k) for k in redis.keys("*")}
    with pytest.raises(ValidationError) as e:
        sched.backfill("dense", now - timedelta(seconds=1001), now)
    assert e.value.field == "end" and "100000" in e.value.message
    assert {k: redis.type(k) for k in redis.keys("*")} == before and queued(redis) == []
    assert len(sched.backfill("dense", now - timedelta(seconds=1), now).enqueued) == 100


def test_fire_times_are_bounded_and_checked_before_writing() -> None:
    from hasched.api import make

    s = make(id="x", func="a.b", every=1, start=from_us(0))
    assert fire_times(s, 0, 5 * US, limit=5) == [k * US for k in range(1, 6)]
    with pytest.raises(ValidationError):
        fire_times(s, 0, 6 * US, limit=5)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (datetime(2026, 1, 2), datetime(2026, 1, 3), "start"),  # naive
        ("2026-01-02", None, "start"),
        (from_us(2 * US), from_us(US), "end"),  # backwards
        (from_us(US), from_us(2**52), "end"),  # after now
    ],
)
def test_bad_ranges_name_the_field(redis: Redis, start: object, end: object, field: str) -> None:
    sched = Scheduler(redis, NS)
    sched.every("x", 60, "jobs.record")
    with pytest.raises(ValidationError) as e:
        sched.backfill("x", start, end)  # type: ignore[arg-type]
    assert e.value.field == field
    with pytest.raises(ValidationError) as e:
        sched.backfill("x", from_us(US), from_us(2 * US), overlap="sometimes")
    assert e.value.field == "overlap"


def test_command_line_dry_run_lists_and_writes_nothing(hasched: Hasched, redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    sched.cron("c", "0 * * * *", "jobs.record", timezone="Europe/Paris")
    args = (
        "schedule",
        "backfill",
        "c",
        "--from",
        "2026-03-29T00:30:00+01:00",
        "--to",
        "2026-03-29T04:00:00+02:00",
    )
    dry = hasched(*args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [  # spring forward: 02:00 does not exist in Paris
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T04:00:00+02:00",
        "would enqueue 3 fires of c (0 enqueued before)",
    ]
    assert queued(redis) == [] and sched.history("c") == []
    assert hasched(*args).stdout == "enqueued 3 fires of c (0 enqueued before)\n"
    assert hasched(*args, "--dry-run").stdout == "would enqueue 0 fires of c (3 enqueued before)\n"
    late = hasched(
        "schedule", "backfill", "c", "--from", "2026-03-29T00:00:00Z", "--to", "2999-01-01T00:00:00Z"
    )
    assert late.returncode == 2 and late.stderr.startswith("error: to: must not be after now")
    gone = hasched(
        "schedule", "backfill", "nope", "--from", "2026-03-29T00:00:00Z", "--to", "2026-03-30T00:00Z"
    )
    assert gone.returncode != 0 and "nope" in gone.stderr


def test_fires_missed_by_the_catch_up_policy_are_backfilled(redis: Redis) -> None:
    store, lease, ticker = leader(redis)
    sched = Scheduler(redis, NS)
    sched.every("late", 0.1, "jobs.record")  # catch-up latest: of late fires only the last goes
    run_leader(store, lease, ticker, 0.3)
    time.sleep(1.5)  # no tick: the leader was down
    run_leader(store, lease, ticker, 0.3)
    missed = [r for r in sched.history("late", n=1000) if r["kind"] == "missed"]
    assert [r["reason"] for r in missed] == ["catchup_policy"] and missed[0]["count"] >= 3
    s = sched.get("late")
    assert s.start is not None
    end = now_of(redis) - timedelta(seconds=0.2)
    done = sched.backfill("late", s.start - timedelta(seconds=1), end)
    first, last = (to_us(datetime.fromisoformat(missed[0][k])) for k in ("first_fire_time", "last_fire_time"))
    assert done.enqueued == [from_us(f) for f in fire_times(s, first - 1, last)]
    assert max(Counter(queued(redis)).values()) == 1
    assert sched.backfill("late", s.start - timedelta(seconds=1), end).enqueued == []


def test_backfill_honours_the_overlap_policy_and_skipped_fires_stay_backfillable(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    now = now_of(redis)
    sched.every("ov", 60, "jobs.record", start=now - timedelta(minutes=10, seconds=0.5), paused=True)
    span = (now - timedelta(minutes=11), now)
    skip = sched.backfill("ov", *span, overlap="skip")  # no worker: the first job stays queued
    assert len(skip.enqueued) == 1 and len(skip.skipped) == 10
    assert [r["status"] for r in sched.history("ov", n=20)].count("skipped") == 10
    buffered = sched.backfill("ov", *span, overlap="buffer_one")
    assert (len(buffered.enqueued), len(buffered.waiting), len(buffered.skipped)) == (0, 1, 9)
    assert redis.llen(Store(redis, NS).keys.waiting("ov")) == 1
    rest = sched.backfill("ov", *span, overlap="allow")  # the skipped ones were not enqueued
    assert rest.enqueued == skip.skipped[1:] and rest.already == 2
    assert sched.backfill("ov", *span).enqueued == []
    assert len(queued(redis)) == 10 and max(Counter(queued(redis)).values()) == 1


def test_a_deleted_schedule_takes_its_gaps_along(redis: Redis) -> None:
    store, lease, ticker = leader(redis)
    sched = Scheduler(redis, NS)
    sched.every("g", 0.1, "jobs.record", overlap="skip")
    run_leader(store, lease, ticker, 0.5)
    assert redis.zcard(store.keys.gaps) == 1
    sched.cancel("g")
    assert redis.zcard(store.keys.gaps) == 0


def test_a_schedule_changed_during_a_backfill_is_worked_out_again(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    sched = Scheduler(redis, NS)
    sched.cron("ch", "0 * * * *", "jobs.record", paused=True)
    real = Scripts.backfill
    calls: list[int] = []

    def changing_first(self: Scripts, keys: list[str], args: list[object]) -> str:
        if not calls:  # between working out the fire times and the first chunk
            sched.update("ch", cron="30 * * * *")
        calls.append(1)
        return real(self, keys, args)

    monkeypatch.setattr(Scripts, "backfill", changing_first)
    start = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    done = sched.backfill("ch", start, start + timedelta(hours=3))
    assert done.enqueued == [start + timedelta(hours=h, minutes=30) for h in range(3)]  # the new times
    assert len(calls) == 2 and len(queued(redis)) == 3


def test_backfill_through_cancel_other_and_buffer_all(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    now = now_of(redis)
    sched.every("cx", 60, "jobs.record", start=now - timedelta(minutes=3, seconds=0.5), paused=True)
    sched.every("bx", 60, "jobs.record", start=now - timedelta(minutes=3, seconds=0.5), paused=True)
    span = (now - timedelta(minutes=4), now)
    cancel = sched.backfill("cx", *span, overlap="cancel_other")  # no worker: each cancels the one before
    assert len(cancel.enqueued) == 4
    kept = job_ids("cx", cancel.enqueued)
    assert queued(redis) == kept[-1:]
    assert [redis.hget(f"rq:job:{j}", "status") for j in kept] == [b"canceled"] * 3 + [b"queued"]
    buffered = sched.backfill("bx", *span, overlap="buffer_all")
    assert (len(buffered.enqueued), len(buffered.waiting)) == (1, 3)
    assert [r["status"] for r in sched.history("bx", n=10)] == ["waiting"] * 3 + ["queued"]
    assert sched.backfill("bx", *span).enqueued == []  # waiting fires count as enqueued
