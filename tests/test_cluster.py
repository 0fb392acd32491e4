"""Real `hasched run` processes and real `rq worker`s on a private redis-server."""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from cluster import Cluster, ClusterFactory, Proc
from helpers import all_recorded, ledger, redis_now, run_cli, wait_for
from redis import Redis
from redis_server import RedisServer
from rq.job import Job

from hasched import Scheduler
from hasched._triggers import to_us

pytestmark = pytest.mark.slow


def fire_times(entries: list[dict[str, object]], sid: str) -> list[datetime]:
    return sorted(datetime.fromisoformat(str(e["fire_time"])) for e in entries if e["schedule_id"] == sid)


def test_cron_interval_and_one_off_run_in_a_real_worker(cluster: Cluster, redis: Redis) -> None:
    cluster.start_instance("a")
    cluster.start_worker()
    cluster.wait_leader()
    sched = Scheduler(redis)
    now = redis_now(redis)
    sched.cron("cron", "* * * * * *", "jobs.record", args=["cron"])  # every second, seconds first
    sched.every("interval", 0.5, "jobs.record", args=["interval"], start=now)
    sched.at("once", now + timedelta(seconds=1), "jobs.record_async", args=["once"])
    wait_for(lambda: len(fire_times(ledger(redis), "cron")) >= 3, timeout=15)
    wait_for(lambda: fire_times(ledger(redis), "once"), timeout=15)
    entries = ledger(redis)
    crons, intervals = fire_times(entries, "cron"), fire_times(entries, "interval")
    assert all(t.microsecond == 0 for t in crons)
    assert all((to_us(t) - to_us(now)) % 500_000 == 0 for t in intervals)
    assert fire_times(entries, "once") == [now + timedelta(seconds=1)]
    for e in entries:
        job = Job.fetch(str(e["job_id"]), connection=redis)
        fire = datetime.fromisoformat(str(e["fire_time"]))
        assert job.enqueued_at is not None
        lateness = job.enqueued_at.replace(tzinfo=fire.tzinfo) - fire
        assert timedelta(0) <= lateness < timedelta(seconds=1), (e, job.enqueued_at)
        assert job.meta["hasched_epoch"] == e["epoch"] >= 1
        assert job.get_status() == "finished"
    assert len({e["job_id"] for e in entries}) == len(entries)


def test_a_new_schedule_wakes_the_sleeping_leader(cluster_factory: ClusterFactory, redis: Redis) -> None:
    # With a 30 s lease the idle leader sleeps 10 s between renewals; only the wake-up on
    # the schedule write can make the fire prompt.
    cluster = cluster_factory(lease_ttl=30)
    cluster.start_instance("a", metrics=True)
    cluster.wait_leader()
    # its first pass is over (timed in the metrics): the leader now sleeps until it must renew
    wait_for(lambda: (cluster.metric("a", "hasched_tick_duration_seconds_count") or 0) >= 1, timeout=10)
    sched = Scheduler(redis)
    sched.at("now", redis_now(redis), "jobs.record")
    job_id = wait_for(lambda: redis.lrange("rq:queue:default", 0, -1), timeout=5)[0]
    job = Job.fetch(job_id.decode(), connection=redis)
    fire = datetime.fromisoformat(job.meta["hasched_fire_time"])
    assert job.enqueued_at is not None
    assert job.enqueued_at.replace(tzinfo=fire.tzinfo) - fire < timedelta(seconds=2)


def fired_under(redis: Redis, epoch: int, at_least: int) -> bool:
    """At least `at_least` fires of every interval schedule `iv*` ran, enqueued under `epoch`."""
    counts = Counter(e["schedule_id"] for e in ledger(redis) if e["epoch"] == epoch)
    ids = {sid for sid in counts if sid.startswith("iv")}
    return bool(ids) and all(counts[sid] >= at_least for sid in ids)


def test_sigkill_of_the_leader_loses_and_doubles_nothing(cluster: Cluster, redis: Redis) -> None:
    for name in ("a", "b", "c"):
        cluster.start_instance(name)
    cluster.start_worker()
    leader, epoch = cluster.wait_leader()
    sched = Scheduler(redis)
    start = redis_now(redis) + timedelta(seconds=0.5)
    for i in range(3):
        sched.every(f"iv{i}", 0.2, "jobs.record", start=start, catchup="all")
    wait_for(lambda: fired_under(redis, epoch, 3), timeout=15)
    cluster.instances[leader].signal(signal.SIGKILL)
    _, new_epoch = cluster.wait_leader(exclude=leader)
    assert new_epoch > epoch
    wait_for(lambda: fired_under(redis, new_epoch, 3), timeout=15)
    for i in range(3):
        sched.pause(f"iv{i}")
    end = redis_now(redis)
    wait_for(lambda: redis.llen("rq:queue:default") == 0 and all_recorded(redis, "hasched"), timeout=20)
    entries = ledger(redis)
    counts = Counter((e["schedule_id"], e["fire_time"]) for e in entries)
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
    for i in range(3):
        got = fire_times(entries, f"iv{i}")
        steps = [(to_us(t) - to_us(start)) // 200_000 for t in got]
        assert steps == list(range(len(steps))), f"iv{i}: gaps in {steps}\n{cluster.report()}"
        assert end - got[-1] < timedelta(seconds=cluster.lease_ttl)  # the new leader kept up
    assert {e["epoch"] for e in entries} >= {epoch, new_epoch}


def test_paused_leader_enqueues_nothing_after_losing_the_lease(cluster: Cluster, redis: Redis) -> None:
    for name in ("a", "b"):
        cluster.start_instance(name)
    cluster.start_worker()
    leader, epoch = cluster.wait_leader()
    sched = Scheduler(redis)
    sched.every("iv", 0.1, "jobs.record", start=redis_now(redis), catchup="all")
    wait_for(lambda: fired_under(redis, epoch, 3), timeout=15)
    cluster.instances[leader].signal(signal.SIGSTOP)
    new_leader, new_epoch = cluster.wait_leader(exclude=leader)
    wait_for(lambda: fired_under(redis, new_epoch, 3), timeout=15)
    # the fault itself: the old leader stays frozen for 3 lease TTLs, then wakes still "leading"
    time.sleep(3 * cluster.lease_ttl)
    resumed_at = redis_now(redis)
    cluster.instances[leader].signal(signal.SIGCONT)
    wait_for(lambda: "hasched.lease.lost" in events(cluster.instances[leader]), timeout=10)
    sched.pause("iv")
    wait_for(lambda: redis.llen("rq:queue:default") == 0 and all_recorded(redis, "hasched"), timeout=20)
    assert cluster.leader() == (new_leader, new_epoch)
    entries = ledger(redis)
    late_old = [
        e for e in entries if e["epoch"] == epoch and datetime.fromisoformat(str(e["fire_time"])) > resumed_at
    ]
    assert late_old == []
    counts = Counter((e["schedule_id"], e["fire_time"]) for e in entries)
    assert max(counts.values()) == 1


def events(proc: Proc) -> list[str]:
    return [e["event"] for e in proc.events()]


def test_replace_and_recreate_never_refire(cluster: Cluster, redis: Redis) -> None:
    cluster.start_instance("a")
    cluster.start_worker()
    cluster.wait_leader()
    when = (redis_now(redis) + timedelta(seconds=0.5)).isoformat()
    add = ["schedule", "add", "--id", "x", "--func", "jobs.record", "--at", when]
    assert run_cli(*add, redis_url=cluster.redis_url).returncode == 0
    wait_for(lambda: ledger(redis), timeout=10)
    for cmd in ([*add, "--replace"], ["schedule", "rm", "x"], add):
        done = run_cli(*cmd, redis_url=cluster.redis_url)
        assert done.returncode == 0, done.stderr
    # the leader finds the re-created one-off's fire claimed already, and skips it
    claimed = wait_for(
        lambda: [e for e in cluster.instances["a"].events() if e["event"] == "hasched.fire.claimed"]
    )
    assert claimed[0]["schedule_id"] == "x"
    assert len(ledger(redis)) == 1
    assert redis.llen("rq:queue:default") == 0


def test_instances_survive_redis_going_away_and_epoch_keeps_rising(
    private_redis: RedisServer, cluster_factory: ClusterFactory
) -> None:
    server = private_redis  # no persistence: the restart below loses every key
    c = cluster_factory(server.url, lease_ttl=1.0)
    c.start_instance("a", metrics=True)
    c.start_instance("b", metrics=True)
    leader, epoch = c.wait_leader()
    follower = "b" if leader == "a" else "a"
    # the follower has tried for the lease and seen the leader's epoch
    wait_for(lambda: c.metric(follower, "hasched_leader_epoch") == epoch, timeout=10)
    server.kill()
    # the leader steps down once a whole lease TTL passed without Redis; both keep running
    wait_for(lambda: "hasched.lease.lost" in events(c.instances[leader]), timeout=15)
    assert all(p.alive() for p in c.instances.values()), c.report()
    server.start()
    _, new_epoch = c.wait_leader(timeout=15)
    assert new_epoch > epoch  # the counter was lost, yet no epoch is reused
    sched = Scheduler(server.client())
    sched.at("after", redis_now(server.client()), "jobs.record")
    wait_for(lambda: server.client().llen("rq:queue:default") == 1, timeout=10)
    errors = [e for p in c.instances.values() for e in p.events() if e["event"] == "hasched.redis.error"]
    assert errors, "the outage was not reported in the logs"
