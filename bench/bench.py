"""Benchmark hasched against rq-scheduler: bursts, fire lag and a sustained load, same run, same Redis.

Run with `make bench` (or `.venv/bin/python bench/main.py`): main.py runs the sections of
SECTIONS in order (`--sections` picks some), the bursts and fire lag of this module, the sustained
load of `sustained.py`, and the bulk creation and 1,000,000-schedule figures of `scale.py`; about
seven minutes in all. This module also holds the helpers the others share.

Setup
-----
* The benchmark starts its own `redis-server` on a free 127.0.0.1 port in a temporary directory
  (`--save "" --appendonly no`) and flushes only that server, between phases. It never touches
  the Redis on 6379.
* Each contender runs as its real, separate process: `hasched run` (its leader loop), and
  rq-scheduler's own `rqscheduler` console script, once with `--interval 1` and once with a
  short interval (`--rqs-fast-interval`, 0.01 s by default; its loop costs 5 round trips per
  pass, so below ~10 ms it only burns CPU: its whole-second rounding dominates anyway).
  A fresh process is started for each phase, after a FLUSHALL, and stopped after it.
* No RQ worker runs: what is measured is the *enqueue*, a job id landing in the RQ queue list
  `rq:queue:default`, and the job's `enqueued_at` field.
* Schedules are created through each library's Python API, before the fire instant, by this
  process while the scheduler process is already running (so hasched's leader sees the
  wake-ups of the writes, as in production). For the burst, CALIBRATION throw-away schedules
  (far in the future, removed again) time the API first; T is then 1.5 x the estimated set-up
  time plus 2 s ahead. If the set-up still overran T (a busy machine), the phase is run again
  with twice the lead; a result that overran anyway is marked (!).

Clocks and measurements
-----------------------
* Every time is on one clock: Redis's `TIME` (the server runs on this host, so it is also the
  clock rq-scheduler's process reads). Fire instants are picked from `TIME`, rounded up to a
  whole second.
* "landed": from shortly before the first fire, this process polls `TIME` + `LRANGE
  rq:queue:default <seen> -1` in one pipeline, sleeping 1 ms between polls; a job id's landing
  time is the `TIME` of the first poll that saw it (an upper bound, late by at most one poll
  period, ~1.1 ms, about 0.6 ms on average).
* "enqueued_at": RQ's job field, read back from the job hashes after the run. rq-scheduler
  writes the enqueuing process's clock just before the job is pushed; hasched writes Redis's
  `TIME` read by the commit script that pushes the job (its `created_at` is the start of the
  tick that planned it).
* CPU: for each burst and sustained run, the user + system CPU of the scheduler's process and
  of redis-server (from /proc/<pid>/stat) from just before the first fire to the last landed,
  per fire landed: the figure that least depends on what else runs on the machine.
* Throughput: N fires all due at the same instant T. fires/s = N / (last landed - T) is the
  headline; the same from the largest `enqueued_at` and the drain rate N / (last landed -
  first landed), which leaves out the wait for the scheduler's first pass, are shown too.
  Setting the schedules up is not timed in the rate; it must finish before T (checked).
* Lag: M fires at T0 + i * S / M (i = 0..M-1), spread uniformly over S seconds. lag = time -
  nominal fire time, per job, from `enqueued_at` (headline) and from "landed". The nominal time
  is `job.meta["hasched_fire_time"]` for hasched, and for rq-scheduler the time this benchmark
  passed to `enqueue_at`. rq-scheduler stores whole seconds (`calendar.timegm`) and compares
  them with the truncated current second, so its jobs can fire up to 1 s *early*: negative lag.
  rq-scheduler treats naive datetimes as UTC and converts aware ones; we pass aware UTC.

Results are printed as Markdown tables and written, with the raw per-job lags, to
`bench/results/latest.json`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

from redis import Redis
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.job import Job
from rq_scheduler import Scheduler as RQScheduler  # type: ignore[import-untyped]

from hasched import Scheduler

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
RESULTS = HERE / "results" / "latest.json"
QUEUE_KEY = "rq:queue:default"
TASK = "bench_tasks.noop"
NAMESPACE = "bench"
INSTANCE_ID = "b1"
US = 1_000_000
POLL_S = 0.001  # queue poll period
CALIBRATION = 500  # schedules created (far in the future, then removed) to time the API
SETUP_FACTOR = 1.5  # T is this many times the estimated set-up time ahead, plus SETUP_MARGIN_S
SETUP_MARGIN_S = 2.0
LAG_LEAD_S = 3.0  # the first lag fire is at least this far ahead of the start of its set-up
BURST_TIMEOUT_S = 60.0  # the longest wait for a burst to land, after T
LAG_GRACE_S = 5.0  # the longest wait after the last lag fire
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
WATCHDOG_S = 1200  # the whole run is stopped (cleanly) after this long
HASCHED_TARGET_SHARED = 30_000.0  # fires/s, a burst of one shared payload
HASCHED_TARGET_DISTINCT = 25_000.0  # fires/s, a burst of distinct payloads
HASCHED_TARGET_P99_MS = 50.0


class BenchError(RuntimeError):
    """A contender could not be measured (it did not start, died, or answered nonsense)."""


class Watchdog(Exception):
    """The whole run took longer than WATCHDOG_S."""


# -- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; never waits longer than twice that."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextlib.contextmanager
def spawn(argv: Sequence[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` (cwd bench/, output to `log`) for the duration of the block."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, cwd=HERE, env=env)
        try:
            yield proc
        finally:
            stop_process(proc)


def wait_until(ready: Callable[[], bool], what: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll `ready` until true; fail if `proc` exits or START_TIMEOUT_S passes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with {proc.returncode}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise BenchError(f"{what} not ready after {START_TIMEOUT_S} s:\n{tail(log)}")
        time.sleep(0.01)


def _pings(r: Redis) -> bool:
    try:
        return bool(r.ping())
    except (RedisConnectionError, BusyLoadingError):
        return False


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[tuple[Redis, str]]:
    """A private, non-persistent redis-server; yields a client and its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise BenchError("redis-server not found (make system-deps installs it)")
    port = free_port()
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(workdir), "--logfile", str(workdir / "redis.log")]
    with spawn(argv, workdir / "redis.stdout") as proc:
        client = Redis(host="127.0.0.1", port=port)
        wait_until(lambda: _pings(client), "redis-server", proc, workdir / "redis.log")
        try:
            yield client, f"redis://127.0.0.1:{port}/0"
        finally:
            client.close()


# -- the contenders -------------------------------------------------------------------------------


class Contender(Protocol):
    label: str
    interval: str

    def argv(self, url: str) -> list[str]: ...

    def ready(self) -> bool: ...

    def schedule(self, key: str, when: float) -> None: ...

    def discard(self, keys: Sequence[str]) -> None: ...

    def nominal(self, job_ids: Sequence[str]) -> list[float]: ...


class Hasched:
    """hasched's leader process; schedules are one-off `Scheduler.at` schedules."""

    label = "hasched"
    interval = "event-driven"

    def __init__(self, r: Redis, distinct: bool = False) -> None:
        self._r = r
        self._api = Scheduler(r, namespace=NAMESPACE)
        self._distinct = distinct

    def argv(self, url: str) -> list[str]:
        run = ["run", "--redis-url", url, "--namespace", NAMESPACE, "--instance-id", INSTANCE_ID]
        return [str(BIN / "hasched"), *run, "--metrics-addr", "", "--log-level", "warning"]

    def ready(self) -> bool:
        lease = self._r.get("{" + NAMESPACE + "}:lease")  # "instance_id|epoch" while held
        return isinstance(lease, bytes) and lease.startswith(f"{INSTANCE_ID}|".encode())

    def schedule(self, key: str, when: float) -> None:
        args = [key] if self._distinct else []  # --distinct: every fire its own call
        self._api.at(key, datetime.fromtimestamp(when, UTC), TASK, args=args)

    def discard(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._api.cancel(key)

    def nominal(self, job_ids: Sequence[str]) -> list[float]:
        jobs = Job.fetch_many(list(job_ids), connection=self._r)
        return [datetime.fromisoformat(_job(j).meta["hasched_fire_time"]).timestamp() for j in jobs]


class RqSched:
    """rq-scheduler's `rqscheduler` process; jobs are created with `enqueue_at`."""

    label = "rq-scheduler"

    def __init__(self, r: Redis, interval: float, distinct: bool = False) -> None:
        self._r = r
        self._distinct = distinct
        self._api = RQScheduler(queue_name="default", connection=r)
        self._interval = interval
        self.interval = f"{interval:g} s"
        self._asked: dict[str, float] = {}

    def argv(self, url: str) -> list[str]:
        return [str(BIN / "rqscheduler"), "--url", url, "--interval", str(self._interval), "--quiet"]

    def ready(self) -> bool:
        return next(iter(self._r.scan_iter("rq:scheduler_instance:*")), None) is not None

    def schedule(self, key: str, when: float) -> None:
        args = [key] if self._distinct else []
        job = self._api.enqueue_at(datetime.fromtimestamp(when, UTC), TASK, *args, job_id=f"rqs-{key}")
        self._asked[job.id] = when

    def discard(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._api.cancel(f"rqs-{key}")
            self._r.delete(Job.key_for(f"rqs-{key}"))

    def nominal(self, job_ids: Sequence[str]) -> list[float]:
        return [self._asked[j] for j in job_ids]


def _job(job: Job | None) -> Job:
    if job is None:
        raise BenchError("a job in the queue has no job hash")
    return job


Check = Callable[[], None]


class Proc:
    """A running contender: calling it raises BenchError once the process has exited."""

    def __init__(self, proc: subprocess.Popen[bytes], label: str, phase: str, log: Path) -> None:
        self.pid = proc.pid
        self._proc, self._label, self._phase, self._log = proc, label, phase, log

    def __call__(self) -> None:
        if self._proc.poll() is not None:
            raise BenchError(
                f"{self._label} exited ({self._proc.returncode}) during the {self._phase} phase:\n"
                f"{tail(self._log)}"
            )


@contextlib.contextmanager
def running(c: Contender, url: str, workdir: Path, phase: str) -> Iterator[Proc]:
    """Run the contender's process; yields a check that raises BenchError once it has exited."""
    log = workdir / f"{c.label}-{c.interval.replace(' ', '')}-{phase}.log"
    with spawn(c.argv(url), log) as proc:
        check = Proc(proc, c.label, phase, log)
        wait_until(c.ready, c.label, proc, log)
        yield check
        check()


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process on this host so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by the contender's process and redis-server between `start` and `stop`."""

    def __init__(self, r: Redis, pid: int) -> None:
        self._pids = {"scheduler": pid, "redis": int(r.info("server")["process_id"])}
        self._at = {name: cpu_s(p) for name, p in self._pids.items()}

    def per_fire(self, fires: int) -> dict[str, float | None]:
        """µs of CPU per fire for each process since this meter was made."""
        used = {name: cpu_s(p) - self._at[name] for name, p in self._pids.items()}
        return {f"{name}_cpu_us_per_fire": (s / fires * US if fires else None) for name, s in used.items()}


# -- measuring ------------------------------------------------------------------------------------


def redis_now(r: Redis) -> float:
    sec, usec = r.time()
    return sec + usec / US


def watch_queue(
    r: Redis, expected: int, start: float, deadline: float, check: Check
) -> list[tuple[str, float]]:
    """Job ids as they land in the queue, each with the Redis time of the poll that first saw it.

    Polls every POLL_S (sleeping even while jobs arrive, so that on a small machine the poller
    does not take a CPU from the scheduler) from the Redis instant `start` until `expected` ids
    were seen or Redis's clock passes `deadline`. `check` is called on the way."""
    landed: list[tuple[str, float]] = []
    while (wait := start - redis_now(r)) > 0:
        check()
        time.sleep(min(wait, 0.1))
    at = start
    while len(landed) < expected and at < deadline:
        check()
        pipe = r.pipeline(transaction=False)
        pipe.time()
        pipe.lrange(QUEUE_KEY, len(landed), -1)
        (sec, usec), new = pipe.execute()
        at = sec + usec / US
        landed.extend((j.decode(), at) for j in new)
        time.sleep(POLL_S)
    return landed


def parse_rq_time(raw: bytes | None) -> float:
    if raw is None:
        raise BenchError("a job in the queue has no enqueued_at")
    stamp = datetime.fromisoformat(raw.decode())
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def enqueued_at(r: Redis, job_ids: Sequence[str], chunk: int = 2000) -> list[float]:
    """RQ's `enqueued_at` of each job, pipelined."""
    out: list[float] = []
    for start in range(0, len(job_ids), chunk):
        pipe = r.pipeline(transaction=False)
        for job_id in job_ids[start : start + chunk]:
            pipe.hget(Job.key_for(job_id), "enqueued_at")
        out += [parse_rq_time(v) for v in pipe.execute()]
    return out


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def lag_summary(lags_s: Sequence[float]) -> dict[str, float | None]:
    if not lags_s:
        return dict.fromkeys(("p50_ms", "p99_ms", "max_ms", "min_ms", "mean_ms"))
    ms = [x * 1000 for x in lags_s]
    return {
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
        "min_ms": min(ms),
        "mean_ms": sum(ms) / len(ms),
    }


# -- the two phases -------------------------------------------------------------------------------


def create(c: Contender, keys: Sequence[str], whens: Sequence[float]) -> float:
    """Create one fire per key; returns the seconds it took."""
    started = time.perf_counter()
    for key, when in zip(keys, whens, strict=True):
        c.schedule(key, when)
    return time.perf_counter() - started


def burst_instant(r: Redis, c: Contender, n: int, factor: float) -> float:
    """Time the API on CALIBRATION throw-away fires, then pick a whole-second T far enough ahead."""
    keys = [f"cal-{i}" for i in range(CALIBRATION)]
    per_fire = create(c, keys, [redis_now(r) + 3600.0] * len(keys)) / len(keys)
    c.discard(keys)
    return float(math.ceil(redis_now(r) + n * per_fire * factor + SETUP_MARGIN_S))


def burst_phase(r: Redis, c: Contender, n: int, factor: float, check: Proc) -> dict[str, Any]:
    """N fires due at the same instant T: how fast do they land in the queue?"""
    t = burst_instant(r, c, n, factor)
    setup_s = create(c, [f"burst-{i:05d}" for i in range(n)], [t] * n)
    slack_s = t - redis_now(r)
    cpu = CpuMeter(r, check.pid)
    landed = watch_queue(r, n, t - 0.2, t + BURST_TIMEOUT_S, check)
    used = cpu.per_fire(len(landed))
    ids = [j for j, _ in landed]
    first = landed[0][1] - t if landed else None
    last = landed[-1][1] - t if landed else None
    last_enq = max(enqueued_at(r, ids)) - t if ids else None
    return {
        "fires": n,
        "landed": len(landed),
        "unique": len(set(ids)),
        "instant_T": t,
        "setup_s": setup_s,
        "setup_slack_s": slack_s,
        "setup_overran": slack_s <= 0,
        "first_landed_after_T_s": first,
        "last_landed_after_T_s": last,
        "last_enqueued_at_after_T_s": last_enq,
        "fires_per_s": _rate(len(landed), last),
        "fires_per_s_enqueued_at": _rate(len(landed), last_enq),
        "drain_fires_per_s": _rate(len(landed) - 1, None if last is None else last - (first or 0.0)),
        **used,
    }


def _rate(count: int, seconds: float | None) -> float | None:
    return None if seconds is None or seconds <= 0 else count / seconds


def lag_phase(r: Redis, c: Contender, m: int, span_s: float, factor: float, check: Proc) -> dict[str, Any]:
    """M fires spread uniformly over `span_s`: how late does each land?"""
    t0 = float(math.ceil(redis_now(r) + LAG_LEAD_S * factor))
    whens = [t0 + i * span_s / m for i in range(m)]
    setup_s = create(c, [f"lag-{i:05d}" for i in range(m)], whens)
    slack_s = t0 - redis_now(r)
    landed = watch_queue(r, m, t0 - 1.2, whens[-1] + LAG_GRACE_S, check)
    ids = [j for j, _ in landed]
    nominal = c.nominal(ids)
    enq_lags = [e - n for e, n in zip(enqueued_at(r, ids), nominal, strict=True)]
    landed_lags = [at - n for (_, at), n in zip(landed, nominal, strict=True)]
    return {
        "fires": m,
        "span_s": span_s,
        "landed": len(landed),
        "unique": len(set(ids)),
        "first_fire_T0": t0,
        "setup_s": setup_s,
        "setup_slack_s": slack_s,
        "setup_overran": slack_s <= 0,
        "lag_enqueued_at": lag_summary(enq_lags),
        "lag_landed": lag_summary(landed_lags),
        "raw_lag_enqueued_at_ms": [round(x * 1000, 3) for x in enq_lags],
        "raw_lag_landed_ms": [round(x * 1000, 3) for x in landed_lags],
    }


@dataclass(frozen=True)
class Run:
    r: Redis
    url: str
    workdir: Path
    args: argparse.Namespace


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_phase(run: Run, c: Contender, phase: str, factor: float) -> dict[str, Any]:
    """One phase with a fresh scheduler process on a flushed Redis."""
    run.r.flushall()
    progress(f"  {c.label} ({c.interval}): {phase} ...")
    with running(c, run.url, run.workdir, phase) as check:
        if phase == "throughput":
            return burst_phase(run.r, c, run.args.fires, factor, check)
        return lag_phase(run.r, c, run.args.lag_fires, run.args.lag_span, factor, check)


def measure(run: Run, make: Callable[[Redis], Contender], phases: Sequence[str]) -> dict[str, Any]:
    """The phases for one contender. A phase whose set-up overran its fire instant (a busy
    machine) is run once more with twice the lead time. A contender that fails is reported."""
    first = make(run.r)
    out: dict[str, Any] = {"scheduler": first.label, "interval": first.interval}
    try:
        for phase in phases:
            for attempt in (1, 2):
                out[phase] = run_phase(run, make(run.r), phase, SETUP_FACTOR * attempt)
                if not out[phase]["setup_overran"]:
                    break
                progress("    set-up finished after the fire instant; again with more lead time")
    except BenchError as e:
        out["error"] = str(e)
        progress(f"    FAILED: {e}")
    return out


def contenders(args: argparse.Namespace, distinct: bool) -> list[Callable[[Redis], Contender]]:
    """hasched and rq-scheduler at both its poll intervals (or the one `--only` names)."""
    out: list[Callable[[Redis], Contender]] = []
    if args.only in (None, "hasched"):
        out.append(lambda r: Hasched(r, distinct))
    if args.only in (None, "rq-scheduler"):
        out += [
            lambda r: RqSched(r, 1.0, distinct),
            lambda r: RqSched(r, args.rqs_fast_interval, distinct),
        ]
    return out


# -- sections -------------------------------------------------------------------------------------

# A section measures one thing for every contender: it returns its Markdown and its raw results.
Section = Callable[[Run], dict[str, Any]]


def burst_section(distinct: bool) -> Section:
    def section(run: Run) -> dict[str, Any]:
        results = [measure(run, make, ("throughput",)) for make in contenders(run.args, distinct)]
        kind = "every payload distinct" if distinct else "one shared payload"
        target = HASCHED_TARGET_DISTINCT if distinct else HASCHED_TARGET_SHARED
        md = [
            f"### Burst: {run.args.fires:,} fires due at the same whole-second instant T, {kind}",
            "",
            phase_table(results, "throughput", THROUGHPUT_HEADERS, _throughput_cells),
            "",
            "fires/s = N / (time the last job id was seen in the queue - T), Redis clock, queue polled "
            "every ~1 ms. The enqueued_at column uses the largest RQ `enqueued_at` instead (hasched "
            "stamps the commit's Redis TIME); drain leaves out the wait for the first pass. CPU: the "
            "scheduler process and redis-server, from /proc, per fire landed (redis-server's includes "
            "the benchmark's own polling).",
            "",
            *verdict_rate(results, target),
        ]
        return {"markdown": "\n".join(md), "results": results}

    return section


def lag_section(run: Run) -> dict[str, Any]:
    results = [measure(run, make, ("lag",)) for make in contenders(run.args, False)]
    md = [
        f"### Fire lag: {run.args.lag_fires:,} fires spread uniformly over {run.args.lag_span:g} s",
        "",
        phase_table(results, "lag", LAG_HEADERS, _lag_cells),
        "",
        "lag = RQ `enqueued_at` - nominal fire time (hasched: `meta.hasched_fire_time`; rq-scheduler: "
        "the time passed to `enqueue_at`, which it truncates to whole seconds, hence negative lag = "
        "fired early). 'landed' columns: time the job id was first seen in the queue - nominal.",
        "(!) = not every fire landed exactly once, or the set-up was still running at the fire instant.",
        "",
        *verdict_lag(results),
    ]
    return {"markdown": "\n".join(md), "results": results}


# -- report ---------------------------------------------------------------------------------------


def _f(value: float | None, fmt: str = ",.0f") -> str:
    return "n/a" if value is None else format(value, fmt)


def _ms(value: float | None) -> str:
    return f"{_f(value, '.1f')} ms"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def _count(phase: dict[str, Any]) -> str:
    """landed/expected, with (!) when not every fire landed exactly once or the set-up overran."""
    clean = phase["landed"] == phase["unique"] == phase["fires"] and not phase["setup_overran"]
    return f"{phase['landed']:,}/{phase['fires']:,}{'' if clean else ' (!)'}"


def _throughput_cells(t: dict[str, Any]) -> list[str]:
    return [
        _count(t),
        f"**{_f(t['fires_per_s'])}**",
        _f(t["fires_per_s_enqueued_at"]),
        _f(t["drain_fires_per_s"]),
        f"T+{_f(t['first_landed_after_T_s'], '.3f')} s",
        f"T+{_f(t['last_landed_after_T_s'], '.3f')} s",
        _f(t.get("scheduler_cpu_us_per_fire"), ".1f"),
        _f(t.get("redis_cpu_us_per_fire"), ".1f"),
    ]


def _lag_cells(lag: dict[str, Any]) -> list[str]:
    e, seen = lag["lag_enqueued_at"], lag["lag_landed"]
    return [
        _count(lag),
        _ms(e["p50_ms"]),
        f"**{_ms(e['p99_ms'])}**",
        _ms(e["max_ms"]),
        _ms(e["min_ms"]),
        _ms(seen["p50_ms"]),
        _ms(seen["p99_ms"]),
        _ms(seen["max_ms"]),
    ]


def phase_table(
    results: Sequence[dict[str, Any]], phase: str, headers: Sequence[str], cells: Callable[..., list[str]]
) -> str:
    rows = []
    for res in results:
        row = [res["scheduler"], res["interval"]]
        if phase in res:
            row += cells(res[phase])
        else:
            row += ["failed: " + res.get("error", "not run").splitlines()[0]] + [""] * (len(headers) - 1)
        rows.append(row)
    return table(["scheduler", "poll interval", *headers], rows)


THROUGHPUT_HEADERS = (
    "enqueued",
    "**fires/s** (T -> last landed)",
    "fires/s (T -> max enqueued_at)",
    "drain fires/s (first -> last landed)",
    "first landed",
    "last landed",
    "scheduler CPU µs/fire",
    "redis-server CPU µs/fire",
)
LAG_HEADERS = ("enqueued", "p50", "**p99**", "max", "min", "landed p50", "landed p99", "landed max")


def _hasched(results: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    return next((x for x in results if x["scheduler"] == "hasched"), None)


def verdict_rate(results: Sequence[dict[str, Any]], target: float) -> list[str]:
    h = _hasched(results)
    if h is None:
        return []
    rate = h.get("throughput", {}).get("fires_per_s")
    ok = rate is not None and rate >= target
    return [f"- hasched target >= {target:,.0f} fires/s: {'PASS' if ok else 'FAIL'} ({_f(rate)} fires/s)"]


def verdict_lag(results: Sequence[dict[str, Any]]) -> list[str]:
    h = _hasched(results)
    if h is None:
        return []
    p99 = h.get("lag", {}).get("lag_enqueued_at", {}).get("p99_ms")
    ok = p99 is not None and p99 < HASCHED_TARGET_P99_MS
    verdict = "PASS" if ok else "FAIL"
    return [f"- hasched lag target p99 < {HASCHED_TARGET_P99_MS:.0f} ms: {verdict} ({_ms(p99)})"]


def report(sections: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    a, v = meta["params"], meta["versions"]
    notes = [
        f"Redis {v['redis-server']} on 127.0.0.1 (private, no persistence), {os.cpu_count()} CPUs; "
        f"hasched {v['hasched']}, rq {v['rq']}, rq-scheduler {v['rq-scheduler']}, redis-py {v['redis']}. "
        "No RQ workers: a fire counts when its job id is in `rq:queue:default`. hasched: `hasched run` "
        "(sleeps until the next due fire or a wake-up); rq-scheduler: `rqscheduler --interval 1` and "
        f"`--interval {a['rqs_fast_interval']:g}` (its shortest useful interval: below it the loop only "
        "burns CPU, since it rounds fire times down to whole seconds anyway).",
    ]
    for section in sections.values():
        notes += ["", section["markdown"]]
    return "\n".join(notes)


def versions(r: Redis) -> dict[str, str]:
    info = r.info("server")
    out = {name: version(name) for name in ("hasched", "rq", "rq-scheduler", "redis")}
    out["redis-server"] = str(info.get("redis_version", "?"))
    out["python"] = sys.version.split()[0]
    return out


def write_json(sections: dict[str, dict[str, Any]], meta: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    doc = {**meta, "sections": {name: s["results"] for name, s in sections.items()}}
    RESULTS.write_text(json.dumps(doc, indent=1) + "\n")


# -- main -----------------------------------------------------------------------------------------
