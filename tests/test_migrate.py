"""`import_rq_scheduler`: jobs made with rq-scheduler's own API become equivalent hasched schedules.

The end-to-end test runs a real `rqscheduler` next to a real `hasched run` and `rq worker` and
shows every imported job firing under hasched, at rq-scheduler's times, and never under both.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jobs
import pytest
import rq_scheduler
from cluster import BIN, HERE, ClusterFactory
from helpers import ledger, redis_now, wait_for
from redis import Redis
from redis_server import RedisServer
from rq.job import Job
from rq.registry import StartedJobRegistry

from hasched import Scheduler
from hasched._jobs import job_key
from hasched.compat._migrate import (
    LOCK_KEY,
    SCHEDULED_JOBS_KEY,
    MigrationError,
    MigrationReport,
    due_id,
    import_rq_scheduler,
    schedule_id,
)

IMPORTABLE = {"cron-job": "rqs-cron-job", "interval-job": "rqs-interval-job", "once-job": "rqs-once-job"}
UNSUPPORTED = {
    "set-arg": "args: must be JSON-serialisable",
    "datetime-kwarg": "kwargs: must be JSON-serialisable",
    "tuple-arg": "args: would change when stored as JSON",
    "bound-method": "is called on a pickled instance",
    "depends": "depends on other jobs",
    "both-days": "restricts both day of month and day of week",
    "year": "restricts the year",
}


TAGS = {"rqs-once": "once", "rqs-interval": "interval", "rqs-cron": "cron"}
# rq-scheduler's crontab warns about its own future default on every cron call
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def naive(dt: datetime) -> datetime:
    """rq-scheduler's way of saying UTC."""
    return dt.astimezone(UTC).replace(tzinfo=None)


def scores(redis: Redis) -> dict[str, datetime]:
    """rq-scheduler's next run of each job."""
    entries = redis.zrange(SCHEDULED_JOBS_KEY, 0, -1, withscores=True)
    return {m.decode(): datetime.fromtimestamp(s, UTC) for m, s in entries}


def snapshot(redis: Redis) -> dict[bytes, Any]:
    return {key: redis.dump(key) for key in redis.keys("*")}


def install(redis: Redis) -> None:
    """An rq-scheduler installation: three jobs hasched can run, and some it cannot."""
    rqs = rq_scheduler.Scheduler(connection=redis)
    later = naive(redis_now(redis).replace(microsecond=0) + timedelta(hours=1))
    rqs.cron("*/5 * * * *", jobs.record, args=["cron"], queue_name="reports", timeout=30, id="cron-job",
             meta={"team": "ops"})  # fmt: skip
    rqs.schedule(later, jobs.record, kwargs={"tag": "interval"}, interval=2, repeat=3, timeout=45,
                 id="interval-job", description="every two seconds")  # fmt: skip
    rqs.enqueue_at(later + timedelta(hours=1), jobs.record, "once", timeout=60, job_id="once-job")
    rqs.enqueue_at(later, jobs.record, {1, 2}, job_id="set-arg")
    rqs.enqueue_at(later, jobs.record, tag=datetime(2030, 1, 1), job_id="datetime-kwarg")
    rqs.enqueue_at(later, jobs.record, (1, 2), job_id="tuple-arg")
    rqs.enqueue_at(later, collections.Counter("ab").most_common, job_id="bound-method")
    rqs.enqueue_at(later, jobs.record, "x", job_id="depends", depends_on="cron-job")
    rqs.cron("0 0 1 * 1", jobs.record, id="both-days")
    rqs.cron("0 3 * * * 2099", jobs.record, id="year")


def run_import(redis: Redis, **kwargs: Any) -> MigrationReport:
    options: dict[str, Any] = {"dry_run": False, "remove_source": False, **kwargs}
    return import_rq_scheduler(redis, Scheduler(redis), **options)


def test_dry_run_reports_everything_and_writes_nothing(redis: Redis) -> None:
    install(redis)
    before = snapshot(redis)
    report = run_import(redis, dry_run=True, remove_source=True)
    assert snapshot(redis) == before
    assert report.dry_run
    assert {c.rq_job_id: c.schedule_id for c in report.created} == IMPORTABLE
    reasons = {s.rq_job_id: s.reason for s in report.skipped}
    assert set(reasons) == set(UNSUPPORTED)
    for rq_id, reason in UNSUPPORTED.items():
        assert reason in reasons[rq_id], (rq_id, reasons[rq_id])
    assert set(report.removed) == set(IMPORTABLE)
    lines = report.lines()
    assert "would import interval-job as rqs-interval-job: every 2s from " in "\n".join(lines)
    assert lines[-1] == "3 schedules, 7 skipped, 3 removed"


def test_import_creates_equivalent_schedules(redis: Redis) -> None:
    install(redis)
    times = scores(redis)
    report = run_import(redis)
    sched = Scheduler(redis)
    assert sorted(s.id for s in sched.list()) == sorted(IMPORTABLE.values())
    for rq_id, sid in IMPORTABLE.items():
        job, s = Job.fetch(rq_id, connection=redis), sched.get(sid)
        assert (s.func, list(s.args), dict(s.kwargs)) == (job.func_name, list(job.args), job.kwargs)
        assert (s.queue, s.timeout, s.result_ttl, s.ttl) == (job.origin, job.timeout, job.result_ttl, job.ttl)
        assert s.source == "rq-scheduler"
        assert sched.next_fire_times(sid, 1) == [times[rq_id]], sid  # rq-scheduler's next run
    cron, interval, once = (sched.get(IMPORTABLE[k]) for k in ("cron-job", "interval-job", "once-job"))
    assert (cron.cron, cron.timezone, cron.repeat) == ("*/5 * * * *", "UTC", None)
    assert cron.start == times["cron-job"]
    assert (cron.args, cron.queue, cron.meta) == (("cron",), "reports", {"team": "ops"})
    assert (interval.every, interval.start, interval.repeat) == (2.0, times["interval-job"], 3)
    assert (interval.kwargs, interval.description) == ({"tag": "interval"}, "every two seconds")
    assert (once.at, once.repeat, once.description, once.args) == (times["once-job"], None, None, ("once",))
    assert [c.trigger for c in report.created if c.schedule_id == once.id] == [f"at {once.at.isoformat()}"]
    assert set(scores(redis)) == set(IMPORTABLE) | set(UNSUPPORTED)  # nothing removed


def test_importing_again_changes_nothing(redis: Redis) -> None:
    install(redis)
    first = run_import(redis)
    sched = Scheduler(redis)
    before = {s.id: (s, sched.describe(s.id)) for s in sched.list()}
    second = run_import(redis)
    assert second == first
    assert {s.id: (s, sched.describe(s.id)) for s in sched.list()} == before  # same fire times: progress kept


def test_remove_source_removes_exactly_the_imported_jobs(redis: Redis) -> None:
    install(redis)
    report = run_import(redis, remove_source=True)
    assert set(report.removed) == set(IMPORTABLE)
    assert set(scores(redis)) == set(UNSUPPORTED)
    assert {j.id for j in rq_scheduler.Scheduler(connection=redis).get_jobs()} == set(UNSUPPORTED)
    for rq_id in IMPORTABLE:
        assert not redis.exists(job_key(rq_id))
    for rq_id in UNSUPPORTED:
        assert redis.exists(job_key(rq_id))
    assert not redis.exists(LOCK_KEY)  # released
    assert run_import(redis, remove_source=True).created == ()  # the rest stays skipped


@pytest.mark.parametrize("repeat", [None, -1, 0, 1, 3])
def test_repeat_is_the_number_of_runs_rq_scheduler_makes(redis: Redis, repeat: int | None) -> None:
    rqs = rq_scheduler.Scheduler(connection=redis)
    job = rqs.schedule(naive(redis_now(redis) + timedelta(hours=1)), jobs.record, interval=60, repeat=repeat)
    run_import(redis)
    for _ in range(6):  # let rq-scheduler's own code run it to the end (or 6 runs: "forever")
        redis.zadd(SCHEDULED_JOBS_KEY, {job.id: 0})
        rqs.enqueue_jobs()
        if job.id not in rqs:
            break
    runs = None if job.id in rqs else redis.llen("rq:queue:default")
    assert Scheduler(redis).get(schedule_id(job.id)).repeat == runs


def test_a_due_run_of_a_recurring_job_is_kept_as_a_one_off(redis: Redis) -> None:
    rqs = rq_scheduler.Scheduler(connection=redis)
    due = redis_now(redis).replace(microsecond=0) - timedelta(seconds=30)
    rqs.schedule(naive(due), jobs.record, args=["late"], interval=600, repeat=3, id="late")
    rqs.cron("*/5 * * * *", jobs.record, id="late-cron")
    cron_due = scores(redis)["late-cron"] - timedelta(minutes=5)
    redis.zadd(SCHEDULED_JOBS_KEY, {"late-cron": cron_due.timestamp()})  # as if rqscheduler had been down
    rqs.enqueue_at(naive(due - timedelta(days=2)), jobs.record, job_id="old-once")
    first = run_import(redis)
    sched = Scheduler(redis)
    assert sched.get("rqsdue-late").at == due
    assert (sched.get("rqs-late").start, sched.get("rqs-late").repeat) == (due + timedelta(seconds=600), 2)
    assert sched.get("rqsdue-late-cron").at == cron_due
    assert sched.next_fire_times("rqs-late-cron", 1) == [cron_due + timedelta(minutes=5)]
    old_once = sched.describe("rqs-old-once")  # two days overdue: runs at once, as in rq-scheduler
    assert old_once["next_fire"] == (due - timedelta(days=2)).isoformat()
    assert old_once["catchup_window"] == 3 * 86400
    before = {s.id: (s, sched.describe(s.id)) for s in sched.list()}
    assert run_import(redis) == first
    assert {s.id: (s, sched.describe(s.id)) for s in sched.list()} == before


def test_cron_keeps_the_time_zone_rq_scheduler_computed_in(redis_server: RedisServer, redis: Redis) -> None:
    # rq-scheduler 0.14 matches cron strings against the host's local time, whatever
    # use_local_timezone says: run it on a "New York host".
    code = (
        "import sys, jobs, rq_scheduler; from redis import Redis; r = Redis.from_url(sys.argv[1]); "
        "rq_scheduler.Scheduler(connection=r).cron('0 3 * * *', jobs.record, id='ny')"
    )
    env = {**os.environ, "TZ": "America/New_York", "PYTHONPATH": str(HERE)}
    args = [sys.executable, "-W", "ignore", "-c", code, redis_server.url]
    subprocess.run(args, env=env, check=True, timeout=30)
    guessed = run_import(redis, dry_run=True, local_timezone="Asia/Tokyo")
    assert "cannot tell which time zone" in guessed.skipped[0].reason
    assert guessed.created == ()
    run_import(redis, local_timezone="America/New_York")
    s = Scheduler(redis).get("rqs-ny")
    assert (s.cron, s.timezone, s.start) == ("0 3 * * *", "America/New_York", scores(redis)["ny"])


def test_seconds_cron_and_unreadable_jobs(redis: Redis) -> None:
    rqs = rq_scheduler.Scheduler(connection=redis)
    rqs.cron("*/10 * * * * * *", jobs.record, id="seconds")  # crontab: seconds first, year last
    broken = rqs.enqueue_at(naive(redis_now(redis) + timedelta(hours=1)), jobs.record, job_id="broken")
    redis.hset(broken.key, "data", zlib.compress(b"cno_such_module_here\nThing\n)\x81."))
    redis.zadd(SCHEDULED_JOBS_KEY, {"ghost": 2_000_000_000})
    report = run_import(redis, remove_source=True)
    assert Scheduler(redis).get("rqs-seconds").cron == "*/10 * * * * *"
    reasons = {s.rq_job_id: s.reason for s in report.skipped}
    assert "cannot be read here" in reasons["broken"]
    assert "is missing" in reasons["ghost"]
    assert report.removed == ("seconds",)


def test_remove_source_waits_for_rq_scheduler_s_lock(redis: Redis) -> None:
    install(redis)
    redis.set(LOCK_KEY, "an rqscheduler", ex=30)
    before = snapshot(redis)
    with pytest.raises(MigrationError, match="rq:scheduler_lock"):
        run_import(redis, remove_source=True, lock_wait=0.3)
    assert snapshot(redis) == before
    assert run_import(redis, dry_run=True, remove_source=True).created  # a dry run takes no lock


def test_schedule_ids_are_valid_and_distinct() -> None:
    assert schedule_id("0b6c7f9e-1d2a") == "rqs-0b6c7f9e-1d2a"
    odd = [schedule_id(x) for x in ("a:b", "a.b", "a b", "x" * 300)]
    assert len(set(odd)) == 4
    assert all(len(sid) <= 110 and sid.startswith("rqs-") for sid in odd)
    assert due_id(schedule_id("a")) == "rqsdue-a" != schedule_id("a-due")


# -- end to end ---------------------------------------------------------------------------------


@pytest.fixture()
def rqscheduler(redis_server: RedisServer, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real rq-scheduler process polling every second (logging each poll to rqscheduler.log)."""
    log = (tmp_path / "rqscheduler.log").open("wb")
    args = [str(BIN / "rqscheduler"), "--url", redis_server.url, "--interval", "1", "--path", str(HERE),
            "--verbose"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=HERE)
    yield proc
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    log.close()


@pytest.mark.slow
def test_imported_jobs_fire_under_hasched_at_rq_scheduler_s_times_and_never_twice(
    cluster_factory: ClusterFactory, redis: Redis, rqscheduler: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    cluster = cluster_factory(queues=("default", "reports"))
    cluster.start_instance("a")
    cluster.start_worker()
    cluster.wait_leader()
    base = redis_now(redis).replace(microsecond=0) + timedelta(seconds=5)
    expected = create_and_import(redis, base)
    wait_for(lambda: len(ledger(redis)) >= len(expected), timeout=25)
    # rq-scheduler polled twice more, and whatever it would have enqueued then has run
    polled = rqscheduler_polls(tmp_path)
    wait_for(lambda: rqscheduler_polls(tmp_path) >= polled + 2, timeout=10)
    wait_for(lambda: idle(redis, "default", "reports"), timeout=10)
    entries = ledger(redis)
    assert all(e["schedule_id"] for e in entries), entries  # rq-scheduler enqueued nothing
    fired = sorted((e["schedule_id"], datetime.fromisoformat(e["fire_time"])) for e in entries)
    assert fired == sorted(expected), cluster.report()
    for e in entries:
        job = Job.fetch(e["job_id"], connection=redis)
        assert job.func_name == "jobs.record"
        assert e["tag"] == TAGS[e["schedule_id"]]
        assert job.origin == ("reports" if e["schedule_id"] == "rqs-once" else "default")
    assert rqscheduler.poll() is None  # it was running all along
    assert set(scores(redis)) == {"unsupported"}


def rqscheduler_polls(tmp_path: Path) -> int:
    return (tmp_path / "rqscheduler.log").read_text(errors="replace").count("Checking for scheduled jobs")


def idle(redis: Redis, *queues: str) -> bool:
    """Nothing waits in `queues` and no worker is running a job."""
    running = sum(StartedJobRegistry(q, connection=redis).count for q in queues)
    return running == 0 and all(redis.llen(f"rq:queue:{q}") == 0 for q in queues)


def create_and_import(redis: Redis, base: datetime) -> list[tuple[str, datetime]]:
    """rq-scheduler jobs from `base` on, imported at once; the (schedule, fire time) pairs due."""
    rqs = rq_scheduler.Scheduler(connection=redis)
    rqs.enqueue_at(naive(base), jobs.record, "once", queue_name="reports", job_id="once")
    rqs.schedule(naive(base + timedelta(seconds=1)), jobs.record, kwargs={"tag": "interval"}, interval=2,
                 repeat=3, id="interval")  # fmt: skip
    first, second = (base + timedelta(seconds=2)).second, (base + timedelta(seconds=4)).second
    rqs.cron(f"{first},{second} * * * * * *", jobs.record, args=["cron"], repeat=2, id="cron")
    rqs.enqueue_at(naive(base + timedelta(days=1)), jobs.record, {1, 2}, job_id="unsupported")
    report = run_import(redis, remove_source=True)
    assert redis_now(redis) < base, "the import must finish before the first run for this test to mean much"
    assert set(report.removed) == {"once", "interval", "cron"}, report.lines()
    offsets = {"rqs-once": (0,), "rqs-interval": (1, 3, 5), "rqs-cron": (2, 4)}
    return [(sid, base + timedelta(seconds=s)) for sid, secs in offsets.items() for s in secs]
