"""Listing and status with 1,000,000 stored schedules: one page costs O(page), not O(schedules).

Run with `.venv/bin/python bench/listing.py` (about two minutes; `--schedules N` for another size).

Setup: a private, non-persistent `redis-server` on a free loopback port (never 6379).
The schedules are written straight into Redis with pipelines, in the exact stored format: each
record is what `Scheduler.cron` stores (`_codec.encode`, `plan_write`, `encode_state`), and the
script checks that byte for byte against a schedule created through the API before it measures
anything. Creating them through the API, one round trip each, is measured on a sample and
reported as a rate. Ids are `sched-0000000` ...; 80 % active on queue `default`, 10 % on queue
`reports`, 10 % paused.

Each figure is the median of `--repeat` runs: "server" is the time Redis spent in commands
(`INFO commandstats` after `CONFIG RESETSTAT`), "wall" the caller's time. The command line is
timed as a user meets it, a new `python -m hasched` process, beside the start-up of that process
alone (`hasched --version`), so the command's own share is the difference.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis import Redis

from bench import HERE, redis_server
from hasched import Scheduler
from hasched._codec import encode
from hasched._model import Schedule
from hasched._records import encode_state
from hasched._status import status
from hasched._store import Store
from hasched._write import plan_write
from hasched.api import make

NS = "million"
RESULTS = HERE / "results" / "listing.json"
CHUNK = 10_000
TEMPLATES = [("default", False)] * 8 + [("reports", False), ("default", True)]


def sid(n: int) -> str:
    return f"sched-{n:07d}"


def template(n: int, now_us: int) -> tuple[Schedule, str, str, int | None]:
    """The schedule numbered `n` (id placeholder `@ID@`) and its stored definition, progress, due."""
    queue, paused = TEMPLATES[n % len(TEMPLATES)]
    s = make(id="ID", func="app.tasks.report", cron="0 3 * * *", queue=queue, paused=paused)
    w = plan_write(s, now_us)
    return s, encode(s).replace('"id":"ID"', '"id":"@ID@"'), encode_state(w.state), w.due_us


def load(redis: Redis, n: int) -> float:
    """Write `n` schedules as the API would store them; returns the seconds it took."""
    store = Store(redis, NS)
    k = store.keys
    now = store.now_us()
    forms = [template(i, now) for i in range(len(TEMPLATES))]
    started = time.perf_counter()
    first_rev = int(redis.incrby(k.rev_counter, n)) - n + 1
    for lo in range(0, n, CHUNK):
        pipe = redis.pipeline(transaction=False)
        ids = [sid(i) for i in range(lo, min(n, lo + CHUNK))]
        rows = [(x, forms[(lo + j) % len(forms)]) for j, x in enumerate(ids)]
        pipe.hset(k.defs, mapping={x: f[1].replace("@ID@", x) for x, f in rows})
        pipe.hset(k.rev, mapping={x: first_rev + lo + j for j, (x, _) in enumerate(rows)})
        pipe.hset(k.state, mapping={x: f[2] for x, f in rows})
        pipe.zadd(k.ids, dict.fromkeys(ids, 0))
        due = {x: f[3] for x, f in rows if f[3] is not None}
        if due:
            pipe.zadd(k.due, due)
        paused = [x for x, f in rows if f[0].paused]
        if paused:
            pipe.sadd(k.paused, *paused)
        pipe.execute()
    return time.perf_counter() - started


def check_format(redis: Redis) -> None:
    """The bulk records equal, byte for byte, what the API stores for the same schedule."""
    api = Scheduler(redis, "api-check")
    for n in range(len(TEMPLATES)):
        queue, paused = TEMPLATES[n % len(TEMPLATES)]
        api.cron(sid(n), "0 3 * * *", "app.tasks.report", queue=queue, paused=paused)
    a, b = Store(redis, "api-check").keys, Store(redis, NS).keys
    ids = [sid(n) for n in range(len(TEMPLATES))]
    for key_a, key_b in ((a.defs, b.defs), (a.state, b.state)):
        assert redis.hmget(key_a, ids) == redis.hmget(key_b, ids), "bulk records differ from the API's"
    assert [x.id for x in Scheduler(redis, NS).list(limit=3)] == ids[:3]
    assert Store(redis, NS).ensure_index() == 0, "the index does not match the definitions"


def api_rate(redis: Redis, n: int) -> float:
    """Schedules created per second through `Scheduler.cron`, one round trip each."""
    s = Scheduler(redis, "api-rate")
    started = time.perf_counter()
    for i in range(n):
        s.cron(sid(i), "0 3 * * *", "app.tasks.report")
    return n / (time.perf_counter() - started)


def timed(redis: Redis, action: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Median wall and Redis-side milliseconds of `action`."""
    walls, servers = [], []
    for _ in range(repeat):
        redis.config_resetstat()
        started = time.perf_counter()
        action()
        walls.append((time.perf_counter() - started) * 1000)
        stats = redis.info("commandstats")
        servers.append(sum(v["usec"] for name, v in stats.items() if name != "cmdstat_info") / 1000)
    return {"wall_ms": round(statistics.median(walls), 2), "server_ms": round(statistics.median(servers), 2)}


def cli(url: str, *args: str) -> Callable[[], Any]:
    argv = [sys.executable, "-m", "hasched", *args, "--redis-url", url, "--namespace", NS]
    return lambda: subprocess.run(argv, check=True, capture_output=True)


def measure(redis: Redis, url: str, n: int, repeat: int) -> list[dict[str, Any]]:
    s = Scheduler(redis, NS)
    deep = sid(n - 100)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("API list(limit=50), first page", lambda: s.list(limit=50)),
        (f"API list(limit=50, after={deep!r})", lambda: s.list(limit=50, after=deep)),
        ("API list(state='paused', limit=50), mid-way",
         lambda: s.list(state="paused", limit=50, after=sid(n // 2))),
        ("API list(match='sched-09999*')", lambda: s.list(match=f"sched-{(n - 1) // 100:05d}*")),
        ("status (in process)", lambda: status(Store(redis, NS))),
        ("CLI hasched --version (start-up alone)", lambda: subprocess.run(
            [sys.executable, "-m", "hasched", "--version"], check=True, capture_output=True)),
        ("CLI schedule list --limit 50", cli(url, "schedule", "list", "--limit", "50")),
        (f"CLI schedule list --limit 50 --after {deep}", cli(url, "schedule", "list", "--limit", "50",
                                                             "--after", deep)),
        ("CLI status", cli(url, "status")),
    ]  # fmt: skip
    return [{"case": name, **timed(redis, action, repeat)} for name, action in cases]


def rebuild(redis: Redis) -> dict[str, Any]:
    """A namespace from before the index: the first listing builds it."""
    store = Store(redis, NS)
    redis.delete(store.keys.ids)
    started = time.perf_counter()
    changed = store.ensure_index()
    wall_ms = round((time.perf_counter() - started) * 1000)
    case = "index rebuilt by the first listing"
    return {"case": case, "wall_ms": wall_ms, "server_ms": None, "entries": changed}


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| measure | wall ms | Redis ms |", "| --- | ---: | ---: |"]
    for r in rows:
        server = "-" if r["server_ms"] is None else f"{r['server_ms']:.2f}"
        out.append(f"| {r['case']} | {r['wall_ms']} | {server} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--api-sample", type=int, default=2_000, help="schedules created through the API")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hasched-list-") as tmp, redis_server(Path(tmp)) as (redis, url):
        version = redis.info("server")["redis_version"]
        rate = api_rate(redis, args.api_sample)
        before = int(redis.info("memory")["used_memory"])
        seconds = load(redis, args.schedules)
        index_bytes = int(redis.memory_usage(Store(redis, NS).keys.ids) or 0)
        check_format(redis)
        rows = [*measure(redis, url, args.schedules, args.repeat), rebuild(redis)]
        summary = {
            "redis": version,
            "schedules": args.schedules,
            "api_create_per_s": round(rate),
            "bulk_load_per_s": round(args.schedules / seconds),
            "bytes_per_schedule": round((int(redis.info("memory")["used_memory"]) - before) / args.schedules),
            "index_bytes_per_schedule": round(index_bytes / args.schedules, 1),
        }
    print(f"Redis {version}, {args.schedules:,} schedules\n")
    print("\n".join(f"- {k}: {v}" for k, v in summary.items()) + "\n")
    print(table(rows))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({**summary, "rows": rows}, indent=2))
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
