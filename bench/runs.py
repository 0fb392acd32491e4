"""What run tracking costs: the leader's CPU with 200,000 idle schedules, without and with 50 runs
in flight, and Redis's memory per schedule and per run record.

Run with `.venv/bin/python bench/runs.py` (about three minutes; `--seconds` sets each CPU window).

Setup: a private, non-persistent `redis-server` on a free loopback port (never 6379), and one real
`hasched run` process as the only instance, so it leads. The 200,000 schedules fire once a day
at 03:00, never during the run: the leader is idle. They are written through the real upsert
script, pipelined.

What is measured:

* **leader CPU**: user + system time of the `hasched run` process from `/proc/<pid>/stat`, over a
  window of `--seconds` (default 60), as a share of one core. First with nothing in flight, then
  with 50 runs in flight: 50 one-off schedules fire, their jobs stay in RQ's queue (no worker
  runs them), and the tracker reads all 50 every pass (at least every 2 seconds) just as it would
  read started ones.
* **bytes per schedule**: `used_memory` from `INFO memory` before and after writing them.
* **bytes per run record**: 1,000 schedules given 100 ended run records each (a full default
  history of realistic `finished` records, and each schedule's stats hash), by `used_memory`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from redis import Redis

from bench import HERE, redis_server, spawn
from hasched import Scheduler, _codec
from hasched._model import Schedule
from hasched._records import encode_state
from hasched._runs import Run
from hasched._store import Store
from hasched._triggers import US, from_us
from hasched._write import plan_write

NS = "hasched"
RESULTS = HERE / "results" / "runs.json"
TICKS = os.sysconf("SC_CLK_TCK")


def used(redis: Redis) -> int:
    return int(redis.info("memory")["used_memory"])


def create_idle(store: Store, n: int) -> None:
    """`n` daily schedules, written by the upsert script in pipelines of 1,000."""
    now = store.now_us()
    for first in range(0, n, 1000):
        pipe = store.redis.pipeline(transaction=False)
        for i in range(first, min(n, first + 1000)):
            w = plan_write(Schedule(id=f"daily-{i:06d}", func="bench_tasks.noop", cron="0 3 * * *"), now)
            s, k = w.schedule, store.keys
            keys = [k.defs, k.rev, k.rev_counter, k.state, k.due, k.paused, k.invalid]
            args = [s.id, _codec.encode(s), encode_state(w.state), w.due_us, "0", "", k.wake]
            store.scripts._s["upsert"](keys=keys, args=args, client=pipe)
        pipe.execute()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_share(pid: int, seconds: float) -> float:
    """The process's CPU over a window, as a share of one core (percent)."""
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - started)


def put_in_flight(store: Store, n: int) -> None:
    """`n` one-off schedules due now; waits until the leader enqueued them all."""
    sched = Scheduler(store.redis, NS)
    now = from_us(store.now_us())
    for i in range(n):
        sched.at(f"running-{i:02d}", now, "bench_tasks.noop")
    deadline = time.monotonic() + 30
    while store.redis.hlen(store.keys.in_flight) < n:
        if time.monotonic() > deadline:
            raise RuntimeError("the leader did not enqueue the runs")
        time.sleep(0.1)


def record_bytes(store: Store, schedules: int = 1000, per: int = 100) -> float:
    """Bytes per run record in a full default history (records and each schedule's stats)."""
    before = used(store.redis)
    now = store.now_us()
    for i in range(schedules):
        sid = f"daily-{i:06d}"
        pipe = store.redis.pipeline(transaction=False)
        for k in range(per):
            fire = now - (per - k) * 86_400 * US
            run = Run(fire, "scheduled", 12, fire + 900, "finished", fire + 4_000, fire + 2_500_000)
            pipe.lpush(store.keys.runs(sid), run.encode())
        pipe.hset(store.keys.stats(sid), mapping={"enqueued": per, "finished": per, "last_success": now})
        pipe.execute()
    return (used(store.redis) - before) / (schedules * per)


def measure(redis: Redis, url: str, workdir: Path, n: int, seconds: float) -> dict[str, Any]:
    store = Store(redis, NS)
    before = used(redis)
    create_idle(store, n)
    out: dict[str, Any] = {"schedules": n, "bytes_per_schedule": round((used(redis) - before) / n, 1)}
    argv = [str(Path(sys.executable).parent / "hasched"), "run", "--redis-url", url, "--namespace", NS,
            "--instance-id", "bench", "--metrics-addr", "", "--log-level", "warning"]  # fmt: skip
    with spawn(argv, workdir / "hasched.log") as proc:
        deadline = time.monotonic() + 30
        while not redis.get(store.keys.lease):
            if time.monotonic() > deadline:
                raise RuntimeError("no leader")
            time.sleep(0.1)
        time.sleep(2)  # past the first passes
        out["cpu_idle_percent"] = round(cpu_share(proc.pid, seconds), 3)
        put_in_flight(store, 50)
        out["cpu_50_in_flight_percent"] = round(cpu_share(proc.pid, seconds), 3)
        out["in_flight"] = int(redis.hlen(store.keys.in_flight))
    out["bytes_per_run_record"] = round(record_bytes(store), 1)
    out["run_record_example"] = Run(0, "scheduled", 12, 900, "finished", 4_000, 2_500_000).encode()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="each CPU window")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hasched-runs-") as tmp, redis_server(Path(tmp)) as (redis, url):
        version = redis.info("server")["redis_version"]
        result = measure(redis, url, Path(tmp), args.schedules, args.seconds)
    result["redis"] = version
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
