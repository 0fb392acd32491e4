"""Overlap policies in the commit and the leader's overlap pass, against a real Redis with no
worker: the test plays the worker's part by writing RQ's job statuses itself."""

from __future__ import annotations

import json

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import CanceledJobRegistry

from hasched import Scheduler
from hasched._jobs import job_key
from hasched._lease import Lease
from hasched._release import Releaser
from hasched._runs import Run, decode, released_record, waiting_record
from hasched._store import Store
from hasched._tick import Ticker
from hasched._triggers import from_us

NS = "t"
SEC = 1_000_000


def leader(redis: Redis) -> tuple[Store, Lease, Ticker, Releaser]:
    store = Store(redis, NS)
    lease = Lease(store.scripts, "a", 10)
    assert lease.try_acquire()
    return store, lease, Ticker(store, redis), Releaser(store)


def three_due(redis: Redis, policy: str) -> tuple[Scheduler, Store, Lease, Ticker, Releaser, int]:
    """A schedule every second with three fires due at once (catch-up "all"): the returned µs is
    when the leader ticks."""
    sched = Scheduler(redis, NS)
    store, lease, ticker, releaser = leader(redis)
    start = store.now_us() + SEC
    sched.every("s", 1, "jobs.record", start=from_us(start), catchup="all", overlap=policy)
    return sched, store, lease, ticker, releaser, start


def statuses(sched: Scheduler) -> list[str]:
    return [r["status"] for r in reversed(sched.history("s"))]


def test_record_rules_mirror_the_scripts() -> None:
    skipped = Run(1_700_000_000_000_000, "scheduled", 7, None, "skipped")
    assert waiting_record(skipped.encode()) == Run(skipped.fire_us, "scheduled", 7, None, "waiting").encode()
    waiting = waiting_record(skipped.encode())
    at = skipped.fire_us + 2_500_123
    assert decode(released_record(waiting, at)) == Run(skipped.fire_us, "scheduled", 7, at, "queued")


def test_buffer_all_waits_in_order_and_each_goes_when_the_one_before_ended(redis: Redis) -> None:
    sched, store, lease, ticker, releaser, start = three_due(redis, "buffer_all")
    out = ticker.tick(lease.value, lease.epoch, start + 2 * SEC + SEC // 2).outcome
    assert (len(out.enqueued), len(out.waiting)) == (1, 2)
    assert statuses(sched) == ["queued", "waiting", "waiting"]
    first = out.enqueued[0].job_id
    assert [j.job_id for j in out.waiting] == [store.keys.job_id("s", start + k * SEC) for k in (1, 2)]
    assert not redis.exists(job_key(out.waiting[0].job_id))  # RQ sees it only once enqueued
    assert releaser.run(lease.value).released == [] and Queue("default", connection=redis).job_ids == [first]
    redis.hset(job_key(first), "status", "finished")  # the worker's part
    report = releaser.run(lease.value)
    second = out.waiting[0].job_id
    assert report.released == [("s", "default", second)] and report.waiting == 1
    assert Queue("default", connection=redis).job_ids == [first, second]
    job = Job.fetch(second, connection=redis)
    assert job.get_status() == "queued" and job.func_name == "jobs.record"
    assert job.meta["hasched_fire_time"] == from_us(start + SEC).isoformat()
    assert job.enqueued_at is not None and job.created_at is not None
    record = sched.history("s")[1]
    assert record["status"] == "queued" and record["job_id"] == second and record["enqueued_at"]
    assert redis.hget(store.keys.last_job, "s") == second.encode()
    assert redis.hexists(store.keys.in_flight, second)
    assert releaser.run(lease.value).released == []  # the second is queued: the third waits on
    redis.hset(job_key(second), "status", "failed")
    assert [r[2] for r in releaser.run(lease.value).released] == [out.waiting[1].job_id]
    assert redis.scard(store.keys.waiting_set) == 0
    assert sched.describe("s")["counters"]["enqueued"] == 3


def test_buffer_one_skips_what_finds_one_waiting(redis: Redis) -> None:
    sched, _store, lease, ticker, _, start = three_due(redis, "buffer_one")
    out = ticker.tick(lease.value, lease.epoch, start + 2 * SEC + SEC // 2).outcome
    assert (len(out.enqueued), len(out.waiting), len(out.overlap)) == (1, 1, 1)
    assert statuses(sched) == ["queued", "waiting", "skipped"]
    assert sched.describe("s")["counters"]["skipped"] == 1


def test_a_stale_leader_releases_nothing(redis: Redis) -> None:
    _, store, lease, ticker, releaser, start = three_due(redis, "buffer_all")
    first = ticker.tick(lease.value, lease.epoch, start + 2 * SEC + SEC // 2).outcome.enqueued[0].job_id
    redis.hset(job_key(first), "status", "finished")
    assert releaser.run(lease.value + "0").fenced
    assert redis.llen(store.keys.waiting("s")) == 2 and Queue("default", connection=redis).count == 1


def test_paused_fires_keep_waiting_and_deleted_ones_go(redis: Redis) -> None:
    sched, store, lease, ticker, releaser, start = three_due(redis, "buffer_all")
    first = ticker.tick(lease.value, lease.epoch, start + 2 * SEC + SEC // 2).outcome.enqueued[0].job_id
    redis.hset(job_key(first), "status", "finished")
    sched.pause("s")
    assert releaser.run(lease.value).released == []
    sched.resume("s")
    assert len(releaser.run(lease.value).released) == 1
    sched.cancel("s")
    assert not redis.exists(store.keys.waiting("s"))
    report = releaser.run(lease.value)
    assert report.released == [] and redis.scard(store.keys.waiting_set) == 0
    assert Queue("default", connection=redis).count == 2


def _two_ticks(redis: Redis, policy: str) -> tuple[Store, Lease, Ticker, Releaser, str, int]:
    """A schedule every second whose first fire was enqueued; returns it and the next fire's µs."""
    sched = Scheduler(redis, NS)
    store, lease, ticker, releaser = leader(redis)
    start = store.now_us() + SEC
    sched.every("s", 1, "jobs.record", start=from_us(start), overlap=policy)
    first = ticker.tick(lease.value, lease.epoch, start).outcome.enqueued[0].job_id
    return store, lease, ticker, releaser, first, start + SEC


def test_cancel_other_cancels_a_queued_previous_job_as_rq_does(redis: Redis) -> None:
    _store, lease, ticker, _, first, nxt = _two_ticks(redis, "cancel_other")
    before = int(redis.time()[0])
    out = ticker.tick(lease.value, lease.epoch, nxt).outcome
    assert len(out.enqueued) == 1
    assert Job.fetch(first, connection=redis).get_status() == "canceled"
    registry = CanceledJobRegistry("default", connection=redis)
    assert registry.get_job_ids() == [first]
    assert int(redis.zscore(registry.key, first) or 0) >= before
    assert Queue("default", connection=redis).job_ids == [out.enqueued[0].job_id]


def test_cancel_other_within_one_commit_cancels_the_fire_before(redis: Redis) -> None:
    """Three fires of one schedule in one batch: the commit pushes job ids to their queues at its
    end, so each must be in its queue before the next fire's policy looks for it there."""
    _sched, _store, lease, ticker, _, start = three_due(redis, "cancel_other")
    out = ticker.tick(lease.value, lease.epoch, start + 2 * SEC + SEC // 2).outcome
    ids = [f.job_id for f in out.enqueued]
    assert len(ids) == 3
    assert Queue("default", connection=redis).job_ids == ids[2:]
    assert sorted(CanceledJobRegistry("default", connection=redis).get_job_ids()) == sorted(ids[:2])


def test_a_job_a_worker_took_counts_as_started(redis: Redis) -> None:
    _store, lease, ticker, _, first, nxt = _two_ticks(redis, "cancel_other")
    redis.lpop(Queue("default", connection=redis).key)  # a worker took it; its status says queued still
    out = ticker.tick(lease.value, lease.epoch, nxt).outcome
    assert len(out.enqueued) == 1 and Job.fetch(first, connection=redis).get_status() == "queued"
    assert CanceledJobRegistry("default", connection=redis).count == 0


def test_terminate_other_stops_a_started_job_with_rqs_command(redis: Redis) -> None:
    store, lease, ticker, releaser, first, nxt = _two_ticks(redis, "terminate_other")
    redis.lpop(Queue("default", connection=redis).key)
    redis.hset(job_key(first), mapping={"status": "started", "worker_name": "w1"})
    pubsub = redis.pubsub()
    pubsub.subscribe("rq:pubsub:w1")
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"  # type: ignore[index]
    assert len(ticker.tick(lease.value, lease.epoch, nxt).outcome.enqueued) == 1
    message = pubsub.get_message(timeout=1)
    assert message is not None and json.loads(message["data"]) == {"command": "stop-job", "job_id": first}
    assert redis.hexists(store.keys.stopping, first)
    assert releaser.run(lease.value).stops_sent == [first]  # repeated until seen ended
    redis.hset(job_key(first), "status", "stopped")
    report = releaser.run(lease.value)
    assert report.stops_sent == [] and redis.hlen(store.keys.stopping) == 0
    assert not releaser.run(lease.value).busy
    pubsub.close()


def test_terminate_other_stops_a_taken_job_once_it_started(redis: Redis) -> None:
    _store, lease, ticker, releaser, first, nxt = _two_ticks(redis, "terminate_other")
    redis.lpop(Queue("default", connection=redis).key)  # taken, not started yet: no worker to tell
    ticker.tick(lease.value, lease.epoch, nxt)
    assert Job.fetch(first, connection=redis).get_status() == "queued"
    assert releaser.run(lease.value).stops_sent == []
    redis.hset(job_key(first), mapping={"status": "started", "worker_name": "w1"})
    assert releaser.run(lease.value).stops_sent == [first]


def test_allow_is_untouched(redis: Redis) -> None:
    _, store, lease, ticker, _, start = three_due(redis, "allow")
    out = ticker.tick(lease.value, lease.epoch, start + 2 * SEC + SEC // 2).outcome
    assert len(out.enqueued) == 3
    assert not redis.exists(store.keys.waiting_set, store.keys.stopping)


def test_an_idle_leader_looks_once_a_second_unless_its_commit_made_fires_wait(redis: Redis) -> None:
    _, _, lease, ticker, releaser, start = three_due(redis, "buffer_all")
    assert not releaser.run(lease.value).busy  # nothing waits yet: the next look is a second away
    out = ticker.tick(lease.value, lease.epoch, start + 2 * SEC + SEC // 2).outcome
    redis.hset(job_key(out.enqueued[0].job_id), "status", "finished")
    assert releaser.run(lease.value).released == []  # not looked: idle, and no hint
    assert len(releaser.run(lease.value, hint=True).released) == 1  # the commit said fires wait
    assert releaser.run(lease.value).busy  # one still waits: every pass looks
