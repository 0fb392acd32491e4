"""The Python API (SPEC 5): `Scheduler`, for applications that manage their schedules."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from rq.queue import Queue

from hasched import _codec
from hasched._dedupe import retention_us
from hasched._jobs import build_job, fire_meta
from hasched._model import FIELD_NAMES, Schedule, func_path, validate
from hasched._plan import next_after
from hasched._settings import DEFAULT_NAMESPACE
from hasched._store import Store, Stored
from hasched._triggers import from_us, to_us
from hasched.errors import InvalidRecord, ValidationError

Func = str | Callable[..., Any]


class Scheduler:
    """Create and manage the schedules of one namespace.

    Every method validates its input completely before writing anything; bad input raises a
    `hasched.ValidationError` (a `HaschedError` and a `ValueError`) that names the field.
    The creating methods (`cron`, `every`, `at`, `enqueue_in`, `add`) replace a schedule with the
    same id by default, so an application can declare its schedules at every start; a replace
    that keeps the fire times keeps the schedule's progress and never re-fires.
    """

    def __init__(self, connection: Redis, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.connection = connection
        self._store = Store(connection, namespace)

    # -- creating -----------------------------------------------------------------------------

    def add(self, schedule: Schedule, *, replace: bool = True) -> Schedule:
        """Store a schedule (create, or update when `replace`); returns it as stored."""
        return self._store.save(validate(schedule), replace=replace).schedule

    def cron(self, id: str, expr: str, func: Func, *, replace: bool = True, **fields: Any) -> Schedule:
        """A schedule firing at the times of a 5- or 6-field (seconds first) cron expression."""
        return self.add(make(id=id, func=func, cron=expr, **fields), replace=replace)

    def every(self, id: str, seconds: float, func: Func, *, replace: bool = True, **fields: Any) -> Schedule:
        """A schedule firing at start + k * seconds (start defaults to the creation time)."""
        return self.add(make(id=id, func=func, every=seconds, **fields), replace=replace)

    def at(self, id: str, when: datetime, func: Func, *, replace: bool = True, **fields: Any) -> Schedule:
        """A one-off fire at an aware datetime (in the past: fires at once, within catch-up)."""
        return self.add(make(id=id, func=func, at=when, **fields), replace=replace)

    def enqueue_in(self, delay: timedelta, func: Func, **fields: Any) -> Schedule:
        """A one-off fire `delay` from now (Redis's clock); the id is generated unless given."""
        if not isinstance(delay, timedelta):
            raise ValidationError("delay", f"must be a timedelta, got {delay!r}")
        sid = fields.pop("id", None) or f"once-{uuid.uuid4().hex}"
        when = from_us(self._store.now_us() + delay // timedelta(microseconds=1))
        return self.add(make(id=sid, func=func, at=when, **fields), replace=False)

    # -- managing ---------------------------------------------------------------------------

    def get(self, id: str) -> Schedule:
        """The stored schedule `id` (ScheduleNotFound if there is none)."""
        return self._store.get_stored(id).schedule

    def list(self) -> list[Schedule]:
        """Every readable stored schedule, sorted by id."""
        found = [x.schedule for x in self._store.iter_all() if isinstance(x, Stored)]
        return sorted(found, key=lambda s: s.id)

    def pause(self, id: str) -> Schedule:
        """Stop firing `id` until resumed."""
        return self._store.set_paused(id, True).schedule

    def resume(self, id: str) -> Schedule:
        """Fire `id` again from now on; fires missed while paused are not enqueued."""
        return self._store.set_paused(id, False).schedule

    def cancel(self, id: str) -> bool:
        """Delete `id`; True if it existed. Its claim markers stay, so a re-created schedule
        never re-enqueues a fire that was already enqueued."""
        return self._store.delete(id)

    def trigger(self, id: str) -> str:
        """Enqueue one extra run of `id` now, outside its own fire times and repeat count.
        Returns the RQ job id."""
        s = self.get(id)
        keep = retention_us(s.catchup_window)
        now_us = self._store.scripts.trigger(s.id, self._store.now_us(), keep)  # recorded out of order
        keys = self._store.keys
        job_id = keys.trigger_job_id(s.id, now_us)
        job = build_job(s, job_id, self.connection, fire_meta(s, now_us, epoch=0))
        pipe = self.connection.pipeline(transaction=True)
        Queue(s.queue, connection=self.connection).enqueue_job(job, pipeline=pipe)
        pipe.hincrby(keys.fires, s.id, 1)
        pipe.hset(keys.last_job, s.id, job_id)
        pipe.execute()
        return job_id

    def next_fire_times(self, id: str, n: int = 5, after: datetime | None = None) -> builtins.list[datetime]:
        """The next `n` nominal fire times of `id` strictly after `after` (default: now)."""
        return next_fire_times(self.get(id), n, after or from_us(self._store.now_us()))

    def describe(self, id: str) -> dict[str, Any]:
        """The schedule as JSON-ready fields plus `next_fire` and `fires` (for `show --json`)."""
        return describe(self._store.get_stored(id))

    def describe_all(self) -> tuple[builtins.list[dict[str, Any]], builtins.list[InvalidRecord]]:
        """Every stored schedule described, and the unreadable ones."""
        good: builtins.list[dict[str, Any]] = []
        bad: builtins.list[InvalidRecord] = []
        for x in self._store.iter_all():
            if isinstance(x, Stored):
                good.append(describe(x))
            else:
                bad.append(x)
        return sorted(good, key=lambda d: str(d["id"])), bad


def make(*, id: str, func: Func, **fields: Any) -> Schedule:
    """A validated Schedule from keyword fields; unknown fields are named in the error."""
    unknown = sorted(set(fields) - FIELD_NAMES)
    if unknown:
        raise ValidationError(unknown[0], "unknown field", schedule_id=id if isinstance(id, str) else None)
    if isinstance(fields.get("args"), list):
        fields["args"] = tuple(fields["args"])
    return validate(Schedule(id=id, func=func_path(func), **fields))


def next_fire_times(s: Schedule, n: int, after: datetime) -> list[datetime]:
    """The next `n` nominal fire times of `s` strictly after `after` (repeat is not applied)."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10_000:
        raise ValidationError("n", f"must be a whole number from 1 to 10000, got {n!r}")
    out: list[datetime] = []
    cursor: int | None = to_us(after)
    while len(out) < n:
        cursor = next_after(s, cursor) if cursor is not None else None
        if cursor is None:
            break
        out.append(from_us(cursor))
    return out


def describe(stored: Stored) -> dict[str, Any]:
    """SPEC 4's JSON object of a schedule."""
    data = _codec.to_dict(stored.schedule)
    nxt = stored.state.next_us
    data["next_fire"] = None if nxt is None or stored.schedule.paused else from_us(nxt).isoformat()
    data["fires"] = stored.fires
    return data
