"""The chaos verifier's check of the run history against the workload's ledger: every expected
fire has exactly one run record (none doubled by a failover, none lost), no record names a fire
that should not exist, nothing was recorded as missed or skipped, and every run the workers
recorded ends up `finished` in the history once a leader has looked.

A schedule keeps its newest `history` records: when it holds that many, fires older than the
oldest kept are not looked for. A schedule deleted and re-created after its fires (a scenario
may race deletes against the leader) starts a new, empty history: a delete takes the history
with it. Such a schedule (no record, no fire counted since its re-creation) is left out.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from redis import Redis

from hasched import Scheduler
from hasched._triggers import to_us
from hasched.errors import ScheduleNotFound

# How long the tracker may take to see the last runs end (it passes at least every second while
# runs are in flight; a failover adds the lease TTL).
SETTLE_SECONDS = 20.0


RqStatus = Callable[[tuple[str, int]], str | None]


def check_history(
    redis: Redis,
    namespace: str,
    expected: Iterable[tuple[str, int]],
    ran: Iterable[tuple[str, int]],
    rq_status: RqStatus,
) -> tuple[list[str], list[str]]:
    """Problems found (empty when the history agrees with the ledger), and apart from them the
    runs whose end RQ itself never recorded (its job still says `started`: a worker finished
    while Redis was down, so RQ's own end write was lost; hasched can only see what RQ wrote).
    `expected` holds the (schedule id, fire µs) that should fire, `ran` those the workers
    recorded running, `rq_status` the status RQ's job hash holds for a fire (None: gone)."""
    wanted = set(expected)
    ran_once = {k for k, n in Counter(ran).items() if n == 1 and k in wanted}
    sched = Scheduler(redis, namespace)
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        records = _records(sched, {sid for sid, _ in wanted})
        problems, unended = _compare(records, wanted, ran_once, rq_status)
        if (not problems and not unended) or time.monotonic() > deadline:
            return problems, unended
        time.sleep(0.25)


def _records(sched: Scheduler, ids: set[str]) -> dict[str, tuple[list[dict[str, Any]], int]]:
    """Each schedule's records and its history cap; re-created (empty) or deleted ones left out."""
    out: dict[str, tuple[list[dict[str, Any]], int]] = {}
    for sid in sorted(ids):
        try:
            records, d = sched.history(sid, n=10_000), sched.describe(sid)
        except ScheduleNotFound:
            continue  # deleted: its history went with it
        if records or d["fires"]:
            out[sid] = (records, d["history"])
    return out


def _oldest_kept(records: list[dict[str, Any]], cap: int) -> int:
    """The fire time below which records may have been trimmed (0: none was)."""
    if len(records) < cap:
        return 0
    return min(to_us(datetime.fromisoformat(r.get("fire_time") or r["last_fire_time"])) for r in records)


def _compare(histories: dict[str, tuple[list[dict[str, Any]], int]], wanted: set[tuple[str, int]],
             ran_once: set[tuple[str, int]], rq_status: RqStatus) -> tuple[list[str], list[str]]:  # fmt: skip
    problems: list[str] = []
    seen: Counter[tuple[str, int]] = Counter()
    status: dict[tuple[str, int], str] = {}
    for sid, (recs, _) in histories.items():
        for r in recs:
            if r["kind"] == "missed" or r["status"] == "skipped":
                problems.append(f"history {sid}: unexpected {r['status']} record {r}")
                continue
            key = (sid, to_us(datetime.fromisoformat(r["fire_time"])))
            seen[key] += 1
            status[key] = r["status"]
    kept = {sid: _oldest_kept(recs, cap) for sid, (recs, cap) in histories.items()}
    problems += [f"history doubled {k} x{n}" for k, n in seen.items() if n > 1]
    problems += [f"history unexpected {k}" for k in seen if k not in wanted]
    problems += [f"history lost {k}" for k in sorted(wanted)
                 if k not in seen and k[0] in kept and k[1] >= kept[k[0]]]  # fmt: skip
    unfinished = [k for k in sorted(ran_once) if k in status and status[k] != "finished"]
    unended = [k for k in unfinished if rq_status(k) == "started"]
    problems += [f"history {k}: {status[k]}, not finished" for k in unfinished if k not in unended]
    return problems, [f"history {k}: RQ never recorded its end" for k in unended]
