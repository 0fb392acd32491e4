"""One pass of the leader: find due schedules, plan their fires, commit them in batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis import Redis

from hasched._commit import Batch, Outcome
from hasched._faults import FaultHooks
from hasched._jobs import Templates
from hasched._plan import plan
from hasched._store import Store, Stored
from hasched._triggers import from_us
from hasched.errors import InvalidRecord

BATCH_SCHEDULES = 500


@dataclass(slots=True)
class TickReport:
    """Everything one tick did, for metrics and logs."""

    now_us: int
    outcome: Outcome = field(default_factory=Outcome)
    missed: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (count, first fire µs)
    invalid: list[InvalidRecord] = field(default_factory=list)
    full: bool = False  # the batch was full: more may be due right now
    planned: int = 0  # fires the batch tried to enqueue


class Ticker:
    """Moves due fires into RQ for the leader. Holds only caches; Redis holds the state."""

    def __init__(self, store: Store, redis: Redis, faults: FaultHooks | None = None) -> None:
        self._store = store
        self._redis = redis
        self._faults = faults or FaultHooks()
        self._templates = Templates(redis)

    def tick(self, lease_value: str, epoch: int, now_us: int) -> TickReport:
        """Plan and commit one batch of due schedules at `now` (Redis time)."""
        report = TickReport(now_us)
        ids = self._store.due_ids(now_us, BATCH_SCHEDULES)
        report.full = len(ids) == BATCH_SCHEDULES
        loaded = self._store.load_many(ids, with_fires=False)  # the count is for status, not for ticks
        live = [x for x in loaded if isinstance(x, Stored)]
        report.invalid = [x for x in loaded if isinstance(x, InvalidRecord)]
        if report.invalid:
            self._store.quarantine([e.schedule_id for e in report.invalid])
        batch = Batch(self._store.keys, lease_value, epoch, from_us(now_us))
        last_jobs = self._last_jobs(live)
        for stored in live:
            p = plan(stored.schedule, stored.state, now_us)
            if p.missed and p.first_missed_us is not None:
                report.missed[stored.schedule.id] = (p.missed, p.first_missed_us)
            batch.add(stored, p, self._templates.get(stored.schedule), last_jobs.get(stored.schedule.id))
        report.planned = len(batch.fires)
        if batch.schedules:
            self._faults.before_commit()
            report.outcome = batch.outcome(self._store.scripts.commit(batch.keys, batch.args))
        return report

    def _last_jobs(self, live: list[Stored]) -> dict[str, Any]:
        ids = [x.schedule.id for x in live if x.schedule.overlap != "allow"]
        return dict(zip(ids, self._store.last_jobs(ids), strict=True)) if ids else {}
