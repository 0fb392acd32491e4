"""`hasched worker`: an RQ worker and a scheduler instance in one process, as real processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from cluster import Cluster, ClusterFactory
from helpers import ledger, redis_now, run_cli, wait_for
from redis import Redis
from redis_server import RedisServer
from slow_jobs import DONE, STARTED
from worker_cluster import start_hasched_worker

from hasched import Scheduler
from hasched._faults import CRASH_SCHEDULER_ENV, CRASH_WORKER_ENV

UNITS = Path(__file__).resolve().parent.parent / "deploy" / "systemd"


def test_a_worker_leads_and_runs_what_it_fires(redis: Redis, cluster_factory: ClusterFactory) -> None:
    c = cluster_factory(namespace="w", lease_ttl=1.5)
    start_hasched_worker(c, "w0")
    assert c.wait_leader()[0] == "w0"
    Scheduler(redis, "w").every("tick", 0.2, "jobs.record", repeat=3)
    wait_for(lambda: len(ledger(redis)) == 3, timeout=15)
    assert {e["schedule_id"] for e in ledger(redis)} == {"tick"}


def test_sigterm_finishes_the_job_and_hands_the_lease_over_at_once(
    redis: Redis, cluster_factory: ClusterFactory
) -> None:
    c = cluster_factory(namespace="w", lease_ttl=10)  # expiry would take 10 s; a handover must not
    busy = start_hasched_worker(c, "w0", "-q", "solo")  # the only one on queue "solo"
    assert c.wait_leader()[0] == "w0"
    start_hasched_worker(c, "w1")
    wait_for(lambda: redis.zscore("{w}:instances", "w1") is not None)
    Scheduler(redis, "w").enqueue_in(timedelta(0), "slow_jobs.slow", args=[2], queue="solo")
    wait_for(lambda: redis.llen(STARTED) == 1, timeout=10)
    busy.signal(signal.SIGTERM)
    sent = time.monotonic()
    assert c.wait_leader(exclude="w0", timeout=5)[0] == "w1"
    moved = time.monotonic() - sent
    assert moved < 0.5, moved
    assert redis.llen(DONE) == 0  # the job is still running
    assert busy.popen is not None and busy.popen.wait(15) == 0
    assert redis.lrange(DONE, 0, -1) == redis.lrange(STARTED, 0, -1)  # and it finished


def test_a_second_sigint_is_a_cold_shutdown(redis: Redis, cluster_factory: ClusterFactory) -> None:
    c = cluster_factory(namespace="w", lease_ttl=10)
    proc = start_hasched_worker(c, "w0")
    c.wait_leader()
    Scheduler(redis, "w").enqueue_in(timedelta(0), "slow_jobs.slow", args=[30])
    wait_for(lambda: redis.llen(STARTED) == 1, timeout=10)
    proc.signal(signal.SIGINT)
    wait_for(lambda: redis.get("{w}:lease") is None, timeout=2)  # first: warm, the lease released
    assert proc.alive()
    # RQ ignores a repeat within a second of the first (a pool's duplicate): repeat until it stops.
    wait_for(lambda: proc.signal(signal.SIGINT) or not proc.alive(), timeout=10, interval=0.3)
    assert redis.llen(DONE) == 0  # the job was killed, not finished
    assert any("cold shut down" in line for line in proc.log.read_text().splitlines())


@pytest.mark.parametrize("hook", [CRASH_SCHEDULER_ENV, CRASH_WORKER_ENV])
def test_when_one_half_dies_the_process_exits_non_zero(
    redis: Redis, cluster_factory: ClusterFactory, tmp_path: Path, hook: str
) -> None:
    c = cluster_factory(namespace="w", lease_ttl=10)
    trigger = tmp_path / "crash"
    proc = start_hasched_worker(c, "w0", env={hook: str(trigger)})
    c.wait_leader()
    trigger.touch()
    assert proc.popen is not None and proc.popen.wait(15) == 1
    assert redis.get("{w}:lease") is None  # the surviving half left cleanly: lease released
    crashed = "hasched.worker.scheduler_crashed" if hook == CRASH_SCHEDULER_ENV else "hasched.worker.crashed"
    assert any(e["event"] == crashed for e in proc.events()), proc.log.read_text()


def test_burst_fires_what_is_due_works_the_queue_and_exits(redis: Redis, redis_server: RedisServer) -> None:
    s = Scheduler(redis, "w")
    s.at("past", redis_now(redis) - timedelta(seconds=5), "jobs.record", args=["due"])
    s.at("future", redis_now(redis) + timedelta(hours=1), "jobs.record")
    args = ["--burst", "--namespace", "w", "-w", "rq.worker.SimpleWorker", "-P", str(Path(__file__).parent)]
    out = run_cli("worker", *args, redis_url=redis_server.url)
    assert out.returncode == 0, out.stderr
    assert [e["tag"] for e in ledger(redis)] == ["due"]
    assert redis.get("{w}:lease") is None


def test_bad_worker_options_are_one_error_line(redis_server: RedisServer) -> None:
    for args, expected in [
        (["-w", "no.such.Worker"], "error: worker-class: cannot import 'no.such.Worker'"),
        (["--dequeue-strategy", "fifo"], "error: dequeue-strategy: must be one of default, random"),
        (["--lease-ttl", "0.5"], "error: lease-ttl: must be at least 1 second"),
    ]:
        out = run_cli("worker", *args, redis_url=redis_server.url)
        assert out.returncode == 2 and out.stderr.startswith(expected), out.stderr
        assert len(out.stderr.strip().splitlines()) == 1


def test_no_scheduler_is_a_plain_worker(redis: Redis, cluster_factory: ClusterFactory) -> None:
    c: Cluster = cluster_factory(namespace="w")
    proc = start_hasched_worker(c, "w0", "--no-scheduler")
    wait_for(lambda: redis.scard("rq:workers") == 1)
    assert redis.get("{w}:lease") is None and redis.zcard("{w}:instances") == 0
    proc.signal(signal.SIGTERM)
    assert proc.popen is not None and proc.popen.wait(15) == 0


def test_the_worker_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    from test_systemd import installable_copy, unit_directives

    installable_copy(tmp_path, "hasched-worker-scheduler@.service")
    unit = "hasched-worker-scheduler@default.service"
    env = {**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_UNIT_PATH": f"{tmp_path}:"}
    out = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / unit)], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert [
        line for line in (out.stdout + out.stderr).splitlines() if "hasched-worker-scheduler" in line
    ] == []
    d = unit_directives(UNITS / "hasched-worker-scheduler@.service")
    assert d["Service.ExecStart"] == ["/opt/hasched/venv/bin/hasched worker $RQ_QUEUES"]
    assert d["Service.KillMode"] == ["mixed"] and d["Service.Restart"] == ["always"]
