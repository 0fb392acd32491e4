"""Overlap policies with a real cluster: `hasched run` instances and plain `rq worker`s running a
job that takes longer than its schedule's interval. Each policy's ledger of job starts and ends
(written by the jobs on Redis's clock) must be exactly what the policy promises; a leader killed
while a fire waits leaves it to the next leader, which enqueues it once; waiting fires survive a
Redis restart with AOF and run once."""

from __future__ import annotations

import json
import signal
import threading
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from cluster import Cluster, ClusterFactory
from helpers import ledger, redis_now, wait_for
from overlap_jobs import LEDGER
from redis import Redis
from redis_server import new_server, wait_until_answers
from rq.command import send_stop_job_command
from rq.job import Job
from rq.registry import CanceledJobRegistry

from hasched import Scheduler
from hasched._keys import Keys
from hasched._triggers import from_us, to_us

EVERY, FIRES = 1.0, 6
ENDED = {"finished", "failed", "stopped", "canceled", "unknown", "skipped"}
K = Keys("hasched")


def _schedule(redis: Redis, policy: str, seconds: float) -> tuple[Scheduler, list[str]]:
    """A schedule firing FIRES times, EVERY seconds apart, running overlap_jobs.work(seconds)."""
    sched = Scheduler(redis)
    start = redis_now(redis) + timedelta(seconds=1.5)
    end = start + timedelta(seconds=EVERY * (FIRES - 1))
    sched.every("o", EVERY, "overlap_jobs.work", args=[seconds], overlap=policy, start=start, end=end)
    fires = [from_us(to_us(start) + round(i * EVERY * 1e6)).isoformat() for i in range(FIRES)]
    return sched, fires


def _runs(redis: Redis) -> dict[str, dict[str, Any]]:
    """Per job id: its fire time, start and end (None when it never ended) from the ledger."""
    out: dict[str, dict[str, Any]] = {}
    for raw in redis.lrange(LEDGER, 0, -1):
        e = json.loads(raw)
        run = out.setdefault(e["job_id"], {"fire_time": e["fire_time"], "start": None, "end": None})
        run[e["event"]] = e["t"]
    return out


def _settled(sched: Scheduler, n: int, total: int | None = None) -> list[dict[str, Any]]:
    """The history (oldest first) once it holds `total` records (default `n`), the oldest `n` of
    them final."""

    def done() -> list[dict[str, Any]] | None:
        records = list(reversed(sched.history("o", n=100)))
        ok = len(records) == (total or n) and all(r["status"] in ENDED for r in records[:n])
        return records if ok else None

    records: list[dict[str, Any]] = wait_for(done, timeout=40)
    return records


class _Sampler:
    """Samples how many fires wait while the test runs (at most one for buffer_one)."""

    def __init__(self, redis: Redis) -> None:
        self.max, self._redis, self._stop = 0, redis, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.max = max(self.max, int(self._redis.llen(K.waiting("o"))))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.max


def _no_two_running(runs: dict[str, dict[str, Any]]) -> None:
    spans = sorted((r["start"], r["end"]) for r in runs.values())
    for (_, end), (start, _) in pairwise(spans):
        assert end is not None and start >= end, spans


@pytest.mark.parametrize("policy", ["buffer_one", "buffer_all"])
def test_buffer_policies_run_one_at_a_time_and_lose_nothing(
    cluster: Cluster, redis: Redis, policy: str
) -> None:
    sched, fires = _schedule(redis, policy, seconds=1.6)
    for _ in range(3):  # free workers: only the policy keeps the runs apart
        cluster.start_worker()
    sampler = _Sampler(redis)
    cluster.start_instance("a")
    records = _settled(sched, FIRES)
    most_waiting = sampler.stop()
    runs = _runs(redis)
    assert [r["fire_time"] for r in records] == fires  # one record per fire, in order
    ran = [r for r in records if r["status"] == "finished"]
    skipped = [r for r in records if r["status"] == "skipped"]
    assert len(ran) + len(skipped) == FIRES
    assert sorted(r["fire_time"] for r in runs.values()) == [r["fire_time"] for r in ran]  # each ran once
    for r in ran:
        assert r["job_id"] == K.job_id(
            "o", to_us(datetime.fromisoformat(r["fire_time"]))
        )  # its nominal fire's id
        assert runs[r["job_id"]]["end"] is not None
    _no_two_running(runs)
    by_start = sorted(runs.values(), key=lambda r: r["start"])
    assert [r["fire_time"] for r in by_start] == [r["fire_time"] for r in ran]  # in fire order
    gaps = [after["start"] - before["end"] for before, after in pairwise(by_start)]
    print(f"{policy}: previous job's end to the next start, s: {[round(g, 3) for g in gaps]}")
    assert max(gaps) < 2.0  # released soon after its turn came
    counters = sched.describe("o")["counters"]
    assert counters["enqueued"] == len(ran) and counters["skipped"] == len(skipped)
    assert redis.scard(K.waiting_set) == 0 and not redis.exists(K.waiting("o"))
    if policy == "buffer_one":
        assert most_waiting == 1 and skipped  # 1.6 s runs every 1 s: some fires find one waiting
    else:
        assert not skipped and most_waiting >= 2


def test_cancel_other_cancels_the_queued_previous_job_as_rq_does(cluster: Cluster, redis: Redis) -> None:
    sched, fires = _schedule(redis, "cancel_other", seconds=1.6)
    cluster.start_worker()  # one worker: a fire finds the previous one still queued
    cluster.start_instance("a")
    records = _settled(sched, FIRES)
    runs = _runs(redis)
    assert [r["fire_time"] for r in records] == fires
    canceled = [r for r in records if r["status"] == "canceled"]
    ran = [r for r in records if r["status"] == "finished"]
    assert canceled and len(canceled) + len(ran) == FIRES, records
    registry = CanceledJobRegistry("default", connection=redis)
    for r in canceled:
        assert r["job_id"] in registry.get_job_ids()
        assert Job.fetch(r["job_id"], connection=redis).get_status() == "canceled"
        assert r["job_id"] not in runs  # never started
    assert sorted(runs) == sorted(r["job_id"] for r in ran)
    assert records[-1]["status"] == "finished"  # the last fire, canceled by none, ran


def test_terminate_other_stops_the_started_previous_job_and_the_next_runs(
    cluster: Cluster, redis: Redis
) -> None:
    sched, fires = _schedule(redis, "terminate_other", seconds=30)
    for _ in range(2):
        cluster.start_worker(worker_class="rq.worker.Worker")  # forks: RQ can stop a job
    cluster.start_instance("a")
    records = _settled(sched, FIRES - 1, FIRES)  # the last one runs on
    wait_for(lambda: len(_runs(redis)) == FIRES, timeout=20)
    runs = _runs(redis)
    assert [r["fire_time"] for r in records] == fires
    for r in records[:-1]:
        assert r["status"] == "stopped", records
        assert Job.fetch(r["job_id"], connection=redis).get_status() == "stopped"  # RQ's own view
        assert runs[r["job_id"]]["end"] is None  # it did not run to its end
    last = sched.history("o")[0]
    assert (
        last["status"] == "started" and Job.fetch(last["job_id"], connection=redis).get_status() == "started"
    )
    send_stop_job_command(redis, last["job_id"])  # so the workers can stop at the end of the test


def test_a_waiting_fire_is_enqueued_once_by_the_next_leader(cluster: Cluster, redis: Redis) -> None:
    sched = Scheduler(redis)
    start = redis_now(redis) + timedelta(seconds=1)
    sched.every("o", 1.0, "jobs.wait_for_key", args=["test:go"], overlap="buffer_all", start=start, repeat=3)
    cluster.start_worker()
    cluster.start_instance("a")
    cluster.start_instance("b")
    wait_for(
        lambda: [r["status"] for r in sched.history("o")] == ["waiting", "waiting", "started"], timeout=15
    )
    leader = cluster.wait_leader()[0]
    cluster.instances[leader].signal(signal.SIGKILL)
    cluster.wait_leader(timeout=15, exclude=leader)
    redis.set("test:go", 1)  # the first job ends: the waiting ones go, one after the other
    records = list(reversed(_settled_ok(sched, 3)))
    assert [r["status"] for r in records] == ["finished"] * 3
    fires = [from_us(to_us(start) + i * 1_000_000).isoformat() for i in range(3)]
    assert [r["fire_time"] for r in records] == fires
    for r in records:
        meta = Job.fetch(r["job_id"], connection=redis).get_meta()
        assert meta["hasched_fire_time"] == r["fire_time"]
    assert sched.describe("o")["counters"]["enqueued"] == 3
    assert sum(int(x) for x in redis.hvals(K.fires)) == 3  # none twice


def _settled_ok(sched: Scheduler, n: int) -> list[dict[str, Any]]:
    wait_for(lambda: [r["status"] for r in sched.history("o")] == ["finished"] * n, timeout=30)
    return sched.history("o")


def test_waiting_fires_survive_a_redis_restart_with_aof_and_run_once(cluster_factory: ClusterFactory) -> None:
    server = new_server(appendonly=True).start()
    try:
        redis = server.client()
        cluster = cluster_factory(server.url)
        sched = Scheduler(redis)
        start = redis_now(redis) + timedelta(seconds=1)
        sched.every("o", 0.5, "jobs.record", overlap="buffer_all", start=start, repeat=3)
        cluster.start_instance("a")  # no worker yet: the first job stays queued, the others wait
        wait_for(
            lambda: [r["status"] for r in sched.history("o")] == ["waiting", "waiting", "queued"], timeout=15
        )
        server.restart()  # SIGKILL, then back from its append-only file
        wait_until_answers(server.client, "restarted redis")
        assert redis.llen(K.waiting("o")) == 2
        cluster.start_worker()
        wait_for(lambda: [r["status"] for r in sched.history("o")] == ["finished"] * 3, timeout=30)
        fires = [from_us(to_us(start) + i * 500_000).isoformat() for i in range(3)]
        assert sorted(e["fire_time"] for e in ledger(redis)) == fires  # each ran, once
        assert sched.describe("o")["counters"]["enqueued"] == 3
    finally:
        server.stop()
