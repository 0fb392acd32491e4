"""Where a burst's time goes: the leader's ticks run in this process, under cProfile if asked.

    .venv/bin/python bench/profile_tick.py [--fires 20000] [--shared] [--profile] [--top 25]

It starts a private redis-server (as bench.py does), creates N one-off schedules all due at once
(every payload distinct, or with --shared one payload for all), holds the lease itself and runs
the leader's `Ticker.tick` until every fire is committed. It prints the wall time, this
process's CPU per fire (the leader's Python, planning and building each batch), redis-server's
CPU per fire (from /proc/<pid>/stat: the commit script and the reads), and with --profile the
top functions by own time. This isolates the leader's own costs: no wake-up, lease renewal or
tracker runs between ticks as in `hasched run`.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis import Redis

from bench import NAMESPACE, redis_server
from hasched import Scheduler
from hasched._keys import lease_value
from hasched._model import Schedule
from hasched._store import Store
from hasched._tick import Ticker
from hasched.api import make

TASK = "bench_tasks.noop"
EPOCH = 1


def redis_cpu_s(r: Redis) -> float:
    """redis-server's user + system CPU seconds so far (it runs on this host)."""
    pid = int(r.info("server")["process_id"])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def schedules(n: int, shared: bool) -> list[Schedule]:
    """N one-offs due a second ago: distinct arguments each, or the same for all."""
    when = datetime.now(UTC) - timedelta(seconds=1)
    return [make(id=f"p-{i:06d}", func=TASK, at=when, args=[0 if shared else i]) for i in range(n)]


def create(api: Scheduler, items: list[Schedule]) -> float:
    started = time.perf_counter()
    add_many = getattr(api, "add_many", None)
    if add_many is not None:
        add_many(items)
    else:
        for s in items:
            api.add(s)
    return time.perf_counter() - started


class Timed:
    """Time spent inside some of the tick's steps (wrapped on one Store's and one Ticker's instance):
    reading the due ids, reading and decoding their schedules, planning and building each batch.
    The rest is sending the batches and reading their answers."""

    def __init__(self, store: Store, ticker: Ticker) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        for owner, name in ((store, "due_ids"), (store, "load_many"), (ticker, "_batch")):
            setattr(owner, name, self._wrap(name, getattr(owner, name)))

    def _wrap(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
                self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu

        return timed


def drain(store: Store, ticker: Ticker, r: Redis) -> int:
    """Tick as the leader until nothing is due; returns the fires enqueued."""
    lease = lease_value("profile", EPOCH)
    r.set(store.keys.lease, lease)
    enqueued = 0
    while True:
        report = ticker.tick(lease, EPOCH, store.now_us())
        enqueued += len(report.outcome.enqueued)
        if not report.planned and not report.full:
            return enqueued


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fires", type=int, default=20_000)
    p.add_argument("--shared", action="store_true", help="one payload for every fire")
    p.add_argument("--profile", action="store_true", help="run the ticks under cProfile")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="hasched-prof-") as tmp, redis_server(Path(tmp)) as (r, _url):
        setup_s = create(Scheduler(r, namespace=NAMESPACE), schedules(args.fires, args.shared))
        store = Store(r, NAMESPACE)
        ticker = Ticker(store, r)
        timed = Timed(store, ticker)
        prof = cProfile.Profile() if args.profile else None
        r.config_resetstat()
        cpu0, redis0, wall0 = time.process_time(), redis_cpu_s(r), time.perf_counter()
        if prof:
            prof.enable()
        enqueued = drain(store, ticker, r)
        if prof:
            prof.disable()
        wall, cpu, rcpu = time.perf_counter() - wall0, time.process_time() - cpu0, redis_cpu_s(r) - redis0
        commands = r.info("commandstats")
    kind = "one shared payload" if args.shared else "every payload distinct"
    print(f"{enqueued:,} fires ({kind}), created in {setup_s:.2f} s ({args.fires / setup_s:,.0f}/s)")
    print(f"drain: {wall:.2f} s wall = {enqueued / wall:,.0f} fires/s")
    print(f"leader Python CPU: {cpu:.2f} s = {cpu / enqueued * 1e6:.1f} µs/fire")
    print(f"redis-server CPU:  {rcpu:.2f} s = {rcpu / enqueued * 1e6:.1f} µs/fire")
    for name, seconds in timed.seconds.items():
        print(f"  in {name}: {seconds / enqueued * 1e6:.1f} µs/fire wall, "
              f"{timed.cpu[name] / enqueued * 1e6:.1f} µs/fire leader CPU")  # fmt: skip
    rest = cpu - sum(timed.cpu.values())
    print(f"  the rest (sending batches, reading answers): {rest / enqueued * 1e6:.1f} µs/fire CPU")
    print("redis-server's time by command (a script's includes the commands it calls, listed too):")
    for name, stat in sorted(commands.items(), key=lambda kv: -kv[1]["usec"])[:8]:
        name = name.removeprefix("cmdstat_")
        print(f"  {name}: {stat['calls']:,} calls, {stat['usec'] / enqueued:.2f} µs/fire")
    if prof:
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)
    return 0 if enqueued == args.fires else 1


if __name__ == "__main__":
    sys.exit(main())
