"""Redis losing its data, and the verifier on a run longer than RQ keeps finished jobs.

With `HASCHED_TEST_REDIS=docker` (what `make chaos` uses) Redis runs in a container and the
restart below is `docker restart`; with the local backend it is a SIGKILL and a fresh start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harness import assert_clean, events, revive_workers, sole_leader
from helpers import wait_for
from jobs import LEDGER

from hasched import Scheduler
from hasched._jobs import job_key
from hasched._triggers import to_us


def test_redis_restart_without_persistence(chaos: Any) -> None:
    """The README's documented limit: Redis restarted without AOF forgets schedules, progress and
    marks together, so nothing guards the fires enqueued before — those may be enqueued again once
    the schedules are declared again (here: the one-offs, whose past time fires at once; intervals
    and crons restart at their first fire from now). Asserted, and no more: the epoch still goes
    up (the instances ask with the highest epoch they saw), no instance dies, nothing is left in
    Redis to fire until the schedules are declared again, and from then on every fire is enqueued
    and run exactly once, apart from fires that had run before the restart."""
    c = chaos(appendonly=False).start(instances=3, workers=2)
    c.workload.create(duration=12, burst=50)  # the one-offs fall due 5 s in
    burst = {k for k in c.workload.expected if k[0].startswith("burst")}
    wait_for(lambda: burst <= ran(c.workload), timeout=20)
    _, epoch = c.cluster.wait_leader()
    before = frozenset(ran(c.workload))
    c.fault()
    c.server.restart()  # `docker restart`: SIGTERM, no AOF, no RDB: an empty Redis comes back
    _, new_epoch = c.cluster.wait_leader()
    assert new_epoch > epoch, (epoch, new_epoch)
    assert Scheduler(c.workload.redis, "chaos").list() == []
    assert c.workload.redis.llen(LEDGER) == 0  # the workers' ledger went with it
    revive_workers(c.cluster)
    c.workload.redeclare()
    v = c.finish(ran_before=before)
    assert all(p.alive() for p in c.cluster.instances.values()), c.cluster.report()
    assert_clean(v, redis_died=True)
    assert 0 < v.refired <= len(before), v.row()
    assert sole_leader(c.cluster)


def ran(workload: Any) -> set[tuple[str, int]]:
    return {(e["schedule_id"], to_us(datetime.fromisoformat(e["fire_time"]))) for e in workload.ledger()}


def test_verifier_counts_fires_whose_finished_job_rq_deleted(chaos: Any) -> None:
    """RQ deletes a finished job's hash `result_ttl` seconds after it ran; on a run longer than
    that, the ledger is the only proof a fire was enqueued. Every fire must still count."""
    c = chaos().start(instances=3, workers=2)
    c.workload.create(duration=8, result_ttl=1)
    wait_for(lambda: c.workload.redis.llen(LEDGER) > 50, timeout=20)
    leader = c.cluster.wait_leader()[0]
    c.fault()
    c.cluster.instances[leader].stop()  # one handoff, so the row is not a run without faults
    v = c.finish()
    gone = [j for j in c.workload.expected.values() if not c.workload.redis.exists(job_key(j))]
    assert len(gone) > len(c.workload.expected) // 2, "RQ kept the finished jobs: the run proves nothing"
    assert_clean(v)
    assert events(c.cluster.instances[leader], "hasched.lease.released")
