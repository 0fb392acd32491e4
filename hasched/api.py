"""The Python API (README: Python API): `Scheduler`, for applications that manage their schedules."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Unpack

from redis import Redis

from hasched import _backfill, _codec, _history
from hasched._backfill import Backfilled
from hasched._bulk import DEFAULT_CHUNK, checked, save_many
from hasched._choices import ListState
from hasched._dedupe import retention_us
from hasched._keys import Keys
from hasched._model import Schedule, validate
from hasched._options import TRIGGER_FIELDS, Func, ScheduleChanges, ScheduleOptions, Seconds, schedule_fields
from hasched._plan import next_after
from hasched._query import Query, page
from hasched._records import Stored
from hasched._runs import Run
from hasched._scripts import Scripts
from hasched._settings import DEFAULT_NAMESPACE
from hasched._store import Store
from hasched._triggers import from_us, to_us
from hasched.errors import InvalidRecord, ValidationError

if TYPE_CHECKING:  # RQ is imported by the one call that enqueues (`trigger`): listing needs none of it
    from rq.job import Job

MAX_NOTE = 1024

__all__ = ["Backfilled", "Func", "ScheduleChanges", "ScheduleOptions", "Scheduler", "Seconds"]


class Scheduler:
    """Create and manage the schedules of one namespace.

    Every method validates its input completely before writing anything; bad input raises a
    `hasched.ValidationError` (a `HaschedError` and a `ValueError`) that names the field.
    The creating methods (`cron`, `every`, `at`, `enqueue_in`, `add`) take the optional fields
    of `ScheduleOptions` as keyword arguments and replace a schedule with the same id by default,
    so an application can declare its schedules at every start; a replace that keeps the fire
    times keeps the schedule's progress and never re-fires. Durations are seconds or a timedelta.
    """

    def __init__(self, connection: Redis, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.connection = connection
        self._store = Store(connection, namespace)

    @classmethod
    def from_url(cls, url: str, namespace: str = DEFAULT_NAMESPACE, **redis_kwargs: Any) -> Scheduler:
        """A Scheduler on `Redis.from_url(url, **redis_kwargs)` (redis://, rediss://, unix://)."""
        return cls(Redis.from_url(url, **redis_kwargs), namespace)

    # -- creating -----------------------------------------------------------------------------

    def add(self, schedule: Schedule, *, replace: bool = True) -> Schedule:
        """Store a schedule (create, or update when `replace`); returns it as stored."""
        return self._store.save(validate(schedule), replace=replace).schedule

    def add_many(self, schedules: Iterable[Schedule], *, replace: bool = True, chunk: int = DEFAULT_CHUNK,
                 progress: Callable[[int, int], None] | None = None) -> int:  # fmt: skip
        """Store many schedules (create, or update when `replace`, as `add` does), `chunk` per
        atomic write; returns how many were written. All of them are validated and checked
        against what is stored before anything is written: a bad one raises (ValidationError
        naming it, or ScheduleExists without `replace`) and nothing is written. Each chunk is
        written whole or not at all; `progress(done, total)` is called after each."""
        return save_many(self._store, checked(schedules), replace=replace, chunk=chunk, progress=progress)

    def cron(
        self, id: str, expr: str, func: Func, *, replace: bool = True, **options: Unpack[ScheduleOptions]
    ) -> Schedule:
        """A schedule firing at the times of a cron expression: 5 fields, or 6 with seconds first,
        matched against the wall clock of `timezone` (default UTC)."""
        return self.add(make(id=id, func=func, cron=expr, **options), replace=replace)

    def every(
        self,
        id: str,
        interval: Seconds,
        func: Func,
        *,
        replace: bool = True,
        **options: Unpack[ScheduleOptions],
    ) -> Schedule:
        """A schedule firing at start + k * interval (seconds or a timedelta, at least 0.01 s);
        `start` defaults to the creation time and is kept when the schedule is declared again."""
        return self.add(make(id=id, func=func, every=interval, **options), replace=replace)

    def at(
        self, id: str, when: datetime, func: Func, *, replace: bool = True, **options: Unpack[ScheduleOptions]
    ) -> Schedule:
        """A one-off fire at an aware datetime (in the past: fires at once, within catch-up)."""
        return self.add(make(id=id, func=func, at=when, **options), replace=replace)

    def enqueue_in(
        self, delay: timedelta, func: Func, *, id: str | None = None, **options: Unpack[ScheduleOptions]
    ) -> Schedule:
        """A one-off fire `delay` from now (Redis's clock). The id is generated unless given; an
        existing schedule with that id is refused (ScheduleExists)."""
        if not isinstance(delay, timedelta):
            raise ValidationError("delay", f"must be a timedelta, got {delay!r}")
        when = from_us(self._store.now_us() + delay // timedelta(microseconds=1))
        sid = id or f"once-{uuid.uuid4().hex}"
        return self.add(make(id=sid, func=func, at=when, **options), replace=False)

    def update(self, id: str, **changes: Unpack[ScheduleChanges]) -> Schedule:
        """Change some fields of schedule `id` and keep the rest; returns it as stored.

        While its fire times stay the same (trigger, timezone and start unchanged) it keeps its
        progress: nothing re-fires and nothing is skipped. Giving `at`, `every` or `cron`
        replaces the trigger, which then fires from its first fire time after now.
        """
        fields = schedule_fields(changes, id)
        if any(name in fields for name in TRIGGER_FIELDS):
            fields = {**dict.fromkeys(TRIGGER_FIELDS), **fields}  # one trigger replaces another
        return self._store.update(id, lambda old: old.with_changes(**fields)).schedule

    # -- managing ---------------------------------------------------------------------------

    def get(self, id: str) -> Schedule:
        """The stored schedule `id` (ScheduleNotFound if there is none)."""
        return self._store.get_stored(id).schedule

    def list(
        self,
        *,
        match: str | None = None,
        queue: str | None = None,
        state: ListState | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> builtins.list[Schedule]:
        """The readable stored schedules in id order; with no arguments, all of them.

        `match` is a glob on the id (`report-*`), `queue` an RQ queue name, `state` one of
        `active`, `paused`, `finished` (no fire left) or `failing` (its latest run failed).
        `limit` caps how many are returned and `after` starts after that id, so a caller pages
        with `after=page[-1].id`: each page costs O(page), however many schedules are stored.
        """
        query = Query(match=match, queue=queue, state=state, limit=limit, after=after)
        return [x.schedule for x in page(self._store, query).found]

    def pause(self, id: str, note: str | None = None) -> Schedule:
        """Stop firing `id` until resumed; `note` (who, why; at most 1024 characters) is shown
        wherever the pause is, until the resume."""
        if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
            raise ValidationError("note", f"must be text of at most {MAX_NOTE} characters", schedule_id=id)
        return self._store.set_paused(id, True, note).schedule

    def resume(self, id: str) -> Schedule:
        """Fire `id` again from now on; fires missed while paused are not enqueued."""
        return self._store.set_paused(id, False).schedule

    def cancel(self, id: str) -> bool:
        """Delete `id`; True if it existed. What it already enqueued is remembered for the
        retention (see the README's guarantees), so a re-created schedule never re-enqueues it."""
        return self._store.delete(id)

    def trigger(self, id: str) -> Job:
        """Enqueue one extra run of `id` now, outside its own fire times and repeat count.

        Returns the RQ job, as rq-scheduler does (`Job.fetch(job.id, connection)` finds it too).
        """
        s = self.get(id)
        keep = retention_us(s.catchup_window)
        now_us = self._store.scripts.trigger(s.id, self._store.now_us(), keep)  # recorded out of order
        return enqueue_trigger(self.connection, self._store.keys, s, now_us)

    def backfill(self, id: str, start: datetime, end: datetime, overlap: str | None = None, *,
                 dry_run: bool = False) -> Backfilled:  # fmt: skip
        """Enqueue the fire times of `id` in (start, end] that were not enqueued before, oldest
        first, whatever its catch-up policy and pause state (README: Backfill).

        `start` and `end` are aware datetimes, `end` not after now (Redis's clock). The fires
        go through the schedule's overlap policy, or `overlap` when given; each gets a run record
        of kind `backfill` and the job id a live fire would have. Running the same backfill again
        enqueues nothing. More than 100,000 fire times in the range is a ValidationError, with
        nothing written. Returns the fires enqueued (`.enqueued`), and those that wait, were
        skipped for overlap or were enqueued before; with `dry_run` nothing is written and
        `.enqueued` holds the fires it would enqueue (before overlap).
        """
        return _backfill.backfill(self._store, id, start, end, overlap, dry_run=dry_run)

    def history(self, id: str, n: int = 20) -> builtins.list[dict[str, Any]]:
        """The `n` newest run records of `id`, newest first (README: Runs and history).

        A run: `{"fire_time", "kind", "job_id", "epoch", "enqueued_at", "status", "started_at",
        "ended_at", "error"}`; a stretch of missed fires: `{"kind": "missed", "status": "missed",
        "first_fire_time", "last_fire_time", "count", "reason"}`. Times are ISO 8601 UTC or None.
        """
        return _history.history(self._store, id, n)

    def next_fire_times(self, id: str, n: int = 5, after: datetime | None = None) -> builtins.list[datetime]:
        """The next `n` nominal fire times of `id` strictly after `after` (default: now)."""
        return next_fire_times(self.get(id), n, after or from_us(self._store.now_us()))

    def describe(self, id: str) -> dict[str, Any]:
        """The schedule as JSON-ready fields plus `next_fire` and `fires` (for `show --json`), and
        what happened to its fires: `counters` ({enqueued, finished, failed, missed, skipped,
        triggered}), `last_success` (ISO or None), `last_failure` ({"time", "error", "job_id"} or
        None), `recent` (the 10 newest run records), `upcoming` (the next 10 fire times) and
        `pause_note` (None unless paused with a note)."""
        stored = self._store.get_stored(id)
        return {**describe(stored), **_history.summary(self._store, stored)}

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


def enqueue_trigger(connection: Redis, keys: Keys, s: Schedule, now_us: int) -> Job:
    """Enqueue the manual run of `s` recorded at `now_us`, with RQ's own code, count it and write
    its run record, in one MULTI (the job and its record exist together or not at all)."""
    from rq.queue import Queue

    from hasched._commit import in_flight_prefix
    from hasched._jobs import build_job, fire_meta

    job = build_job(s, keys.trigger_job_id(s.id, now_us), connection, fire_meta(s, now_us, epoch=0))
    pipe = connection.pipeline(transaction=True)
    Queue(s.queue, connection=connection).enqueue_job(job, pipeline=pipe)
    pipe.hincrby(keys.fires, s.id, 1)
    pipe.hset(keys.last_job, s.id, job.id)
    run = Run(now_us, "trigger", 0, now_us, "queued").encode()
    Scripts(connection, keys).trigger_run(pipe, s.id, job.id, run, in_flight_prefix(s), s.history)
    pipe.execute()
    return job


def make(*, id: str, func: Func, **fields: Any) -> Schedule:
    """A validated Schedule from keyword fields; unknown fields are named in the error."""
    return validate(Schedule(**schedule_fields({"id": id, "func": func, **fields}, id)))


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
    """A schedule as the JSON object of `schedule show --json` (README: Command line)."""
    data = _codec.to_dict(stored.schedule)
    nxt = stored.state.next_us
    data["next_fire"] = None if nxt is None or stored.schedule.paused else from_us(nxt).isoformat()
    data["fires"] = stored.fires
    return data
