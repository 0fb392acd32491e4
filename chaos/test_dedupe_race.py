"""A stale leader held back mid-commit while a client deletes and re-creates schedules whose
fires were already enqueued: only the schedules' marks (kept as tombstones across the delete)
stand between those re-created one-offs and a second enqueue."""

from __future__ import annotations

import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import LEASE_TTL
from helpers import redis_now, wait_for
from test_scenarios import assert_clean, events, stopped

from hasched import Scheduler
from hasched._faults import STOP_BEFORE_COMMIT_ENV
from hasched._keys import Keys
from hasched._triggers import to_us


class Recreator(threading.Thread):
    """Deletes and re-creates each one-off, same id and fire time, over and over once it is due."""

    def __init__(self, c: Any, ones: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.sched = Scheduler(c.server.client(), "chaos")
        self.ones, self.done, self.recreated = ones, threading.Event(), 0

    def run(self) -> None:
        while not self.done.is_set():
            now = redis_now(self.sched.connection)
            for sid, when in self.ones.items():
                if when <= now:
                    self.sched.cancel(sid)
                    self.sched.at(sid, when, "jobs.record", catchup="all")
                    self.recreated += 1
            time.sleep(0.05)


def test_stale_leader_and_recreated_schedules_race(chaos: Any, tmp_path: Path) -> None:
    c = chaos()
    hooks = {f"s{i}": tmp_path / f"stop-s{i}" for i in range(3)}
    for name, hook in hooks.items():
        c.cluster.start_instance(name, env={STOP_BEFORE_COMMIT_ENV: str(hook)})
    for _ in range(2):
        c.cluster.start_worker()
    c.workload.create(duration=14)
    start = redis_now(c.workload.redis)
    ones = {f"re{i}": start + timedelta(seconds=1.5 + 0.4 * i) for i in range(25)}
    sched, keys = Scheduler(c.workload.redis, "chaos"), Keys("chaos")
    for sid, when in ones.items():
        sched.at(sid, when, "jobs.record", catchup="all")
        c.workload.expected[(sid, to_us(when))] = keys.job_id(sid, to_us(when))
    racer = Recreator(c, ones)
    racer.start()
    try:
        time.sleep(3)
        old, old_epoch = c.cluster.wait_leader()
        proc = c.cluster.instances[old]
        hooks[old].touch()  # the leader stops itself between planning a batch and committing it
        wait_for(lambda: stopped(proc.pid), timeout=10)
        c.fault()
        _, new_epoch = c.cluster.wait_leader(exclude=old, timeout=3 * LEASE_TTL + 10)
        time.sleep(2)  # the new leader enqueues, the racer re-creates what it enqueued
        proc.signal(signal.SIGCONT)
        wait_for(lambda: events(proc, "hasched.lease.fenced"), timeout=10)
        c.workload.wait_done()
    finally:
        racer.done.set()
        racer.join()
    v = c.finish()
    assert new_epoch > old_epoch
    assert racer.recreated > len(ones)  # each one-off re-created after it fired, most many times
    assert_clean(v)
