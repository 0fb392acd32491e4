"""Building one commit batch for `commit.lua` and reading its answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hasched._jobs import JobTemplate, iso_utc, job_key, queues_set_key, rq_prefixes, stamp
from hasched._keys import Keys
from hasched._model import Schedule
from hasched._overlap import needs_previous
from hasched._plan import Plan
from hasched._records import Stored, encode_state
from hasched._runs import Run
from hasched._triggers import to_us


@dataclass(frozen=True, slots=True)
class Fire:
    """One fire in a batch: which schedule, its nominal time, its queue and job id."""

    schedule_id: str
    fire_us: int
    due_us: int  # fire_us plus the fire's jitter
    queue: str
    job_id: str

    @property
    def fire_time(self) -> str:
        """The nominal fire time, ISO 8601 UTC."""
        return iso_utc(self.fire_us)


@dataclass(slots=True)
class Outcome:
    """What the commit did with each fire of the batch."""

    fenced: bool = False
    enqueued: list[Fire] = field(default_factory=list)
    claimed: list[Fire] = field(default_factory=list)
    overlap: list[Fire] = field(default_factory=list)
    waiting: list[Fire] = field(default_factory=list)  # buffered by the overlap policy
    stale: list[Fire] = field(default_factory=list)


def in_flight_prefix(s: Schedule) -> str:
    """What an in-flight entry holds before the run record: "id<TAB>queue<TAB>0|1<TAB>" (ids and
    queue names have no tab), the 1 meaning pause_on_failure."""
    return f"{s.id}\t{s.queue}\t{int(s.pause_on_failure)}\t"


class Batch:
    """KEYS and ARGV for one run of `commit.lua` (see its header for the layout)."""

    def __init__(self, keys: Keys, lease_value: str, epoch: int, now: datetime) -> None:
        self._keys = keys
        self.keys: list[str] = [
            keys.lease,
            keys.rev,
            keys.state,
            keys.due,
            keys.fires,
            keys.last_job,
            queues_set_key(),
            keys.out_of_order,
            keys.in_flight,
            keys.gaps,
        ]
        self._index: dict[str, int] = {}
        self._job_prefix = job_key("")  # RQ's job key is its prefix and the id
        self._head: list[Any] = [lease_value, to_us(now), stamp(now)]
        self._shapes: dict[int, int] = {}  # id(template.fields) -> its number in the batch
        self._shape_args: list[Any] = []
        self._templates: dict[int, int] = {}  # id(template) -> its number in the batch
        self._template_args: list[Any] = []
        self._args: list[Any] = []
        self._epoch = epoch
        self._now_us = to_us(now)
        self.fires: list[Fire] = []
        self.schedules = 0

    def _key(self, name: str) -> int:
        index = self._index.get(name)
        if index is None:
            self.keys.append(name)
            index = self._index[name] = len(self.keys)
        return index

    def _own_key(self, name: str) -> int:
        """A key no other schedule or fire of the batch names (its history, its job): no look-up."""
        self.keys.append(name)
        return len(self.keys)

    def _template(self, template: JobTemplate) -> int:
        number = self._templates.get(id(template))
        if number is None:
            number = self._templates[id(template)] = len(self._templates) + 1
            call = template.call
            self._template_args += [self._shape(template), len(call) // 2, *call]
        return number

    def _shape(self, template: JobTemplate) -> int:
        fields = template.fields
        number = self._shapes.get(id(fields))
        if number is None:
            number = self._shapes[id(fields)] = len(self._shapes) + 1
            self._shape_args += [self._key(template.queue_key), template.ttl, len(fields) // 2, *fields]
        return number

    def add(self, stored: Stored, plan: Plan, template: JobTemplate, last_job: str | None) -> None:
        """Add one schedule's planned fires and its advance."""
        s = stored.schedule
        overlap = -1  # allow: the script does not look at the previous job
        if needs_previous(s.overlap):
            overlap = self._key(job_key(last_job)) if last_job else 0
        due = "" if plan.due_us is None else plan.due_us
        number, mark = self._template(template), self._key(self._keys.mark(s.id))
        state = encode_state(plan.state)
        self._args += [s.id, stored.rev, state, due, overlap, number, mark, len(plan.fires)]
        runs, stats = self._own_key(self._keys.runs(s.id)), self._own_key(self._keys.stats(s.id))
        self._args += [runs, stats, s.history, in_flight_prefix(s), len(plan.stretches)]
        for m in plan.stretches:
            self._args += [m.reason, str(m.first_us), str(m.last_us), m.count]
        if overlap >= 0:
            k = self._keys
            self._args += [
                s.overlap,
                self._key(k.waiting(s.id)),
                self._key(k.waiting_set),
                self._key(k.stopping),
            ]
        for fire in plan.fires:
            fire_us = fire.fire_us
            job_id = self._keys.job_id(s.id, fire_us)
            legacy = self._own_key(self._keys.legacy_claim(s.id, fire_us))
            job = self._own_key(self._job_prefix + job_id)
            self._args += [str(fire_us), legacy, job, job_id, template.meta(s, fire_us, self._epoch)]
            run = Run(fire_us, "scheduled", self._epoch, self._now_us, "queued").encode()
            skipped = "" if overlap < 0 else Run(fire_us, "scheduled", self._epoch, None, "skipped").encode()
            self._args += [run, skipped]  # a fire of an overlap=allow schedule is never skipped
            self.fires.append(Fire(s.id, fire_us, fire.due_us, s.queue, job_id))
        self.schedules += 1

    @property
    def args(self) -> list[Any]:
        """ARGV (see the header of commit.lua)."""
        head, shapes, templates = self._head, self._shape_args, self._template_args
        return [
            *head,
            len(self._shapes),
            *shapes,
            len(self._templates),
            *templates,
            self.schedules,
            *self._args,
            *rq_prefixes(),
        ]

    def outcome(self, reply: str) -> Outcome:
        """Sort the batch's fires by the letter the script answered for each."""
        if reply == "F":
            return Outcome(fenced=True)
        out = Outcome()
        buckets = {"E": out.enqueued, "C": out.claimed, "O": out.overlap, "W": out.waiting, "S": out.stale}
        for fire, letter in zip(self.fires, reply, strict=True):
            buckets[letter].append(fire)
        return out
