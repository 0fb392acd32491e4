"""RQ must see a hasched job exactly as one it enqueued itself. Runs on the newest RQ and, via
`make test-rq-oldest`, on the oldest supported one."""

from __future__ import annotations

from datetime import UTC

from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from rq.utils import utcformat, utcparse

from hasched import Scheduler
from hasched._lease import Lease
from hasched._store import Store
from hasched._tick import Ticker
from hasched._triggers import from_us, to_us

NS = "compat"
# Fields that differ between any two jobs (ids, clocks) or carry hasched's own data.
VARYING = {"created_at", "enqueued_at", "meta", "last_heartbeat", "started_at", "ended_at"}


def fire_now(redis: Redis, func: str, args: list[object], **fields: object) -> Job:
    store = Store(redis, NS)
    lease = Lease(store.scripts, "compat", 10)
    assert lease.try_acquire()
    Scheduler(redis, NS).at("s", from_us(store.now_us()), func, args=args, **fields)
    report = Ticker(store, redis).tick(lease.value, lease.epoch, store.now_us())
    assert len(report.outcome.enqueued) == 1
    return Job.fetch(report.outcome.enqueued[0].job_id, connection=redis)


def test_job_hash_matches_rq_enqueue(redis: Redis) -> None:
    ours = fire_now(redis, "jobs.add", [1, 2], timeout=30, result_ttl=600, description="sum")
    theirs = Queue("default", connection=redis).enqueue(
        "jobs.add", 1, 2, job_timeout=30, result_ttl=600, description="sum"
    )
    raw_ours = {k.decode(): v for k, v in redis.hgetall(ours.key).items()}
    raw_theirs = {k.decode(): v for k, v in redis.hgetall(theirs.key).items()}
    assert set(raw_ours) - {"meta"} == set(raw_theirs)
    for name in set(raw_theirs) - VARYING:
        assert raw_ours[name] == raw_theirs[name], name
    assert ours.func_name == theirs.func_name == "jobs.add"
    assert (ours.args, ours.kwargs) == (theirs.args, theirs.kwargs)
    assert ours.get_status() == theirs.get_status() == "queued"
    assert ours.origin == "default" and ours.enqueued_at is not None
    assert Queue("default", connection=redis).job_ids == [ours.id, theirs.id]


def test_worker_runs_hasched_jobs_and_records_success(redis: Redis) -> None:
    job = fire_now(redis, "jobs.add", [20, 22])
    assert SimpleWorker(["default"], connection=redis).work(burst=True)
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value() == 42
    assert job.id in FinishedJobRegistry("default", connection=redis).get_job_ids()
    assert job.meta["hasched_schedule_id"] == "s"


def test_worker_records_failure(redis: Redis) -> None:
    job = fire_now(redis, "jobs.fail", ["expected failure"], queue="low")
    SimpleWorker(["low"], connection=redis).work(burst=True)
    job.refresh()
    assert job.get_status() == "failed"
    assert job.id in FailedJobRegistry("low", connection=redis).get_job_ids()
    result = job.latest_result()
    assert result is not None and "expected failure" in (result.exc_string or "")


def test_distinct_payloads_of_one_shape_match_rq_enqueue(redis: Redis) -> None:
    # One tick builds many templates that differ only in their call: each must carry its own
    # arguments and RQ's own description of them, field for field.
    store = Store(redis, NS)
    lease = Lease(store.scripts, "compat", 10)
    assert lease.try_acquire()
    api, when = Scheduler(redis, NS), from_us(store.now_us())
    calls = [([1, 2], {}), ([3], {"b": 4}), ([1, 2], {}), (["x" * 100], {"k": [1, {"z": None}]})]
    for i, (args, kwargs) in enumerate(calls):
        api.at(f"s{i}", when, "jobs.add", args=args, kwargs=kwargs, timeout=30)
    report = Ticker(store, redis).tick(lease.value, lease.epoch, store.now_us())
    ours = {f.schedule_id: f.job_id for f in report.outcome.enqueued}
    assert len(ours) == len(calls)
    queue = Queue("default", connection=redis)
    for i, (args, kwargs) in enumerate(calls):
        theirs = queue.enqueue("jobs.add", *args, job_timeout=30, **kwargs)
        raw_ours = {k.decode(): v for k, v in redis.hgetall(Job.key_for(ours[f"s{i}"])).items()}
        raw_theirs = {k.decode(): v for k, v in redis.hgetall(theirs.key).items()}
        assert set(raw_ours) - {"meta"} == set(raw_theirs)
        for name in set(raw_theirs) - VARYING:
            assert raw_ours[name] == raw_theirs[name], (i, name)


def test_enqueued_at_is_the_commit_instant_in_rq_format(redis: Redis) -> None:
    # The batch is planned as of 5 s ago: created_at says so, enqueued_at is Redis's clock at
    # the commit itself, in RQ's own text form.
    store = Store(redis, NS)
    lease = Lease(store.scripts, "compat", 10)
    assert lease.try_acquire()
    planned_us = store.now_us() - 5_000_000
    Scheduler(redis, NS).at("s", from_us(planned_us - 1_000_000), "jobs.add", args=[1, 2])
    before_us = store.now_us()
    report = Ticker(store, redis).tick(lease.value, lease.epoch, planned_us)
    after_us = store.now_us()
    raw = redis.hmget(Job.key_for(report.outcome.enqueued[0].job_id), "created_at", "enqueued_at")
    created, enqueued = (utcparse(x.decode()) for x in raw)
    assert [utcformat(created), utcformat(enqueued)] == [x.decode() for x in raw]
    assert to_us(created.replace(tzinfo=UTC)) == planned_us
    assert before_us <= to_us(enqueued.replace(tzinfo=UTC)) <= after_us
