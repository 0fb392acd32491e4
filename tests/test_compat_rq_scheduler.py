"""The rq-scheduler drop-in: its methods against a real Redis, and one job run by real processes."""

from __future__ import annotations

import collections
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jobs
import pytest
from cluster import Cluster
from helpers import ledger, redis_now, wait_for
from redis import Redis
from redis_server import RedisServer
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

import hasched.compat.rq_scheduler as compat
from hasched import Scheduler as HaschedScheduler
from hasched import ValidationError
from hasched.compat._dialect import as_utc, fires_of_repeat, host_timezone, to_hasched_cron
from hasched.compat.rq_scheduler import ScheduledJob, Scheduler

NOON = datetime(2030, 1, 1, 12, 0, 0, 250_000)  # naive: UTC to rq-scheduler


@pytest.fixture()
def scheduler(redis: Redis) -> Scheduler:
    return Scheduler(connection=redis)


@pytest.fixture()
def stored(redis: Redis) -> HaschedScheduler:
    """hasched's own view of the namespace."""
    return HaschedScheduler(redis)


def test_enqueue_at_stores_a_one_off_with_rq_scheduler_s_job_options(
    scheduler: Scheduler, stored: HaschedScheduler
) -> None:
    options = {"timeout": "10m", "job_ttl": 600, "job_result_ttl": 60, "job_description": "adds"}
    job = scheduler.enqueue_at(
        NOON, jobs.add, 1, b=2, job_id="add", meta={"k": "v"}, queue_name="math", **options
    )
    assert isinstance(job, ScheduledJob)
    assert (job.id, job.func_name, job.args, job.kwargs) == ("add", "jobs.add", (1,), {"b": 2})
    assert (job.origin, job.timeout, job.ttl, job.result_ttl) == ("math", 600, 600, 60)
    assert (job.description, job.meta) == ("adds", {"k": "v"})
    assert job.next_fire == NOON.replace(tzinfo=UTC)  # naive is UTC; the sub-second part stays
    s = stored.get("add")
    assert (s.at, s.func, s.args, s.kwargs) == (NOON.replace(tzinfo=UTC), "jobs.add", (1,), {"b": 2})
    assert s.queue == "math"
    assert (s.timeout, s.ttl, s.result_ttl, s.description, dict(s.meta)) == (600, 600, 60, "adds", {"k": "v"})
    aware = scheduler.enqueue_at(datetime(2030, 1, 1, 13, tzinfo=ZoneInfo("Europe/Paris")), jobs.record)
    assert re.fullmatch(r"[0-9a-f]{32}", aware.id)
    assert stored.get(aware.id).at == datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert stored.get(aware.id).queue == "default"


def test_enqueue_in_counts_from_redis_s_clock(
    redis: Redis, scheduler: Scheduler, stored: HaschedScheduler
) -> None:
    before = redis_now(redis)
    job = scheduler.enqueue_in(timedelta(minutes=5), jobs.record, "soon")
    at = stored.get(job.id).at
    assert at is not None
    assert before + timedelta(minutes=5) <= at <= redis_now(redis) + timedelta(minutes=5)
    assert job.args == ("soon",)


def test_schedule_makes_an_interval_with_rq_scheduler_s_repeat_count(
    scheduler: Scheduler, stored: HaschedScheduler
) -> None:
    job = scheduler.schedule(NOON, jobs.record, args=["tick"], interval=2.5, repeat=3, id="tick")
    s = stored.get("tick")
    assert (s.every, s.start, s.repeat, s.result_ttl) == (2.5, NOON.replace(tzinfo=UTC), 3, -1)
    assert job.meta == {"interval": 2.5, "repeat": 3}
    assert stored.next_fire_times("tick", 2, NOON.replace(tzinfo=UTC)) == [
        NOON.replace(tzinfo=UTC) + timedelta(seconds=2.5),
        NOON.replace(tzinfo=UTC) + timedelta(seconds=5),
    ]
    assert stored.get(scheduler.schedule(NOON, jobs.record, interval=60, repeat=0).id).repeat == 1
    once = scheduler.schedule(NOON, jobs.record, result_ttl=30)
    assert (stored.get(once.id).at, stored.get(once.id).result_ttl) == (NOON.replace(tzinfo=UTC), 30)


def test_cron_reads_rq_scheduler_s_dialect_in_utc_or_the_host_zone(
    scheduler: Scheduler, stored: HaschedScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = scheduler.cron("*/10 * * * * * *", jobs.record, args=["c"], repeat=4, id="c", queue_name="q")
    s = stored.get("c")
    assert (s.cron, s.timezone, s.repeat, s.result_ttl, s.queue) == ("*/10 * * * * *", "UTC", 4, -1, "q")
    assert job.meta == {"cron_string": "*/10 * * * * *", "use_local_timezone": False, "repeat": 4}
    monkeypatch.setattr(compat, "host_timezone", lambda: "Europe/Berlin")
    local = scheduler.cron("0 3 * * *", jobs.record, use_local_timezone=True)
    assert stored.get(local.id).timezone == "Europe/Berlin"
    tokyo = scheduler.cron("0 3 * * *", jobs.record, timezone="Asia/Tokyo")
    assert stored.get(tokyo.id).timezone == "Asia/Tokyo"
    monkeypatch.setattr(compat, "host_timezone", lambda: None)
    with pytest.raises(ValidationError) as e:
        scheduler.cron("0 3 * * *", jobs.record, use_local_timezone=True)
    assert e.value.field == "use_local_timezone"


class Thing:
    def method(self) -> None: ...


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.enqueue_at(NOON, jobs.record, depends_on="other"), "depends_on"),
        (lambda s: s.enqueue_at(NOON, jobs.record, at_front=True), "at_front"),
        (lambda s: s.schedule(NOON, jobs.record, on_success=print), "on_success"),
        (lambda s: s.cron("* * * * *", jobs.record, on_failure=print), "on_failure"),
        (lambda s: s.enqueue_at(NOON, Thing().method), "func"),
        (lambda s: s.enqueue_at(NOON, collections.Counter()), "func"),
        (lambda s: s.enqueue_at(NOON, lambda: None), "func"),
        (lambda s: s.enqueue_at(NOON, jobs.record, {1, 2}), "args"),
        (lambda s: s.enqueue_at(NOON, jobs.record, (1, 2)), "args"),
        (lambda s: s.enqueue_at(NOON, jobs.record, tag=datetime(2030, 1, 1)), "kwargs"),
        (lambda s: s.enqueue_at(NOON, jobs.record, meta={"when": NOON}), "meta"),
        (lambda s: s.enqueue_at(NOON, jobs.record, job_id="not an id"), "id"),
        (lambda s: s.enqueue_at("2030-01-01", jobs.record), "scheduled_time"),
        (lambda s: s.enqueue_at(NOON, jobs.record, timeout="soon"), "timeout"),
        (lambda s: s.enqueue_in(60, jobs.record), "time_delta"),
        (lambda s: s.schedule(NOON, jobs.record, repeat=2), "repeat"),
        (lambda s: s.schedule(NOON, jobs.record, interval=5, repeat=-1), "repeat"),
        (lambda s: s.cron("0 0 1 * 1", jobs.record), "cron_string"),
        (lambda s: s.cron("0 3 * * * 2031", jobs.record), "cron_string"),
        (lambda s: s.cron("0 0 L * *", jobs.record), "cron"),
        (lambda s: s.enqueue_at(datetime(2000, 1, 1), jobs.record), "at"),  # older than the catch-up window
    ],
)
def test_what_hasched_cannot_do_the_same_way_is_rejected_by_name(
    scheduler: Scheduler, stored: HaschedScheduler, call: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as e:
        call(scheduler)
    assert e.value.field == field
    assert stored.list() == []


def test_cancel_contains_count_and_get_jobs(
    redis: Redis, scheduler: Scheduler, stored: HaschedScheduler
) -> None:
    now = redis_now(redis)
    first, second, third = (
        scheduler.enqueue_at(now + timedelta(hours=h), jobs.record, name, job_id=name)
        for h, name in ((1, "a"), (2, "b"), (3, "c"))
    )
    paused = scheduler.schedule(now + timedelta(minutes=1), jobs.record, interval=60, id="paused")
    stored.pause("paused")
    assert first in scheduler and "b" in scheduler and paused not in scheduler and "nope" not in scheduler
    assert scheduler.count() == 3
    assert scheduler.count(until=naive(now + timedelta(hours=2))) == 2
    assert scheduler.count(until=timedelta(minutes=90)) == 1
    assert scheduler.count(until=(now + timedelta(hours=3)).timestamp()) == 3
    assert list(scheduler.get_jobs()) == [first, second, third]
    assert [job.args for job in scheduler.get_jobs(until=now + timedelta(hours=2))] == [("a",), ("b",)]
    times = list(scheduler.get_jobs(with_times=True))
    assert times == [(first, now + timedelta(hours=1)), (second, now + timedelta(hours=2)),
                     (third, now + timedelta(hours=3))]  # fmt: skip
    assert list(scheduler.get_jobs(offset=1, length=1)) == [second]
    assert list(scheduler.get_jobs(offset=1, length=-1)) == [second, third]
    with pytest.raises(ValidationError, match="offset and length go together"):
        scheduler.get_jobs(offset=1)
    scheduler.cancel(first)
    scheduler.cancel("b")
    assert list(scheduler.get_jobs()) == [third]
    assert {s.id for s in stored.list()} == {"c", "paused"}


def test_change_execution_time_moves_one_offs_and_re_anchors_intervals(
    redis: Redis, scheduler: Scheduler, stored: HaschedScheduler
) -> None:
    now = redis_now(redis)
    once = scheduler.enqueue_at(now + timedelta(hours=1), jobs.record)
    scheduler.change_execution_time(once, naive(now + timedelta(hours=2)))
    assert stored.get(once.id).at == now + timedelta(hours=2)
    ticks = scheduler.schedule(now + timedelta(hours=1), jobs.record, interval=60, repeat=5)
    scheduler.change_execution_time(ticks, now + timedelta(minutes=30, seconds=0.5))
    s = stored.get(ticks.id)
    assert (s.start, s.every, s.repeat) == (now + timedelta(minutes=30, seconds=0.5), 60, 5)
    assert dict(scheduler.get_jobs(with_times=True))[ticks] == now + timedelta(minutes=30, seconds=0.5)
    cron = scheduler.cron("0 3 * * *", jobs.record)
    with pytest.raises(ValidationError) as e:
        scheduler.change_execution_time(cron, NOON)
    assert e.value.field == "date_time"
    with pytest.raises(ValueError, match="not in the scheduled jobs"):
        scheduler.change_execution_time("nope", NOON)


def test_constructor_takes_rq_scheduler_s_arguments(redis: Redis) -> None:
    s = Scheduler("low", None, 5, redis, None, None, "name", None, namespace="other")
    assert (s.queue_name, s.name, s.connection) == ("low", "name", redis)
    job = s.enqueue_at(NOON, jobs.record)
    assert job.origin == "low"
    assert HaschedScheduler(redis, "other").get(job.id).queue == "low"
    assert HaschedScheduler(redis).list() == []
    assert Scheduler(queue=Queue("high", connection=redis), connection=redis).queue_name == "high"
    with pytest.raises(ValidationError, match="connection"):
        Scheduler()


@pytest.mark.parametrize(
    ("rq_scheduler_cron", "hasched_cron"),
    [
        ("*/5 * * * *", "*/5 * * * *"),
        ("0 3 * * * *", "0 3 * * *"),  # crontab's 6th field is a year
        ("*/10 0 3 * * * *", "*/10 0 3 * * *"),  # 7 fields: seconds first, year last
        ("0 0 ? * mon", "0 0 * * mon"),
        ("@daily", "@daily"),
        ("0 0 1,15 * *", "0 0 1,15 * *"),
        ("0 0 * * 1-5", "0 0 * * 1-5"),
    ],
)
def test_cron_dialect(rq_scheduler_cron: str, hasched_cron: str) -> None:
    assert to_hasched_cron(rq_scheduler_cron) == hasched_cron


@pytest.mark.parametrize(("repeat", "runs"), [(None, None), (-1, None), (0, 1), (1, 1), (7, 7)])
def test_repeat_counts_runs_left_like_rq_scheduler(repeat: int | None, runs: int | None) -> None:
    assert fires_of_repeat(repeat) == runs


def test_naive_times_are_utc() -> None:
    assert as_utc("t", NOON) == NOON.replace(tzinfo=UTC)
    paris = datetime(2030, 1, 1, 13, tzinfo=ZoneInfo("Europe/Paris"))
    assert as_utc("t", paris) is paris


@pytest.mark.parametrize(
    ("tz", "expected"),
    [("Asia/Kolkata", "Asia/Kolkata"), (":Europe/Berlin", "Europe/Berlin"), ("Etc/UTC", "UTC")],
)
def test_host_timezone_follows_tz(monkeypatch: pytest.MonkeyPatch, tz: str, expected: str) -> None:
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        assert host_timezone() == expected
    finally:
        monkeypatch.undo()
        time.tzset()


def naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


@pytest.mark.slow
def test_a_job_scheduled_through_the_drop_in_runs_in_a_real_worker(cluster: Cluster, redis: Redis) -> None:
    cluster.start_instance("a")
    cluster.start_worker()
    cluster.wait_leader()
    job = Scheduler(connection=redis).enqueue_in(timedelta(seconds=1), jobs.record, "compat")
    entries = wait_for(lambda: ledger(redis), timeout=15)
    assert [(e["schedule_id"], e["tag"]) for e in entries] == [(job.id, "compat")]
    assert job.next_fire is not None
    assert datetime.fromisoformat(entries[0]["fire_time"]) == job.next_fire
    assert job not in Scheduler(connection=redis)  # a one-off that ran is no longer scheduled


def test_returned_jobs_are_fetched_by_id_carry_meta_and_cancel(redis: Redis, scheduler: Scheduler) -> None:
    one_off = scheduler.enqueue_at(
        NOON, jobs.add, 1, b=2, job_id="add", meta={"owner": "me"}, queue_name="math"
    )
    fetched = Job.fetch(one_off.id, connection=redis)
    assert (fetched.func_name, fetched.args, fetched.kwargs, fetched.origin) == (
        "jobs.add",
        (1,),
        {"b": 2},
        "math",
    )
    assert fetched.meta == {"owner": "me", "hasched_schedule_id": "add"}
    assert fetched.get_status() == "scheduled"
    assert (
        0
        < redis.ttl(fetched.key)
        <= (NOON.replace(tzinfo=UTC) + timedelta(days=1) - datetime.now(UTC)).total_seconds() + 1
    )
    periodic = scheduler.cron("*/5 * * * *", jobs.record, id="five")
    assert Job.fetch("five", connection=redis).meta["cron_string"] == "*/5 * * * *"
    assert redis.ttl(Job.key_for("five")) == -1  # kept while the schedule lives
    one_off.cancel()
    periodic.cancel()
    assert "add" not in scheduler and "five" not in scheduler
    for sid in ("add", "five"):
        with pytest.raises(NoSuchJobError):
            Job.fetch(sid, connection=redis)
    assert scheduler.count() == 0


def test_run_burst_enqueues_what_is_due_once_and_returns(redis: Redis, scheduler: Scheduler) -> None:
    due = scheduler.enqueue_in(timedelta(0), jobs.record, "due")
    later = scheduler.enqueue_in(timedelta(hours=1), jobs.record, "later")
    scheduler.run(burst=True)
    queued = [Job.fetch(i, connection=redis) for i in Queue("default", connection=redis).job_ids]
    assert [(j.meta["hasched_schedule_id"], j.args) for j in queued] == [(due.id, ("due",))]
    assert later in scheduler and due not in scheduler
    scheduler.run(burst=True)  # nothing more is due: nothing more enqueued
    assert len(Queue("default", connection=redis).job_ids) == 1
    assert redis.get("{hasched}:lease") is None  # the pass left: lease released


def test_run_leads_until_sigterm(redis: Redis, redis_server: RedisServer) -> None:
    code = ("from redis import Redis\nfrom hasched.compat.rq_scheduler import Scheduler\n"
            f"Scheduler(connection=Redis.from_url({redis_server.url!r})).run()\n")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: redis.get("{hasched}:lease"), timeout=15)
        Scheduler(connection=redis).enqueue_in(timedelta(0), jobs.record, "soon")
        wait_for(lambda: Queue("default", connection=redis).count == 1, timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    assert redis.get("{hasched}:lease") is None
