"""hasched at scale: bulk creation, and a million stored schedules (memory, idle CPU, takeover,
`status` and a page of `schedule list` from the command line).

Run with `.venv/bin/python bench/scale.py` (about three minutes; `--schedules N`, `--idle-seconds S`).

Setup: a private, non-persistent `redis-server` on a free loopback port (never 6379). The
schedules are a realistic mix (`scale_load.py`: one-off reminders with their own arguments, crons,
hourly intervals, some paused), every fire weeks away.

* **creating**: `Scheduler.add_many` of `--bulk` mixed schedules and of 20,000 one-offs with
  distinct arguments, into an empty namespace: schedules/s, this process's CPU (validation,
  planning, encoding) and redis-server's CPU (/proc) per schedule; `hasched sync` of a
  10,000-schedule file and `hasched import-rq-scheduler` of 10,000 rq-scheduler jobs (made with
  rq-scheduler's own API), each a new process timed end to end.
* **a million schedules**: written with pipelines in the exact records `add_many` stores (checked
  byte for byte on a sample before anything is measured), then Redis `used_memory` before and
  after, per schedule, with `MEMORY USAGE` of each key for the split.
* **idle**: a leader and a follower (`hasched run`) over them with nothing due: their CPU and
  redis-server's over `--idle-seconds`, as % of one core.
* **takeover**: the leader SIGKILLed (the follower takes the lease when it expires, 3 s TTL) with a
  one-off due at once: lease acquired -> that first tick committed, from the new leader's log;
  then a SIGTERM handover to a third instance (the lease released and taken at once).
* **command line**: `hasched --help`, `hasched status`, `hasched schedule list --limit 50` (first
  page and deep), each a new process (median of `--repeat`), beside the Redis time of the same
  call in process (`INFO commandstats`), and `python -X importtime` of the CLI module.

It prints Markdown tables and writes `bench/results/scale.json`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import scale_cluster
from listing import timed
from redis import Redis
from scale_load import check_format, cpu_s, load, mixed, redis_pid

from bench import HERE, redis_server
from hasched import Scheduler
from hasched._status import status
from hasched._store import Store
from hasched.api import make

NS = "scale"
RESULTS = HERE / "results" / "scale.json"
HASCHED = [sys.executable, "-m", "hasched"]


def bulk(redis: Redis, ns: str, items: list[Any], case: str) -> dict[str, Any]:
    """`add_many(items)` into an empty namespace: rate and CPU per schedule."""
    api, rpid = Scheduler(redis, ns), redis_pid(redis)
    r0, c0, t0 = cpu_s(rpid), time.process_time(), time.perf_counter()
    api.add_many(items)
    wall, cpu, rcpu = time.perf_counter() - t0, time.process_time() - c0, cpu_s(rpid) - r0
    n = len(items)
    return {"case": case, "schedules": n, "per_s": round(n / wall), "python_us": round(cpu / n * 1e6, 1),
            "redis_us": round(rcpu / n * 1e6, 1)}  # fmt: skip


def creating(redis: Redis, url: str, n: int, workdir: Path) -> list[dict[str, Any]]:
    sec, _ = redis.time()
    now_us = int(sec) * 1_000_000
    rows = [bulk(redis, "bulk-mixed", mixed(n, now_us), f"add_many, {n:,} mixed")]
    when = datetime.now(UTC) + timedelta(days=30)
    oneoffs = [make(id=f"p-{i:06d}", func="bench_tasks.noop", at=when, args=[i]) for i in range(20_000)]
    rows.append(bulk(redis, "bulk-oneoff", oneoffs, "add_many, 20,000 one-offs, distinct args"))
    rows.append(cli_sync(url, workdir))
    rows += cli_import(redis, url)
    return rows


def cli_sync(url: str, workdir: Path, n: int = 10_000) -> dict[str, Any]:
    lines = []
    for i in range(n):
        lines += ["[[schedule]]", f'id = "file-{i:05d}"', 'func = "app.tasks.report"',
                  f'cron = "{i % 60} 4 15 * *"', f"args = [{i}]", ""]  # fmt: skip
    path = workdir / "schedules.toml"
    path.write_text("\n".join(lines))
    started = time.perf_counter()
    subprocess.run([*HASCHED, "sync", str(path), "--redis-url", url, "--namespace", "bulk-sync"],
                   check=True, capture_output=True)  # fmt: skip
    wall = time.perf_counter() - started
    case = f"hasched sync, {n:,}-schedule file (new process)"
    return {"case": case, "schedules": n, "per_s": round(n / wall), "python_us": None, "redis_us": None}


def cli_import(redis: Redis, url: str, n: int = 10_000) -> list[dict[str, Any]]:
    """rq-scheduler creating n jobs with its own API (one at a time: it has no bulk call), then
    `hasched import-rq-scheduler` moving them over."""
    import rq_scheduler  # the benchmark's own extra: rq-scheduler makes the jobs it imports

    warnings.filterwarnings("ignore", category=FutureWarning)  # rq-scheduler's crontab, about itself
    rqs = rq_scheduler.Scheduler(connection=redis)
    when = datetime.now(UTC) + timedelta(days=30)
    created = time.perf_counter()
    for i in range(n):
        kind = i % 3
        if kind == 0:
            rqs.enqueue_at(when, "bench_tasks.noop", i, job_id=f"rqs-job-{i}")
        elif kind == 1:
            rqs.schedule(when, "bench_tasks.noop", args=[i], interval=3600, id=f"rqs-job-{i}")
        else:
            rqs.cron("30 4 15 * *", "bench_tasks.noop", args=[i], id=f"rqs-job-{i}")
    started = time.perf_counter()
    rqs_row = {"case": f"rq-scheduler's API (enqueue_at/schedule/cron), {n:,} jobs", "schedules": n,
               "per_s": round(n / (started - created)), "python_us": None, "redis_us": None}  # fmt: skip
    subprocess.run([*HASCHED, "import-rq-scheduler", "--redis-url", url, "--namespace", "bulk-import"],
                   check=True, capture_output=True)  # fmt: skip
    wall = time.perf_counter() - started
    stored = Store(redis, "bulk-import").redis.hlen(Store(redis, "bulk-import").keys.defs)
    assert stored == n, f"imported {stored} of {n}"
    return [rqs_row, {"case": f"hasched import-rq-scheduler, {n:,} jobs (new process)", "schedules": n,
                      "per_s": round(n / wall), "python_us": None, "redis_us": None}]  # fmt: skip


def memory(redis: Redis, n: int) -> dict[str, Any]:
    sec, _ = redis.time()
    now_us = int(sec) * 1_000_000
    before = int(redis.info("memory")["used_memory"])
    seconds = load(redis, NS, n, now_us)
    after = int(redis.info("memory")["used_memory"])
    check_format(redis, NS, now_us)
    k = Store(redis, NS).keys
    split = {name: round(int(redis.memory_usage(key) or 0) / n, 1)
             for name, key in (("defs", k.defs), ("rev", k.rev), ("state", k.state), ("due", k.due),
                               ("ids", k.ids), ("paused", k.paused))}  # fmt: skip
    per = round((after - before) / n)
    return {"schedules": n, "load_per_s": round(n / seconds), "bytes_per_schedule": per, "split_bytes": split}


def command_line(redis: Redis, url: str, n: int, repeat: int) -> list[dict[str, Any]]:
    def cli(*args: str) -> Callable[[], Any]:
        argv = [*HASCHED, *args, "--redis-url", url, "--namespace", NS]
        return lambda: subprocess.run(argv, check=True, capture_output=True)

    s, deep = Scheduler(redis, NS), f"poll-{n - 100:07d}"
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("python -c pass (the interpreter alone)", lambda: subprocess.run([sys.executable, "-c", "pass"])),
        ("python -c 'import redis' (redis-py alone)",
         lambda: subprocess.run([sys.executable, "-c", "import redis"], check=True)),
        ("hasched --help", lambda: subprocess.run([*HASCHED, "--help"], check=True, capture_output=True)),
        ("hasched status", cli("status")),
        ("hasched schedule list --limit 50", cli("schedule", "list", "--limit", "50")),
        (f"hasched schedule list --limit 50 --after {deep}",
         cli("schedule", "list", "--limit", "50", "--after", deep)),
        ("in process: status()", lambda: status(Store(redis, NS))),
        ("in process: Scheduler.list(limit=50)", lambda: s.list(limit=50)),
    ]  # fmt: skip
    return [{"case": name, **timed(redis, action, repeat)} for name, action in cases]


def import_ms() -> float:
    """The cumulative import time of the CLI module (`python -X importtime`), ms."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import hasched.cli"],
                         capture_output=True, text=True, check=True).stderr  # fmt: skip
    last = [line for line in out.splitlines() if line.rstrip().endswith("| hasched.cli")][-1]
    return round(int(last.split("|")[1]) / 1000, 1)


def tables(result: dict[str, Any]) -> str:
    out = [
        "| creating | schedules | per second | Python µs each | Redis µs each |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in result["creating"]:
        py = "-" if r["python_us"] is None else r["python_us"]
        rd = "-" if r["redis_us"] is None else r["redis_us"]
        out.append(f"| {r['case']} | {r['schedules']:,} | {r['per_s']:,} | {py} | {rd} |")
    m, c = result["memory"], result["cluster"]
    i, k, t = c["idle"], c["sigkill"], c["sigterm"]
    ttl = scale_cluster.LEASE_TTL
    out += ["", f"| {m['schedules']:,} stored schedules | |", "| --- | ---: |",
            f"| Redis bytes per schedule (used_memory) | {m['bytes_per_schedule']} |",
            "| split (MEMORY USAGE per key / schedules) | "
            + ", ".join(f"{name} {v}" for name, v in m["split_bytes"].items()) + " |",
            f"| idle leader CPU ({i['seconds']} s) | {i['leader_pct']} % of a core |",
            f"| idle follower CPU | {i['follower_pct']} % |",
            f"| idle redis-server CPU | {i['redis_pct']} % |",
            f"| SIGKILL: lease acquired -> first tick committed | {k['first_tick_ms']} ms |",
            f"| SIGKILL: killed -> lease acquired (TTL {ttl:g} s) | {k['kill_to_acquired_s']} s |",
            f"| SIGTERM: stopped -> lease acquired by a follower | {t['kill_to_acquired_s']} s |",
            f"| `import hasched.cli` (python -X importtime) | {result['import_ms']} ms |"]  # fmt: skip
    out += ["", "| command (new process, median) | wall ms | Redis ms |", "| --- | ---: | ---: |"]
    out += [f"| {r['case']} | {r['wall_ms']} | {r['server_ms']} |" for r in result["command_line"]]
    return "\n".join(out)


def measure(redis: Redis, url: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Every figure, on a private Redis (flushed first): `make bench` runs this as its "scale"
    section."""
    started = time.monotonic()
    redis.flushall()
    result: dict[str, Any] = {"redis": redis.info("server")["redis_version"]}
    result["creating"] = creating(redis, url, args.bulk, workdir)
    redis.flushall()
    result["memory"] = memory(redis, args.schedules)
    result["command_line"] = command_line(redis, url, args.schedules, args.repeat)
    result["import_ms"] = import_ms()
    result["cluster"] = scale_cluster.run(redis, url, NS, workdir, args.idle_seconds)
    redis.flushall()
    result["seconds"] = round(time.monotonic() - started)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1_000_000)
    parser.add_argument("--bulk", type=int, default=100_000, help="mixed schedules created with add_many")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hasched-scale-") as tmp, redis_server(Path(tmp)) as (redis, url):
        result = measure(redis, url, Path(tmp), args)
    print(f"Redis {result['redis']}, {args.schedules:,} schedules, {result['seconds']} s\n")
    print(tables(result))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
