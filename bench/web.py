"""The web UI's pages with 1,000,000 stored schedules: server time per request.

Run with `.venv/bin/python bench/web.py` (about a minute; `--schedules N` for another size).

Setup: a private, non-persistent `redis-server` on a free loopback port (never 6379), filled by
bench/listing.py's loader (the exact stored format, checked against the API byte for byte). The
schedules on the pages measured get 10 run records each (one failed in five) and their
counters, so every row has a strip of recent outcomes to read and draw.

Each figure is the median of `--repeat` requests to the ASGI app in this process (httpx's
ASGITransport: no network, no server in between): "wall" is the request from the app's first
byte in to its last byte out, "Redis" the time Redis spent in commands (`INFO commandstats`
after `CONFIG RESETSTAT`). Target: each page under 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from listing import NS, check_format, load, sid
from redis import Redis

from bench import HERE, redis_server
from hasched._runs import Run
from hasched._store import Store
from hasched.web import create_app

RESULTS = HERE / "results" / "web.json"
RUNS = 10
TARGET_MS = 300


def add_runs(redis: Redis, ids: list[str]) -> None:
    """Ten run records and counters for each of `ids`, as the leader's tracker leaves them."""
    keys = Store(redis, NS).keys
    now_us = time.time_ns() // 1000
    pipe = redis.pipeline(transaction=False)
    for n, x in enumerate(ids):
        runs = []
        for i in range(RUNS):
            fire = now_us - (RUNS - i) * 86_400_000_000
            failed = (n + i) % 5 == 0
            status, error = ("failed", "ValueError: no data") if failed else ("finished", None)
            runs.append(
                Run(fire, "scheduled", 1, fire + 2_000, status, fire + 5_000, fire + 900_000, error).encode()
            )
        pipe.lpush(keys.runs(x), *runs)
        pipe.hset(
            keys.stats(x), mapping={"enqueued": RUNS, "finished": 8, "failed": 2, "last_success": now_us}
        )
    pipe.execute()


def cases(n: int) -> list[tuple[str, str]]:
    deep = sid(n - 100)
    last = f"sched-{(n - 1) // 100:05d}*"
    return [
        ("Schedules, first page", "/"),
        (f"Schedules, deep page (after={deep})", f"/?after={deep}"),
        (f"Schedules, state=paused after {sid(n // 2)}", f"/?state=paused&after={sid(n // 2)}"),
        ("Schedules, queue=reports, first page", "/?queue=reports"),
        ("Schedules, search 'sched-00001' (found early)", "/?q=sched-00001"),
        (f"Schedules, search glob '{last}' (the last 100)", f"/?q={last}"),
        ("Schedules, search 'nightly' (text anywhere, no hit)", "/?q=nightly"),
        ("Schedules, queue=billing (no such queue)", "/?queue=billing"),
        ("Schedule page (fields, next 10, history)", f"/schedules/{sid(1)}"),
        ("Cluster page", "/cluster"),
    ]


async def measure(redis: Redis, n: int, repeat: int) -> list[dict[str, Any]]:
    app = create_app(redis, namespace=NS)
    rows = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for name, path in cases(n):
            walls, servers = [], []
            for _ in range(repeat + 1):  # the first request warms the templates' cache: not counted
                redis.config_resetstat()
                started = time.perf_counter()
                resp = await client.get(path)
                walls.append((time.perf_counter() - started) * 1000)
                assert resp.status_code == 200, (path, resp.status_code, resp.text[:500])
                stats = redis.info("commandstats")
                servers.append(sum(v["usec"] for k, v in stats.items() if k != "cmdstat_info") / 1000)
            wall, server = statistics.median(walls[1:]), statistics.median(servers[1:])
            rows.append(
                {"case": name, "path": path, "wall_ms": round(wall, 1), "server_ms": round(server, 2)}
            )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| page | wall ms | Redis ms | under 300 ms |", "| --- | ---: | ---: | :---: |"]
    for r in rows:
        ok = "yes" if r["wall_ms"] < TARGET_MS else "**no**"
        out.append(f"| {r['case']} | {r['wall_ms']} | {r['server_ms']:.2f} | {ok} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    n = args.schedules
    with tempfile.TemporaryDirectory(prefix="hasched-web-") as tmp, redis_server(Path(tmp)) as (redis, _url):
        version = redis.info("server")["redis_version"]
        load(redis, n)
        check_format(redis)
        add_runs(
            redis, [sid(i) for i in [*range(0, 200), *range(n - 200, n), *range(n // 2, n // 2 + 2_000)]]
        )
        rows = asyncio.run(measure(redis, n, args.repeat))
    print(f"Redis {version}, {n:,} schedules, median of {args.repeat} requests each\n")
    print(table(rows))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"redis": version, "schedules": n, "rows": rows}, indent=2))
    print(f"\nwritten to {RESULTS}")
    return 0 if all(r["wall_ms"] < TARGET_MS for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
