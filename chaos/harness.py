"""The chaos harness: schedules whose every fire is known in advance, faults with timestamps,
and a verifier that compares what should have fired with what was enqueued and what ran."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cluster import Cluster
from helpers import redis_now, wait_for
from history_check import check_history
from jobs import LEDGER
from redis import Redis

from hasched import Schedule, Scheduler
from hasched._jobs import job_key
from hasched._keys import Keys
from hasched._plan import next_after
from hasched._store import Store
from hasched._triggers import to_us

US = 1_000_000
LEASE_TTL = 1.5
RETRY = 0.2
# A crash failover must finish within this.
CRASH_GAP = LEASE_TTL + RETRY + 0.5


@dataclass
class Verdict:
    """The outcome of one scenario (one row of the summary)."""

    scenario: str
    faults: int = 0
    expected: int = 0
    enqueued: int = 0
    executed: int = 0
    duplicates: int = 0
    missing: int = 0
    not_executed: int = 0
    # enqueued, then lost by RQ when Redis died under a worker: the job was taken off the queue
    # (left 'queued' in RQ's intermediate list, or 'started'/'failed') but never ran
    worker_lost: int = 0
    unexpected: int = 0
    # fires enqueued again after Redis lost its data (a restart without persistence): allowed there only
    refired: int = 0
    max_gap_s: float = 0.0
    gaps_s: list[float] = field(default_factory=list)
    max_lag_s: float = 0.0
    history: int = 0  # run-history problems (chaos/history_check.py)
    rq_lost_end: int = 0  # runs whose end RQ never wrote (Redis died under the worker)
    examples: list[str] = field(default_factory=list)
    redis: str = ""  # which Redis ran: "local <binary>" or "docker <image>"

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("examples", "gaps_s")}


@dataclass
class Workload:
    """Schedules created for a scenario, and every fire they must produce."""

    redis: Redis
    namespace: str
    expected: dict[tuple[str, int], str] = field(default_factory=dict)  # (id, fire µs) -> job id
    end_us: int = 0
    made: list[Schedule] = field(default_factory=list)

    def create(self, *, intervals: int = 14, crons: int = 8, duration: float = 10.0, burst: int = 0,
               lead: float = 1.0, result_ttl: int | None = None) -> None:  # fmt: skip
        """Interval schedules every 0.2-1 s, 6-field crons every second, and optionally a burst
        of one-off fires all due at the same instant; all with catch-up `all` and a fixed end.
        `result_ttl`: how long RQ keeps a finished job's hash (RQ's default: 500 s)."""
        sched = Scheduler(self.redis, self.namespace)
        now = redis_now(self.redis)
        start, end = now + timedelta(seconds=lead), now + timedelta(seconds=lead + duration)
        self.end_us = to_us(end)
        common: dict[str, Any] = {"catchup": "all", "start": start, "end": end, "func": "jobs.record",
                                  "result_ttl": result_ttl}  # fmt: skip
        made = [
            sched.every(f"iv{i}", [0.2, 0.25, 0.5, 0.4, 1.0][i % 5], **common) for i in range(intervals)
        ] + [sched.cron(f"cron{i}", "* * * * * *", **common) for i in range(crons)]
        if burst:
            at = start + timedelta(seconds=duration / 3)
            made += [sched.at(f"burst{i}", at, "jobs.record", catchup="all", result_ttl=result_ttl)
                     for i in range(burst)]  # fmt: skip
        self.made = made
        keys = Keys(self.namespace)
        for s in made:
            for fire_us in fires_of(s, self.end_us):
                self.expected[(s.id, fire_us)] = keys.job_id(s.id, fire_us)

    def redeclare(self) -> None:
        """Write every schedule again, as an application or a schedules file does at its start,
        after Redis lost them all. The expected fires become those the new progress plans: from
        now on, and a one-off whose time has passed at once."""
        store, keys = Store(self.redis, self.namespace), Keys(self.namespace)
        self.expected = {}
        for s in self.made:
            first = store.save(s, replace=True).state.next_us
            for fire_us in fires_of(s, self.end_us):
                if first is not None and fire_us >= first:
                    self.expected[(s.id, fire_us)] = keys.job_id(s.id, fire_us)

    def wait_done(self, timeout: float = 60.0) -> None:
        """Until every expected fire ran (or the timeout passes: the verdict will say what is missing)."""
        deadline = time.monotonic() + max(0.0, (self.end_us / US) - time.time()) + timeout
        while time.monotonic() < deadline:
            if self.redis.llen(LEDGER) >= len(self.expected) and self._queues_empty():
                time.sleep(0.5)
                return
            time.sleep(0.25)

    def _queues_empty(self) -> bool:
        return int(self.redis.llen("rq:queue:default")) == 0

    def _taken(self, key: tuple[str, int], status: bytes | None) -> bool:
        """RQ took the job off its queue (a worker had it) but it never ran."""
        if status in (b"started", b"failed"):
            return True
        return status == b"queued" and self.redis.lpos("rq:queue:default", self.expected[key]) is None

    def _rq_status(self, key: tuple[str, int]) -> str | None:
        """The status RQ's job hash holds for the fire `key` (None when RQ deleted the job)."""
        raw = self.redis.hget(job_key(self.expected[key]), "status")
        return None if raw is None else raw.decode()

    def ledger(self) -> list[dict[str, Any]]:
        """Everything the workers recorded."""
        return [json.loads(x) for x in self.redis.lrange(LEDGER, 0, -1)]

    def verdict(
        self, name: str, faults: list[float], ran_before: frozenset[tuple[str, int]] = frozenset()
    ) -> Verdict:
        """`ran_before`: fires that ran before Redis lost its data; running one again is counted as
        `refired`, not as unexpected."""
        v = Verdict(name, faults=len(faults), expected=len(self.expected))
        entries = self.ledger()
        ran = Counter((e["schedule_id"], to_us(datetime.fromisoformat(e["fire_time"]))) for e in entries)
        v.refired = sum(1 for k in ran if k in ran_before)
        pipe = self.redis.pipeline(transaction=False)
        for job_id in self.expected.values():
            pipe.exists(job_key(job_id))
        # A fire was enqueued if RQ still holds its job, or if it ran: RQ deletes a finished job's
        # hash after its result_ttl, so on a long run the ledger is the only trace left.
        exists = [bool(held) or key in ran for held, key in zip(pipe.execute(), self.expected, strict=True)]
        v.enqueued = sum(exists)
        v.executed = sum(1 for k in ran if k in self.expected)
        v.duplicates = sum(n - 1 for n in ran.values() if n > 1)
        missing = [k for k, ok in zip(self.expected, exists, strict=True) if not ok]
        v.missing = len(missing)
        not_ran = [k for k in self.expected if k not in ran]
        v.not_executed = len(not_ran)
        statuses = [self.redis.hget(job_key(self.expected[k]), "status") for k in not_ran]
        v.worker_lost = sum(1 for k, st in zip(not_ran, statuses, strict=True) if self._taken(k, st))
        v.unexpected = sum(1 for k in ran if k not in self.expected and k not in ran_before)
        v.examples = [f"dup {k}" for k, n in ran.items() if n > 1][:5] + [f"missing {k}" for k in missing][:5]
        v.examples += [f"not executed {k}: {st!r}" for k, st in zip(not_ran, statuses, strict=True)][:5]
        v.gaps_s = failover_gaps(entries, faults)
        v.max_gap_s = max(v.gaps_s, default=0.0)
        v.max_lag_s = max_lag(entries, faults)
        problems, unended = check_history(self.redis, self.namespace, self.expected, list(ran.elements()),
                                          self._rq_status)  # fmt: skip
        v.history, v.rq_lost_end = len(problems), len(unended)
        v.examples += problems[:5] + unended[:5]
        return v


def fires_of(s: Schedule, end_us: int) -> list[int]:
    """Every nominal fire of `s` up to `end_us`, from the schedule maths."""
    out: list[int] = []
    cursor = next_after(s, to_us(s.start) - 1) if s.start else None
    if s.at is not None:
        cursor = to_us(s.at)
    while cursor is not None and (s.at is not None or cursor <= end_us):
        out.append(cursor)
        if s.at is not None:
            break
        cursor = next_after(s, cursor)
    return out


def enqueue_times(entries: list[dict[str, Any]]) -> list[float]:
    return sorted(datetime.fromisoformat(e["enqueued_at"]).timestamp() for e in entries if e["enqueued_at"])


def failover_gaps(entries: list[dict[str, Any]], faults: list[float]) -> list[float]:
    """For each fault: first enqueue after it minus last enqueue before it (seconds)."""
    times = enqueue_times(entries)
    gaps = []
    for t in faults:
        before = [x for x in times if x <= t]
        after = [x for x in times if x > t]
        if before and after:
            gaps.append(round(after[0] - before[-1], 3))
    return gaps


def max_lag(entries: list[dict[str, Any]], faults: list[float]) -> float:
    """The largest enqueue lag of fires not near a fault (fires on time, as seen by Redis's clock)."""
    worst = 0.0
    for e in entries:
        if not e["enqueued_at"] or not e["fire_time"]:
            continue
        fire = datetime.fromisoformat(e["fire_time"]).timestamp()
        if any(f - 1 <= fire <= f + 6 for f in faults):
            continue
        worst = max(worst, datetime.fromisoformat(e["enqueued_at"]).timestamp() - fire)
    return round(worst, 3)


def leader_of(cluster: Cluster, timeout: float = 15, exclude: str | None = None) -> str:
    return cluster.wait_leader(timeout=timeout, exclude=exclude)[0]


# Every scenario's verdict, for the summary table and JSON written at the end of the run.
VERDICTS: list[Verdict] = []


def soak_seconds() -> float:
    """`make chaos-soak DURATION=…` stretches the kill scenario to this many seconds."""
    return float(os.environ.get("HASCHED_CHAOS_DURATION", "0") or 0)


def assert_clean(v: Verdict, *, redis_died: bool = False) -> None:
    """Every expected fire enqueued exactly once and run exactly once. When Redis itself was
    killed, RQ may lose a job a worker was running (its status stays 'started'/'failed'): that
    is RQ's execution, after hasched's enqueue, and is allowed only then."""
    assert v.duplicates == v.missing == v.unexpected == v.history == 0, f"{v.row()}\n{v.examples}"
    assert v.expected > 0 and v.enqueued == v.expected
    lost = v.worker_lost if redis_died else 0
    assert v.not_executed == lost and v.executed == v.expected - lost, f"{v.row()}\n{v.examples}"
    assert v.rq_lost_end == 0 or redis_died, f"{v.row()}\n{v.examples}"


def revive_workers(cluster: Cluster) -> None:
    """RQ workers may exit when Redis vanishes, at once or only later (a worker that was running a
    job dies when it writes the job's end; an idle one backs off for longer and longer between
    reconnects): RQ's side, not the scheduler's. So after a Redis fault each worker is replaced by
    a fresh one, and the old one, if still alive, gets a warm shutdown (it finishes its job)."""
    old = [w for w in cluster.workers if w.popen is not None]
    for _ in old:
        cluster.start_worker()
    for w in old:
        w.stop()


LEASE_EVENTS = ("hasched.lease.acquired", "hasched.lease.lost", "hasched.lease.released")


def believes_it_leads(proc: Any) -> bool:
    """The instance's latest lease event is an acquisition (it has not logged losing it since)."""
    latest = [e["event"] for e in proc.events() if e["event"] in LEASE_EVENTS][-1:]
    return proc.alive() and latest == ["hasched.lease.acquired"]


def sole_leader(cluster: Cluster, timeout: float = 10) -> str:
    """Wait until exactly one instance believes it leads and it holds the lease in Redis."""

    def one() -> str | None:
        holder = cluster.leader()
        leading = [name for name, p in cluster.instances.items() if believes_it_leads(p)]
        return leading[0] if holder is not None and leading == [holder[0]] else None

    return str(wait_for(one, timeout=timeout))


def events(proc: Any, name: str) -> list[dict[str, Any]]:
    return [e for e in proc.events() if e["event"] == name]
