"""Backfill racing the live leader: a real `hasched run` instance commits a schedule firing every
0.2 s while backfills of the last seconds up to now run again and again, and real `rq worker`s
run what is enqueued. No fire is enqueued twice (the workers' ledger, RQ's job ids and the run
records agree), and every fire time of the range is enqueued once. To make the race certain, the
leader is also stopped (test hook) between planning a batch and committing it while a backfill
enqueues the same fires: its commit, let go, must count them as enqueued."""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from cluster import Cluster
from helpers import ledger, redis_now, wait_for
from redis import Redis

from hasched import Scheduler
from hasched._backfill import fire_times
from hasched._faults import STOP_BEFORE_COMMIT_ENV
from hasched._keys import Keys
from hasched._triggers import to_us

ENDED = {"finished", "failed", "stopped", "canceled", "unknown"}


def stopped(pid: int) -> bool:
    """The process is in the stopped state (T), as SIGSTOP leaves it."""
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("T")


def test_backfill_racing_the_leader_enqueues_no_fire_twice(
    cluster: Cluster, redis: Redis, tmp_path: Path
) -> None:
    sched = Scheduler(redis)
    hook = tmp_path / "stop"
    leader = cluster.start_instance("a", env={STOP_BEFORE_COMMIT_ENV: str(hook)})
    cluster.wait_leader()
    cluster.start_worker()
    now = redis_now(redis)
    start = now - timedelta(seconds=3)  # fires before the schedule was created: only backfill has them
    sched.every("race", 0.2, "jobs.record", start=start, history=10_000)
    enqueued = raced = 0
    for _ in range(5):
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:  # backfills of the last seconds, the leader firing too
            end = redis_now(redis)
            enqueued += len(sched.backfill("race", end - timedelta(seconds=1.5), end).enqueued)
            time.sleep(0.05)
        hook.touch()  # the leader stops between planning a batch and committing it (lease kept)
        wait_for(lambda: stopped(leader.pid), timeout=10)
        time.sleep(0.3)
        end = redis_now(redis)  # the fires it planned are due: the backfill enqueues them first
        raced += len(sched.backfill("race", end - timedelta(seconds=1.5), end).enqueued)
        leader.signal(signal.SIGCONT)  # its commit must find them enqueued
        time.sleep(0.2)
    last = redis_now(redis)
    enqueued += len(sched.backfill("race", start - timedelta(seconds=1), last).enqueued)
    sched.pause("race")  # no more fires: what ran can be counted
    cluster.instances["a"].stop()
    every = fire_times(sched.get("race"), to_us(start) - 1, to_us(last))
    assert enqueued > 15  # the fires before the schedule was created, and some the leader had not reached
    assert raced >= 5  # at least the fire each stopped commit held
    assert not [e for e in leader.events() if e.get("event") == "hasched.lease.fenced"]  # it really committed
    fired = int(redis.hget(Keys("hasched").fires, "race") or 0)
    cluster.start_instance("b")  # a leader to follow the runs to their end
    wait_for(lambda: len(ledger(redis)) >= fired, timeout=60)
    wait_for(lambda: all(r["status"] in ENDED for r in sched.history("race", n=10_000)), timeout=30)
    ran = Counter(e["fire_time"] for e in ledger(redis) if e["schedule_id"] == "race")
    assert max(ran.values()) == 1, [t for t, n in ran.items() if n > 1]
    assert len({e["job_id"] for e in ledger(redis)}) == len(ledger(redis)) == fired
    runs = [r for r in sched.history("race", n=10_000) if r["status"] != "skipped"]
    assert max(Counter(r["fire_time"] for r in runs).values()) == 1
    assert {r["status"] for r in runs} == {"finished"}
    assert {r["kind"] for r in runs} == {"scheduled", "backfill"}
    # every fire time up to the last backfill's end ran (once, as checked above)
    assert set(every) <= {to_us(datetime.fromisoformat(t)) for t in ran}
