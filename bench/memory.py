"""Redis memory of hasched's dedupe state, measured with `INFO memory`, against 0.1's markers.

Run with `.venv/bin/python bench/memory.py` (a few minutes; `--stride 1` commits every fire of
the 10,000-schedule week too, which takes the better part of an hour).

Setup: a private, non-persistent `redis-server` on a free loopback port (never 6379). Fires are
committed in order through the real path, `hasched._commit.Batch` and `commit.lua`, under a held
lease, with fire times on a simulated clock that starts 7 days before Redis's own. The RQ jobs
each commit writes are deleted after it (they are RQ's, and RQ drops them after `result_ttl`).

What is measured: `used_memory` from `INFO memory`, just before and just after deleting the
dedupe keys (the mark hashes, the out-of-order and tombstone sets; for 0.1, the claim markers),
so nothing else that changed during the run is counted.

* **every second, 7 days**: one schedule, all 604,800 fires committed in batches of 1,000.
* **10,000 x every minute, 7 days**: 10,000 schedules, 500 per batch as the leader commits them;
  every `--stride`-th minute is committed (default 60: 1.68 M of the 100.8 M fires). The state
  holds one mark per schedule whatever the stride, as the one-schedule run shows fire by fire.
* **0.1 markers**: what 0.1's `commit.lua` wrote per fire (`SET {ns}:claim:<id>:<µs> epoch PX 7d`):
  all 604,800 for the one schedule; for the 10,000 schedules one simulated hour (600,000),
  scaled to the week (the markers grow linearly; the week would need ~15 GB).
* **triggers**: 1,000 manual triggers, each an out-of-order record kept for the retention.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from redis import Redis

from bench import HERE, redis_server
from hasched import Scheduler
from hasched._commit import Batch
from hasched._jobs import JobTemplate, job_key
from hasched._lease import Lease
from hasched._plan import FireTime, Plan, State
from hasched._records import Stored
from hasched._store import Store
from hasched._triggers import from_us

NS = "bench"
US = 1_000_000
WEEK_S = 7 * 86_400
RESULTS = HERE / "results" / "memory.json"


def used(redis: Redis) -> int:
    return int(redis.info("memory")["used_memory"])


def measure_and_drop(redis: Redis, patterns: list[str]) -> tuple[int, int]:
    """(bytes, keys) the keys matching `patterns` hold, by deleting them between two readings."""
    names = [k for p in patterns for k in redis.scan_iter(match=p, count=10_000)]
    before = used(redis)
    for i in range(0, len(names), 10_000):
        redis.delete(*names[i : i + 10_000])
    return before - used(redis), len(names)


DEDUPE_KEYS = [f"{{{NS}}}:hwm:*", f"{{{NS}}}:hwm_deleted", f"{{{NS}}}:ooo", f"{{{NS}}}:claim:*"]


def leader(redis: Redis) -> tuple[Store, Lease]:
    redis.flushall()
    store = Store(redis, NS)
    lease = Lease(store.scripts, "bench", 3600)
    assert lease.try_acquire()
    return store, lease


def commit(store: Store, lease: Lease, work: list[tuple[Stored, JobTemplate, list[int]]]) -> int:
    """One commit of the given fires; returns how many were enqueued, then drops RQ's jobs."""
    last = max(f for _, _, fires in work for f in fires)
    batch = Batch(store.keys, lease.value, lease.epoch, from_us(last))
    for stored, template, fires in work:
        plan = Plan(fires=[FireTime(f, f) for f in fires], state=State(fires[-1] + 1), due_us=fires[-1] + 1)
        batch.add(stored, plan, template, None)
    reply = store.scripts.commit(batch.keys, batch.args)
    pipe = store.redis.pipeline(transaction=False)
    pipe.delete("rq:queue:default", store.keys.in_flight)  # as the tracker would once the jobs end
    for fire in batch.fires:
        pipe.delete(job_key(fire.job_id))
    pipe.execute()
    return reply.count("E")


def create(store: Store, n: int, every: float, start_us: int) -> list[tuple[Stored, JobTemplate]]:
    sched = Scheduler(store.redis, NS)
    out = []
    for i in range(n):
        s = sched.every(f"report-{i:05d}", every, "bench_tasks.noop", start=from_us(start_us))
        out.append((store.get_stored(s.id), JobTemplate(s, store.redis)))
    return out


def one_schedule_every_second(redis: Redis, start_us: int) -> dict[str, Any]:
    store, lease = leader(redis)
    ((stored, template),) = create(store, 1, 1.0, start_us)
    fires = [start_us + k * US for k in range(WEEK_S)]
    enqueued = sum(
        commit(store, lease, [(stored, template, fires[i : i + 1000])]) for i in range(0, WEEK_S, 1000)
    )
    size, keys = measure_and_drop(redis, DEDUPE_KEYS)
    return {
        "case": "1 x every second, 7 days",
        "schedules": 1,
        "fires": enqueued,
        "bytes": size,
        "keys": keys,
    }


def many_schedules_every_minute(redis: Redis, start_us: int, n: int, stride: int) -> dict[str, Any]:
    store, lease = leader(redis)
    made = create(store, n, 60.0, start_us)
    enqueued = 0
    for minute in range(0, WEEK_S // 60, stride):
        fire = start_us + minute * 60 * US
        for i in range(0, n, 500):
            enqueued += commit(store, lease, [(st, tpl, [fire]) for st, tpl in made[i : i + 500]])
    size, keys = measure_and_drop(redis, DEDUPE_KEYS)
    case = f"{n:,} x every minute, 7 days"
    return {"case": case, "schedules": n, "fires": enqueued, "stride": stride, "bytes": size, "keys": keys}


def markers_0_1(redis: Redis, start_us: int, schedules: int, every_s: int, span_s: int) -> tuple[int, int]:
    """(bytes, markers) of 0.1's claim markers for `span_s` seconds of fires."""
    redis.flushall()
    week_ms = WEEK_S * 1000
    pipe, count = redis.pipeline(transaction=False), 0
    for t in range(0, span_s, every_s):
        for i in range(schedules):
            pipe.set(f"{{{NS}}}:claim:report-{i:05d}:{start_us + t * US}", 7, px=week_ms)
            count += 1
            if count % 10_000 == 0:
                pipe.execute()
    pipe.execute()
    return measure_and_drop(redis, DEDUPE_KEYS)[0], count


def triggers(redis: Redis, start_us: int, n: int = 1000) -> dict[str, Any]:
    store, _ = leader(redis)
    create(store, 1, 60.0, start_us)
    sched = Scheduler(redis, NS)
    for _ in range(n):
        sched.trigger("report-00000")
    redis.delete("rq:queue:default", *redis.keys("rq:job:*"))
    size, keys = measure_and_drop(redis, DEDUPE_KEYS)
    return {"case": f"{n:,} manual triggers", "schedules": 1, "fires": n, "bytes": size, "keys": keys,
            "per": "trigger"}  # fmt: skip


def run(redis: Redis, stride: int, n: int) -> list[dict[str, Any]]:
    sec, _ = redis.time()
    start_us = (int(sec) - WEEK_S) * US  # the simulated week ends at Redis's now
    rows = [one_schedule_every_second(redis, start_us)]
    old, count = markers_0_1(redis, start_us, 1, 1, WEEK_S)
    rows[0] |= {"bytes_0_1": old, "markers_0_1": count}
    rows.append(many_schedules_every_minute(redis, start_us, n, stride))
    old, count = markers_0_1(redis, start_us, n, 60, 3600)
    scale = (WEEK_S // 60) / 60  # one hour measured, a week of minutes extrapolated
    rows[1] |= {"bytes_0_1": round(old * scale), "markers_0_1": round(count * scale), "scaled_0_1": True}
    rows.append(triggers(redis, start_us))
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    out = [
        "| workload | fires committed | dedupe state | bytes each | keys | 0.1 markers | 0.1 memory |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        old = (
            "-"
            if "bytes_0_1" not in r
            else f"{r['bytes_0_1'] / 1e6:,.1f} MB" + (" (scaled)" if r.get("scaled_0_1") else "")
        )
        markers = f"{r['markers_0_1']:,}" if "markers_0_1" in r else "-"
        stride = f" (every {r['stride']}th minute)" if r.get("stride", 1) > 1 else ""
        per = r.get("per", "schedule")
        each = r["bytes"] / (r["fires"] if per == "trigger" else r["schedules"])
        out.append(
            f"| {r['case']} | {r['fires']:,}{stride} | {r['bytes']:,} B | {each:,.1f} per {per} |"
            f" {r['keys']} | {markers} | {old} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stride", type=int, default=60, help="commit every Nth minute of the 10k week")
    parser.add_argument("--schedules", type=int, default=10_000)
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hasched-mem-") as tmp, redis_server(Path(tmp)) as (redis, _):
        version = redis.info("server")["redis_version"]
        rows = run(redis, args.stride, args.schedules)
    print(f"Redis {version}, {time.monotonic() - started:.0f} s\n")
    print(table(rows))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"redis": version, "rows": rows}, indent=2))
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
