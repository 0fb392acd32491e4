"""The run commands as a user types them: add with --pause-on-failure and --history, pause with a
note, show with counters and recent runs, history as JSON and as lines."""

from __future__ import annotations

import json

from helpers import run_cli
from redis import Redis
from redis_server import RedisServer
from rq import Queue, SimpleWorker

from hasched import Scheduler
from hasched._lease import Lease
from hasched._store import Store
from hasched._tick import Ticker
from hasched._tracker import Tracker


def test_the_run_commands(redis: Redis, redis_server: RedisServer) -> None:
    url = redis_server.url
    added = run_cli("schedule", "add", "--id", "nightly", "--func", "jobs.fail", "--args", '["no disk"]',
                    "--every", "3600", "--pause-on-failure", "--history", "5", redis_url=url)  # fmt: skip
    assert added.returncode == 0, added.stderr
    s = Scheduler(redis).get("nightly")
    assert (s.pause_on_failure, s.history) == (True, 5)
    bad = run_cli(
        "schedule", "add", "--id", "x", "--func", "m.f", "--every", "1", "--history", "0", redis_url=url
    )
    assert bad.returncode == 2 and "history" in bad.stderr
    # one fire, run by a worker, followed by a leader
    store = Store(redis, "hasched")
    lease = Lease(store.scripts, "cli", 30)
    assert lease.try_acquire()
    Ticker(store, redis).tick(lease.value, lease.epoch, store.now_us())  # its first fire: at creation
    SimpleWorker([Queue("default", connection=redis)], connection=redis).work(burst=True)
    Tracker(store).track(lease.value)

    history = run_cli("schedule", "history", "nightly", "--json", redis_url=url)
    [run] = json.loads(history.stdout)
    assert (run["status"], run["error"]) == ("failed", "RuntimeError: no disk")
    lines = run_cli("schedule", "history", "nightly", "-n", "1", redis_url=url).stdout.splitlines()
    assert lines[0].split("\t")[1:3] == ["scheduled", "failed"] and lines[0].endswith("RuntimeError: no disk")

    shown = run_cli("schedule", "show", "nightly", redis_url=url).stdout
    assert "counters: enqueued 1, finished 0, failed 1, missed 0, skipped 0, triggered 0" in shown
    assert f"pause_note: paused on failure of job {run['job_id']}" in shown
    assert f"last_failure: {run['ended_at']} job {run['job_id']}: RuntimeError: no disk" in shown

    assert run_cli("schedule", "resume", "nightly", redis_url=url).returncode == 0
    paused = run_cli("schedule", "pause", "nightly", "--note", "ana: disk swap", redis_url=url)
    assert (paused.returncode, paused.stdout.strip()) == (0, "nightly")
    d = json.loads(run_cli("schedule", "show", "nightly", "--json", redis_url=url).stdout)
    assert (d["pause_note"], d["paused"], d["counters"]["failed"]) == ("ana: disk swap", True, 1)
    assert d["recent"] == [run] and d["upcoming"] == []
    missing = run_cli("schedule", "history", "nope", redis_url=url)
    assert missing.returncode == 2 and missing.stderr.startswith("error:")
