"""What an overlap policy costs the commit: Redis's CPU (`INFO commandstats`, the commit script's
microseconds) and the leader's process CPU per fire, for N one-off schedules due at once.

Run with `.venv/bin/python bench/overlap_cost.py --policy allow` (and `skip`, `buffer_all`, ...;
`--fires` sets N, default 20,000; a few seconds each). To compare with another version of the
code, run it with `PYTHONPATH` pointing at that version's tree. A private, non-persistent
`redis-server` on a free loopback port (never 6379); no worker runs, so no fire finds a previous
job: this is the cost of looking, the policy's usual case.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import cast

from redis import Redis

from bench import redis_server
from hasched import Scheduler
from hasched._lease import Lease
from hasched._model import Overlap, Schedule
from hasched._store import Store
from hasched._tick import Ticker
from hasched._triggers import from_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="allow")
    parser.add_argument("--fires", type=int, default=20_000)
    args = parser.parse_args()
    with redis_server(Path(tempfile.mkdtemp(prefix="hasched-bench-"))) as (redis, _):
        print(measure(redis, cast(Overlap, args.policy), args.fires))


def measure(redis: Redis, policy: Overlap, n: int) -> str:
    store = Store(redis, "bench")
    at = from_us(store.now_us() + 2_000_000)
    schedules = [Schedule(id=f"s{i}", func="bench_tasks.noop", at=at, overlap=policy) for i in range(n)]
    Scheduler(redis, "bench").add_many(schedules)
    lease = Lease(store.scripts, "bench", 60)
    assert lease.try_acquire()
    ticker = Ticker(store, redis)
    redis.config_resetstat()
    cpu, fires = time.process_time(), 0
    while True:
        report = ticker.tick(lease.value, lease.epoch, store.now_us() + 3_000_000)
        fires += len(report.outcome.enqueued)
        if not report.full:
            break
    cpu = time.process_time() - cpu
    stats = redis.info("commandstats")
    script = stats.get("cmdstat_evalsha") or stats["cmdstat_eval"]
    return (f"{policy}: {fires} fires, commit script {script['usec'] / fires:.1f} µs/fire in Redis, "
            f"leader {cpu * 1e6 / fires:.1f} µs/fire CPU")  # fmt: skip


if __name__ == "__main__":
    main()
