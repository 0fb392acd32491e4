"""The commit step against a real Redis: enqueue once, fence stale leaders, respect client writes."""

from __future__ import annotations

from datetime import timedelta

from redis import Redis
from rq import Queue
from rq.job import Job

from hasched import Scheduler
from hasched._lease import Lease
from hasched._store import Store
from hasched._tick import BATCH_SCHEDULES, Ticker
from hasched._triggers import from_us
from hasched.api import make

NS = "t"


def leader(redis: Redis, instance: str = "a", ttl: float = 10) -> tuple[Store, Lease, Ticker]:
    store = Store(redis, NS)
    lease = Lease(store.scripts, instance, ttl)
    assert lease.try_acquire()
    return store, lease, Ticker(store, redis)


def test_due_fire_is_enqueued_once_with_meta(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    store, lease, ticker = leader(redis)
    now = store.now_us()
    sched.at("once", from_us(now), "jobs.record", args=["x"])
    report = ticker.tick(lease.value, lease.epoch, store.now_us())
    assert [f.schedule_id for f in report.outcome.enqueued] == ["once"]
    job_id = report.outcome.enqueued[0].job_id
    assert Queue("default", connection=redis).job_ids == [job_id]
    job = Job.fetch(job_id, connection=redis)
    assert job.meta["hasched_schedule_id"] == "once"
    assert job.meta["hasched_fire_time"] == from_us(now).isoformat()
    assert job.meta["hasched_epoch"] == lease.epoch
    assert job.get_status() == "queued"
    # the schedule is finished: a second tick finds nothing
    again = ticker.tick(lease.value, lease.epoch, store.now_us())
    assert again.planned == 0
    assert Queue("default", connection=redis).count == 1


def test_stale_epoch_is_fenced_and_enqueues_nothing(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    store, old, ticker = leader(redis, "old", ttl=1)
    stale_value, stale_epoch = old.value, old.epoch
    redis.delete(store.keys.lease)  # the lease expired while "old" was paused ...
    _, new, _ = leader(redis, "new")  # ... and "new" took over with a higher epoch
    assert new.epoch > stale_epoch
    sched.every("tick", 1, "jobs.record", start=from_us(store.now_us()))
    report = ticker.tick(stale_value, stale_epoch, store.now_us() + 2_000_000)
    assert report.outcome.fenced
    assert report.planned == 1
    assert Queue("default", connection=redis).count == 0
    assert store.get_stored("tick").state.n == 0  # not advanced either


def test_recreated_schedule_never_refires_an_enqueued_fire(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    store, lease, ticker = leader(redis)
    when = from_us(store.now_us())
    sched.at("job", when, "jobs.record")
    assert len(ticker.tick(lease.value, lease.epoch, store.now_us()).outcome.enqueued) == 1
    sched.cancel("job")
    sched.at("job", when, "jobs.record")  # same id, same fire time
    report = ticker.tick(lease.value, lease.epoch, store.now_us())
    assert report.outcome.enqueued == []
    assert [f.schedule_id for f in report.outcome.claimed] == ["job"]
    assert Queue("default", connection=redis).count == 1


def test_replace_with_same_trigger_keeps_progress(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    store, lease, ticker = leader(redis)
    start = from_us(store.now_us()) - timedelta(seconds=0.5)
    sched.every("iv", 60, "jobs.record", start=start)
    later = store.now_us() + 60_000_000  # the first fire, start + 60 s, is due by then
    assert len(ticker.tick(lease.value, lease.epoch, later).outcome.enqueued) == 1
    before = store.get_stored("iv").state
    sched.every("iv", 60, "jobs.record", start=start, kwargs={"tag": "changed"})
    assert store.get_stored("iv").state == before
    assert ticker.tick(lease.value, lease.epoch, later).planned == 0


def test_client_write_between_read_and_commit_wins(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    store, lease, _ = leader(redis)
    sched.every("iv", 30, "jobs.record", start=from_us(store.now_us()))
    stored = store.get_stored("iv")
    due_at = store.now_us() + 30_000_000
    # the leader read rev N; a client pauses the schedule before the leader commits
    sched.pause("iv")
    from hasched._commit import Batch
    from hasched._jobs import JobTemplate
    from hasched._plan import plan

    batch = Batch(store.keys, lease.value, lease.epoch, from_us(due_at))
    batch.add(stored, plan(stored.schedule, stored.state, due_at), JobTemplate(stored.schedule, redis), None)
    outcome = batch.outcome(store.scripts.commit(batch.keys, batch.args))
    assert batch.fires and [f.schedule_id for f in outcome.stale] == ["iv"]
    assert Queue("default", connection=redis).count == 0
    assert redis.zscore(store.keys.due, "iv") is None  # still paused: not put back by the leader


def test_overlap_skip_while_previous_job_queued(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    store, lease, ticker = leader(redis)
    start = from_us(store.now_us())
    sched.every("ov", 1, "jobs.record", start=start, overlap="skip", catchup="all")
    report = ticker.tick(lease.value, lease.epoch, store.now_us() + 3_500_000)
    # three fires due: the first is enqueued, the others find it still queued
    assert report.planned == 3
    assert len(report.outcome.enqueued) == 1
    assert len(report.outcome.overlap) == 2
    assert Queue("default", connection=redis).count == 1


def test_corrupt_record_is_skipped_and_the_rest_fire(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    store, lease, ticker = leader(redis)
    now = from_us(store.now_us())
    sched.at("good", now, "jobs.record")
    sched.at("bad", now, "jobs.record")
    redis.hset(store.keys.defs, "bad", b"{not json")
    report = ticker.tick(lease.value, lease.epoch, store.now_us())
    assert [e.schedule_id for e in report.invalid] == ["bad"]
    assert [f.schedule_id for f in report.outcome.enqueued] == ["good"]
    assert redis.zscore(store.keys.due, "bad") is None
    assert ticker.tick(lease.value, lease.epoch, store.now_us()).invalid == []


def test_the_scheduler_never_imports_the_target_and_claims_outlive_the_window(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    store, lease, ticker = leader(redis)
    now = store.now_us()
    sched.at("ghost", from_us(now), "no_such_package.no_such_module.run")  # only a worker imports it
    report = ticker.tick(lease.value, lease.epoch, store.now_us())
    assert [f.schedule_id for f in report.outcome.enqueued] == ["ghost"]
    assert Job.fetch(report.outcome.enqueued[0].job_id, connection=redis).func_name == (
        "no_such_package.no_such_module.run"
    )
    assert int(redis.hget(store.keys.mark("ghost"), "ghost")) == now  # claimed for as long as it exists
    sched.cancel("ghost")
    week_us = 7 * 86_400_000_000
    kept = int(redis.zscore(store.keys.mark_tombstones, "ghost")) - store.now_us()
    assert week_us - 60_000_000 < kept <= week_us  # kept 7 days: longer than the 1-day catch-up window


def test_a_tick_of_several_pipelined_batches_enqueues_each_fire_once(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    store, lease, ticker = leader(redis)
    when = from_us(store.now_us())
    n = 2 * BATCH_SCHEDULES + 7  # four commits (batch_size), each sent before the one before it is answered
    sched.add_many([make(id=f"s{i:04d}", func="jobs.record", at=when, args=[i]) for i in range(n)])
    report = ticker.tick(lease.value, lease.epoch, store.now_us())
    assert report.planned == n and len(report.outcome.enqueued) == n
    job_ids = Queue("default", connection=redis).job_ids
    assert sorted(job_ids) == sorted(f.job_id for f in report.outcome.enqueued) and len(set(job_ids)) == n
    assert ticker.tick(lease.value, lease.epoch, store.now_us()).planned == 0


def test_pipelined_batches_of_a_stale_leader_are_all_fenced(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    store, old, ticker = leader(redis, "old")
    when = from_us(store.now_us())
    sched.add_many([make(id=f"s{i:04d}", func="jobs.record", at=when) for i in range(BATCH_SCHEDULES + 1)])
    redis.delete(store.keys.lease)
    leader(redis, "new")
    report = ticker.tick(old.value, old.epoch, store.now_us())
    assert report.outcome.fenced and report.outcome.enqueued == []
    assert Queue("default", connection=redis).count == 0


def test_commits_go_on_after_redis_lost_its_scripts(redis: Redis) -> None:
    sched = Scheduler(redis, NS)
    store, lease, ticker = leader(redis)
    sched.at("once", from_us(store.now_us()), "jobs.record")
    redis.script_flush()  # as after a restart: the next commit answers NOSCRIPT, nothing of it ran
    report = ticker.tick(lease.value, lease.epoch, store.now_us())
    assert [f.schedule_id for f in report.outcome.enqueued] == ["once"]
    assert Queue("default", connection=redis).count == 1


def test_a_cached_definition_changed_behind_hasched_is_read_again(redis: Redis) -> None:
    # The leader keeps decoded definitions by their stored text: a record overwritten without a
    # new revision is a different text, decoded again, and found unreadable.
    sched = Scheduler(redis, NS)
    store, lease, ticker = leader(redis)
    start = store.now_us()
    sched.every("iv", 1, "jobs.record", start=from_us(start))
    assert len(ticker.tick(lease.value, lease.epoch, start + 1_000_000).outcome.enqueued) == 1
    redis.hset(store.keys.defs, "iv", b"{not json")
    report = ticker.tick(lease.value, lease.epoch, start + 2_000_000)
    assert [e.schedule_id for e in report.invalid] == ["iv"]
    assert report.planned == 0 and Queue("default", connection=redis).count == 1
