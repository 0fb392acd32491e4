"""Chaos in worker mode: three `hasched worker` processes, each an RQ worker and a scheduler
instance, run the cron, interval and one-off workload while the lease holder is killed, stopped
and crippled. The jobs write the ledger; every fire must be enqueued exactly once."""

from __future__ import annotations

import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from harness import CRASH_GAP, Verdict, assert_clean
from helpers import wait_for
from slow_jobs import DONE, STARTED
from worker_cluster import start_hasched_worker

from hasched import Scheduler
from hasched._faults import CRASH_SCHEDULER_ENV, CRASH_WORKER_ENV

HANDOFF = 0.5  # a SIGTERMed leader's lease is taken over within this


def start_workers(c: Any, n: int = 3, env: dict[str, str] | None = None) -> None:
    for i in range(n):
        start_hasched_worker(c.cluster, f"w{i}", env=env)
    c.cluster.wait_leader()


def assert_enqueued_once(v: Verdict) -> None:
    """Every fire enqueued exactly once, none twice, none unexpected; and every job ran, except
    those a SIGKILLed worker had taken off its queue (RQ runs a job at most once: a killed
    worker loses the job it held; hasched's enqueue is not at fault and is counted apart)."""
    assert v.duplicates == v.missing == v.unexpected == 0, f"{v.row()}\n{v.examples}"
    assert v.expected > 0 and v.enqueued == v.expected
    assert v.not_executed == v.worker_lost and v.executed == v.expected - v.worker_lost, v.row()


def test_worker_mode_sigkill_leader_repeatedly(chaos: Any) -> None:
    kills = 10
    c = chaos()
    start_workers(c)
    c.workload.create(duration=kills * 2.1 + 2, burst=300)
    for n in range(1, kills + 1):
        leader = c.cluster.wait_leader()[0]
        time.sleep(0.4)
        c.fault()
        c.cluster.instances[leader].signal(signal.SIGKILL)
        start_hasched_worker(c.cluster, f"{leader.split('.')[0]}.{n}")
        c.cluster.wait_leader(exclude=leader)
    v = c.finish()
    assert_enqueued_once(v)
    assert v.max_gap_s <= CRASH_GAP, v.gaps_s


def test_worker_mode_sigterm_during_a_job(chaos: Any) -> None:
    """The leader, busy with a slow job, gets SIGTERM: the job completes, the lease moves at once."""
    c = chaos()
    busy = start_hasched_worker(c.cluster, "w0", "-q", "solo")  # leads, and alone works on "solo"
    assert c.cluster.wait_leader()[0] == "w0"
    for i in (1, 2):
        start_hasched_worker(c.cluster, f"w{i}")
    c.workload.create(duration=8)
    time.sleep(2)
    redis = c.workload.redis
    Scheduler(redis, "chaos").enqueue_in(timedelta(0), "slow_jobs.slow", args=[2.0], queue="solo")
    wait_for(lambda: redis.llen(STARTED) == 1, timeout=10)
    assert c.cluster.wait_leader()[0] == "w0"
    c.fault()
    sent = time.monotonic()
    busy.signal(signal.SIGTERM)
    c.cluster.wait_leader(exclude="w0", timeout=5)
    moved = time.monotonic() - sent
    assert redis.llen(DONE) == 0  # the lease moved while the job still ran
    assert busy.popen is not None and busy.popen.wait(15) == 0
    assert redis.lrange(DONE, 0, -1) == redis.lrange(STARTED, 0, -1)  # and the job completed
    assert moved < HANDOFF, moved
    v = c.finish()
    assert_clean(v)


def test_worker_mode_one_half_dies(chaos: Any, tmp_path: Path) -> None:
    """The scheduler thread of the leader crashes, then the worker loop of the next leader: each
    process exits non-zero, and the others carry on with every fire."""
    c = chaos()
    hooks = {f"w{i}": {CRASH_SCHEDULER_ENV: str(tmp_path / f"s{i}"),
                       CRASH_WORKER_ENV: str(tmp_path / f"k{i}")} for i in range(3)}  # fmt: skip
    for name, env in hooks.items():
        start_hasched_worker(c.cluster, name, env=env)
    c.cluster.wait_leader()
    c.workload.create(duration=10)
    time.sleep(2)
    for hook in (CRASH_SCHEDULER_ENV, CRASH_WORKER_ENV):
        leader = c.cluster.wait_leader()[0]
        c.fault()
        Path(hooks[leader][hook]).touch()
        proc = c.cluster.instances[leader]
        assert proc.popen is not None and proc.popen.wait(15) == 1, hook
        c.cluster.wait_leader(exclude=leader)
        time.sleep(1)
    v = c.finish()
    assert_enqueued_once(v)  # a crashed worker loop may lose the job it had taken, as on SIGKILL
    assert v.max_gap_s <= CRASH_GAP, v.gaps_s
