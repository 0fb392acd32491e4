"""The sustained load of `make bench`: N schedules each firing every second for D seconds.

Each contender runs as its real process on the benchmark's private Redis (bench.py), no worker:
a fire counts when its job id lands in `rq:queue:default` (polled every ~1 ms, as for the
bursts), and its lag is the Redis time it was first seen there minus its nominal fire time.

* hasched, phases spread: schedule i is `every 1` s starting at T0 + i/N s, so ten fires fall due
  in each millisecond, the steady case of N interval schedules created at different moments.
  Each has `repeat` = D: N x D fires are expected, each exactly once. The nominal time of a fire
  is in its job id (`hasched-<tag>-<schedule>-<fire µs>`).
* hasched, phases aligned: the same with every schedule starting at T0, so N fires fall due at
  each whole second; the lag of the last of them is the time a burst of N takes.
* rq-scheduler: `Scheduler.schedule(T0, interval=1, repeat=D-1)` per job. It keeps only whole
  seconds, so its phases are always aligned, and it enqueues the same job (same id) each time:
  the k-th time an id lands is its fire k, nominally T0 + k s. It schedules the next run one
  interval after it enqueued the last, not after the last nominal time, so a fire it is late
  for moves every later one: those missing at the end are "missed".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from rq_scheduler import Scheduler as RQScheduler  # type: ignore[import-untyped]

from bench import (
    NAMESPACE,
    TASK,
    US,
    BenchError,
    CpuMeter,
    Hasched,
    Proc,
    RqSched,
    Run,
    _f,
    _ms,
    lag_summary,
    progress,
    redis_now,
    running,
    table,
    watch_queue,
)
from hasched import Scheduler
from hasched.api import make

PERIOD_S = 1.0
GRACE_S = 5.0  # the longest wait after the last nominal fire
ON_TIME_MS = 10.0  # the target: p99 landed lag at most this
CHUNK = 2_000  # schedules per add_many call


def _create_hasched(r: Redis, n: int, t0: float, spread: bool, repeat: int) -> None:
    api = Scheduler(r, namespace=NAMESPACE)
    for lo in range(0, n, CHUNK):
        items = []
        for i in range(lo, min(n, lo + CHUNK)):
            start = datetime.fromtimestamp(t0 + (i * PERIOD_S / n if spread else 0.0), UTC)
            items.append(make(id=f"s-{i:05d}", func=TASK, every=PERIOD_S, start=start, repeat=repeat))
        api.add_many(items)


def _create_rqs(r: Redis, n: int, t0: float, repeat: int) -> None:
    api = RQScheduler(queue_name="default", connection=r)
    when = datetime.fromtimestamp(t0, UTC)
    for i in range(n):
        api.schedule(when, TASK, interval=int(PERIOD_S), repeat=repeat - 1, id=f"rqs-s-{i:05d}")


def _hasched_nominal(job_ids: Sequence[str], _t0: float) -> list[float]:
    return [int(j.rsplit("-", 1)[1]) / US for j in job_ids]


def _rqs_nominal(job_ids: Sequence[str], t0: float) -> list[float]:
    seen: Counter[str] = Counter()
    out = []
    for j in job_ids:
        out.append(t0 + seen[j] * PERIOD_S)
        seen[j] += 1
    return out


def sustained_phase(r: Redis, c: Hasched | RqSched, n: int, duration: float, spread: bool,
                    check: Proc) -> dict[str, Any]:  # fmt: skip
    """N schedules every PERIOD_S for `duration` seconds: how many land, how late."""
    repeat = max(1, int(duration / PERIOD_S))
    hasched = isinstance(c, Hasched)
    lead = 2.0 + n / (10_000 if hasched else 1_000)  # rq-scheduler creates ~1,500/s here
    t0 = float(math.ceil(redis_now(r) + lead))
    started = redis_now(r)
    if hasched:
        _create_hasched(r, n, t0, spread, repeat)
    else:
        _create_rqs(r, n, t0, repeat)
    setup_s, slack_s = redis_now(r) - started, t0 - redis_now(r)
    cpu = CpuMeter(r, check.pid)
    last_nominal = t0 + (repeat - 1) * PERIOD_S + (PERIOD_S if spread else 0.0)
    landed = watch_queue(r, n * repeat, t0 - 0.5, last_nominal + GRACE_S, check)
    used = cpu.per_fire(len(landed))
    ids = [j for j, _ in landed]
    nominal: Callable[[Sequence[str], float], list[float]] = _hasched_nominal if hasched else _rqs_nominal
    lags = [at - due for (_, at), due in zip(landed, nominal(ids, t0), strict=True)]
    unique = len(set(ids)) if hasched else len(ids)  # rq-scheduler lands one id again and again
    late = sum(1 for x in lags if x * 1000 > ON_TIME_MS)
    return {
        "schedules": n,
        "period_s": PERIOD_S,
        "duration_s": duration,
        "phases": "spread" if spread else "aligned",
        "expected": n * repeat,
        "landed": len(landed),
        "duplicated": len(landed) - unique,
        "missed": n * repeat - unique,
        "late_over_10ms": late,
        "setup_s": setup_s,
        "setup_slack_s": slack_s,
        "setup_overran": slack_s <= 0,
        "lag_landed": lag_summary(lags),
        **used,
    }


def _phase(run: Run, c: Hasched | RqSched, spread: bool, duration: float) -> dict[str, Any]:
    run.r.flushall()
    kind = "spread" if spread else "aligned"
    n = run.args.schedules
    progress(f"  {c.label} ({c.interval}): sustained, {n:,} schedules, {kind}, {duration:g} s ...")
    out: dict[str, Any] = {"scheduler": c.label, "interval": c.interval}
    try:
        with running(c, run.url, run.workdir, f"sustained-{kind}") as check:
            out["sustained"] = sustained_phase(run.r, c, run.args.schedules, duration, spread, check)
    except BenchError as e:
        out["error"] = str(e)
        progress(f"    FAILED: {e}")
    return out


HEADERS = ("phases", "fires expected", "landed", "missed", "duplicated", "later than 10 ms",
           "landed lag p50", "**p99**", "max", "scheduler CPU µs/fire",
           "redis-server CPU µs/fire")  # fmt: skip


def _row(res: dict[str, Any]) -> list[str]:
    head = [res["scheduler"], res["interval"]]
    s = res.get("sustained")
    if s is None:
        return head + ["failed: " + res.get("error", "not run").splitlines()[0]] + [""] * (len(HEADERS) - 1)
    lag = s["lag_landed"]
    overran = " (!)" if s["setup_overran"] else ""
    return [
        *head,
        s["phases"] + overran,
        f"{s['expected']:,}",
        f"{s['landed']:,}",
        f"{s['missed']:,}",
        f"{s['duplicated']:,}",
        f"{s['late_over_10ms']:,}",
        _ms(lag["p50_ms"]),
        f"**{_ms(lag['p99_ms'])}**",
        _ms(lag["max_ms"]),
        _f(s.get("scheduler_cpu_us_per_fire"), ".1f"),
        _f(s.get("redis_cpu_us_per_fire"), ".1f"),
    ]


def _verdict(results: Sequence[dict[str, Any]]) -> list[str]:
    s = next((x.get("sustained") for x in results if x["scheduler"] == "hasched"), None)
    if s is None:
        return []
    p99 = s["lag_landed"]["p99_ms"]
    ok = p99 is not None and p99 <= ON_TIME_MS and s["missed"] == 0 and s["duplicated"] == 0
    return [
        f"- hasched sustained target (phases spread: none missed or doubled, p99 landed lag <= "
        f"{ON_TIME_MS:g} ms): {'PASS' if ok else 'FAIL'} ({_ms(p99)}, {s['missed']:,} missed, "
        f"{s['duplicated']:,} duplicated)"
    ]


def section(run: Run) -> dict[str, Any]:
    """The sustained section of `make bench` (bench.py's SECTIONS)."""
    a = run.args
    results = []
    if a.only in (None, "hasched"):
        results.append(_phase(run, Hasched(run.r), True, a.duration))
        if a.aligned_duration > 0:
            results.append(_phase(run, Hasched(run.r), False, a.aligned_duration))
    if a.only in (None, "rq-scheduler"):
        results.append(_phase(run, RqSched(run.r, a.rqs_fast_interval), False, a.duration))
    md = [
        f"### Sustained: {a.schedules:,} schedules, each every {PERIOD_S:g} s",
        "",
        table(["scheduler", "poll interval", *HEADERS], [_row(x) for x in results]),
        "",
        "landed lag = Redis time the job id was first seen in the queue (polled every ~1 ms) - nominal "
        "fire time. spread: schedule i starts i/N s after T0, ten fires due each millisecond; aligned: "
        "all N due at each whole second (rq-scheduler keeps whole seconds only, so it is always aligned; "
        "it re-enqueues one job id per schedule and moves the next run one interval after the late one, "
        "so its misses are fires it never enqueued in the window). (!) = set-up overran T0.",
        "",
        *_verdict(results),
    ]
    return {"markdown": "\n".join(md), "results": results}
