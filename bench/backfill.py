"""What a backfill of 100,000 fires costs: wall time, client CPU, Redis's time in the backfill
script (`INFO commandstats`), the same backfill again (nothing to enqueue), and enumerating
100,000 cron fire times alone.

Setup: a private, non-persistent `redis-server` on a free loopback port (never 6379); a paused
`every 0.01` schedule backfilled over 1,000 s. Run: `.venv/bin/python bench/backfill.py`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench import redis_server
from hasched import Scheduler
from hasched._backfill import fire_times
from hasched._triggers import from_us, to_us


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hasched-bf-") as tmp, redis_server(Path(tmp)) as (redis, _):
        s = Scheduler(redis, "bench")
        now = from_us(s._store.now_us())
        out: dict[str, float] = {}
        s.cron("c", "* * * * * *", "bench_tasks.noop", paused=True)
        cpu = time.process_time()
        n = len(fire_times(s.get("c"), to_us(now - timedelta(seconds=100_000)), to_us(now)))
        out["cron_enumerate_100000_cpu_s"] = round(time.process_time() - cpu, 2)
        s.every("e", 0.01, "bench_tasks.noop", start=now - timedelta(seconds=2000), paused=True)
        for label in ("backfill", "again"):
            cpu, wall = time.process_time(), time.monotonic()
            done = s.backfill("e", now - timedelta(seconds=1000), now)
            out[f"{label}_enqueued"] = len(done.enqueued)
            out[f"{label}_wall_s"] = round(time.monotonic() - wall, 2)
            out[f"{label}_client_cpu_s"] = round(time.process_time() - cpu, 2)
        stats = redis.info("commandstats").get("cmdstat_evalsha", {})
        out["redis_script_calls"] = stats.get("calls", 0)
        out["redis_script_s"] = round(stats.get("usec", 0) / 1e6, 2)
        assert n == 100_000
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
