"""One pass of the leader: find due schedules, plan their fires, commit them in batches.

A tick reads up to READ_SCHEDULES due schedules at once and commits them in batches of
BATCH_SCHEDULES, each one atomic, fenced script call. The batches are pipelined: the next one is
planned and sent while Redis runs the one before, so the leader's Python and Redis work at the
same time (bench/README.md: where a burst's time goes). The batches hold distinct schedules, so
none depends on another's outcome; a fenced one ends the tick.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis import Redis

from hasched._commit import Batch, Outcome
from hasched._defcache import Definitions
from hasched._faults import FaultHooks
from hasched._jobs import Templates
from hasched._overlap import needs_previous
from hasched._plan import plan
from hasched._records import Stored
from hasched._store import Store
from hasched._triggers import from_us
from hasched.errors import InvalidRecord

READ_SCHEDULES = 2000  # due schedules read per tick
BATCH_SCHEDULES = 250  # schedules per commit
IN_FLIGHT_COMMITS = 2  # commits sent before the oldest answer is read
SMALL_TICK_PARTS = 4  # commits a tick of fewer than 4 x BATCH_SCHEDULES is cut into
MIN_BATCH = 8  # schedules per commit at least (each commit costs a script call more)

_T = TypeVar("_T")


@dataclass(slots=True)
class TickReport:
    """Everything one tick did, for metrics and logs."""

    now_us: int
    outcome: Outcome = field(default_factory=Outcome)
    missed: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (count, first fire µs)
    invalid: list[InvalidRecord] = field(default_factory=list)
    full: bool = False  # as many as a tick reads were due: more may be due right now
    planned: int = 0  # fires the batches tried to enqueue


class Ticker:
    """Moves due fires into RQ for the leader. Holds only caches; Redis holds the state."""

    def __init__(self, store: Store, redis: Redis, faults: FaultHooks | None = None) -> None:
        self._store = store
        self._redis = redis
        self._faults = faults or FaultHooks()
        self._templates = Templates(redis)
        self._definitions = Definitions()

    def tick(self, lease_value: str, epoch: int, now_us: int) -> TickReport:
        """Plan and commit the due schedules at `now` (Redis time), up to READ_SCHEDULES."""
        report = TickReport(now_us)
        ids = self._store.due_ids(now_us, READ_SCHEDULES)
        report.full = len(ids) == READ_SCHEDULES
        loaded = self._store.load_many(ids, with_fires=False, definitions=self._definitions)
        live = [x for x in loaded if isinstance(x, Stored)]
        report.invalid = [x for x in loaded if isinstance(x, InvalidRecord)]
        if report.invalid:
            self._store.quarantine([e.schedule_id for e in report.invalid])
        last_jobs = self._last_jobs(live)
        with self._store.scripts.commits() as commits:
            sent: list[Batch] = []
            for part in _parts(live, batch_size(len(live))):
                batch = self._batch(part, lease_value, epoch, now_us, last_jobs, report)
                report.planned += len(batch.fires)
                self._faults.before_commit()
                commits.send(batch.keys, batch.args)
                sent.append(batch)
                if commits.pending >= IN_FLIGHT_COMMITS:
                    _merge(report.outcome, sent.pop(0).outcome(commits.receive()))
                if report.outcome.fenced:
                    break
            while commits.pending:
                _merge(report.outcome, sent.pop(0).outcome(commits.receive()))
        return report

    def _batch(self, part: list[Stored], lease_value: str, epoch: int, now_us: int,
               last_jobs: dict[str, Any], report: TickReport) -> Batch:  # fmt: skip
        batch = Batch(self._store.keys, lease_value, epoch, from_us(now_us))
        for stored in part:
            s = stored.schedule
            p = plan(s, stored.state, now_us)
            if p.missed and p.first_missed_us is not None:
                report.missed[s.id] = (p.missed, p.first_missed_us)
            batch.add(stored, p, self._templates.get(s), last_jobs.get(s.id))
        return batch

    def _last_jobs(self, live: list[Stored]) -> dict[str, Any]:
        ids = [x.schedule.id for x in live if needs_previous(x.schedule.overlap)]
        return dict(zip(ids, self._store.last_jobs(ids), strict=True)) if ids else {}


def batch_size(due: int) -> int:
    """Schedules per commit for a tick that read `due` schedules: BATCH_SCHEDULES, but a small
    tick is still cut into SMALL_TICK_PARTS commits of MIN_BATCH schedules at least, so that Redis
    runs one while the leader builds the next (one commit would have them take turns)."""
    return min(BATCH_SCHEDULES, max(MIN_BATCH, -(-due // SMALL_TICK_PARTS)))


def _parts(items: list[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _merge(into: Outcome, part: Outcome) -> None:
    """Add one batch's outcome to the tick's; a fenced batch makes the tick fenced."""
    into.fenced = into.fenced or part.fenced
    into.enqueued += part.enqueued
    into.claimed += part.claimed
    into.overlap += part.overlap
    into.waiting += part.waiting
    into.stale += part.stale
