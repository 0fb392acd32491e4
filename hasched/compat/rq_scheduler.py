"""rq-scheduler's `Scheduler` on top of hasched: `from hasched.compat.rq_scheduler import Scheduler`.

The class keeps rq-scheduler's method names and arguments and stores hasched schedules in one
namespace (default `hasched`); `hasched run`, `hasched worker`, an embedded instance or this
class's own `run()` fire them. rq-scheduler's semantics (its cron dialect, its `repeat` count,
naive times meaning UTC) live in `hasched.compat._dialect`, shared with `hasched
import-rq-scheduler`. What behaves the same and what differs, and why: the README's table
("Coming from rq-scheduler").
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, overload

from redis import Redis
from rq.exceptions import TimeoutFormatError
from rq.utils import parse_timeout

from hasched._clock import redis_now_us
from hasched._model import Schedule, func_path
from hasched._records import Stored
from hasched._settings import DEFAULT_NAMESPACE
from hasched._store import Store
from hasched._triggers import US, from_us, to_us
from hasched.api import Scheduler as HaschedScheduler
from hasched.api import make
from hasched.compat._dialect import as_utc, check_exact_json, fires_of_repeat, host_timezone, to_hasched_cron
from hasched.compat._records import drop_record, run_instance, save_record
from hasched.errors import ValidationError

__all__ = ["ScheduledJob", "Scheduler"]

Func = str | Callable[..., Any]
# enqueue_at/enqueue_in keyword arguments that configure the job (rq-scheduler's name -> ours).
_JOB_OPTIONS = {
    "timeout": "timeout",
    "job_id": "id",
    "job_ttl": "ttl",
    "job_result_ttl": "result_ttl",
    "job_description": "description",
    "meta": "meta",
    "queue_name": "queue_name",
}
_UNSUPPORTED = ("depends_on", "on_success", "on_failure", "at_front")


# -- the drop-in ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class ScheduledJob:
    """What rq-scheduler's methods return (an RQ `Job` there): the attributes code written for
    rq-scheduler reads, taken from a hasched schedule. Two are equal when their ids are."""

    id: str
    func_name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    origin: str
    meta: dict[str, Any]
    timeout: int | None
    result_ttl: int | None
    ttl: int | None
    description: str | None
    schedule: Schedule
    next_fire: datetime | None  # None once finished, or while paused
    scheduler: Scheduler | None = field(default=None, repr=False)

    @classmethod
    def of(cls, stored: Stored, scheduler: Scheduler | None = None) -> ScheduledJob:
        """The job view of a stored schedule and its progress."""
        s, state = stored.schedule, stored.state
        left = None if s.repeat is None else max(s.repeat - state.n, 0)
        nxt = None if s.paused or state.next_us is None else from_us(state.next_us)
        return cls(s.id, s.func, tuple(s.args), dict(s.kwargs), s.queue, _meta(s, left), s.timeout,
                   s.result_ttl, s.ttl, s.description, s, nxt, scheduler)  # fmt: skip

    def cancel(self) -> None:
        """Cancel the schedule, as `scheduler.cancel(job)` does."""
        if self.scheduler is None:
            raise ValidationError("job", f"{self.id} was not returned by a Scheduler; use scheduler.cancel")
        self.scheduler.cancel(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScheduledJob) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


def _meta(s: Schedule, runs_left: int | None) -> dict[str, Any]:
    """The user's meta plus the keys rq-scheduler keeps there (interval, cron_string, repeat)."""
    meta = dict(s.meta)
    if s.every is not None:
        meta["interval"] = s.every
    if s.cron is not None:
        meta.update(cron_string=s.cron, use_local_timezone=s.timezone != "UTC")
    if runs_left is not None:
        meta["repeat"] = runs_left
    return meta


class Scheduler:
    """rq-scheduler's `Scheduler`, storing hasched schedules (differences: module docstring)."""

    def __init__(self, queue_name: str = "default", queue: Any = None, interval: float = 60,
                 connection: Redis | None = None, job_class: Any = None, queue_class: Any = None,
                 name: str | None = None, serializer: Any = None, *,
                 namespace: str = DEFAULT_NAMESPACE) -> None:  # fmt: skip
        if connection is None:
            raise ValidationError("connection", "is required")
        self.connection = connection
        self.queue_name: str = queue.name if queue is not None else queue_name
        self.name = name or uuid.uuid4().hex
        self.namespace = namespace
        self._api = HaschedScheduler(connection, namespace)
        self._store = Store(connection, namespace)

    # -- creating ------------------------------------------------------------------------------

    def enqueue_at(self, scheduled_time: datetime, func: Func, *args: Any, **kwargs: Any) -> ScheduledJob:
        """Run `func(*args, **kwargs)` once at `scheduled_time` (naive means UTC). rq-scheduler's
        job options (`timeout`, `job_id`, `job_ttl`, `job_result_ttl`, `job_description`, `meta`,
        `queue_name`) are taken out of `kwargs`."""
        options = _job_options(kwargs)
        return self._save({"at": as_utc("scheduled_time", scheduled_time)}, func, args, kwargs, **options)

    def enqueue_in(self, time_delta: timedelta, func: Func, *args: Any, **kwargs: Any) -> ScheduledJob:
        """Run `func(*args, **kwargs)` once, `time_delta` from now (Redis's clock); options as
        for `enqueue_at`."""
        options = _job_options(kwargs)
        if not isinstance(time_delta, timedelta):
            raise ValidationError("time_delta", f"must be a timedelta, got {time_delta!r}")
        return self._save({"at": self._now() + time_delta}, func, args, kwargs, **options)

    def schedule(self, scheduled_time: datetime, func: Func, args: Any = None, kwargs: Any = None,
                 interval: float | None = None, repeat: int | None = None, result_ttl: int | None = None,
                 ttl: int | None = None, timeout: Any = None, id: str | None = None,
                 description: str | None = None, queue_name: str | None = None, meta: Any = None,
                 depends_on: Any = None, on_success: Any = None, on_failure: Any = None,
                 at_front: Any = None) -> ScheduledJob:  # fmt: skip
        """Run `func` at `scheduled_time` (naive means UTC), then every `interval` seconds,
        `repeat` runs in total (None: forever). Without an interval it runs once."""
        _reject_unsupported(depends_on=depends_on, on_success=on_success, on_failure=on_failure,
                            at_front=at_front)  # fmt: skip
        when = as_utc("scheduled_time", scheduled_time)
        if not interval:  # rq-scheduler never reschedules a job with a zero interval
            if repeat:
                raise ValidationError("repeat", "needs an interval")
            trigger: dict[str, Any] = {"at": when}
        else:
            trigger = {"every": interval, "start": when, "repeat": _repeat(repeat)}
            result_ttl = -1 if result_ttl is None else result_ttl  # rq-scheduler's default
        return self._save(trigger, func, args, kwargs, id=id, queue_name=queue_name, timeout=timeout,
                          result_ttl=result_ttl, ttl=ttl, description=description, meta=meta)  # fmt: skip

    def cron(self, cron_string: str, func: Func, args: Any = None, kwargs: Any = None,
             repeat: int | None = None, queue_name: str | None = None, result_ttl: int | None = -1,
             ttl: int | None = None, id: str | None = None, timeout: Any = None,
             description: str | None = None, meta: Any = None, use_local_timezone: bool = False,
             depends_on: Any = None, on_success: Any = None, on_failure: Any = None,
             at_front: bool = False, *, timezone: str | None = None) -> ScheduledJob:  # fmt: skip
        """Run `func` at the times of `cron_string` (rq-scheduler's dialect) in UTC, or in this
        host's time zone with `use_local_timezone`, or in `timezone`; `repeat` runs in total."""
        _reject_unsupported(depends_on=depends_on, on_success=on_success, on_failure=on_failure,
                            at_front=at_front)  # fmt: skip
        zone = timezone or (_local_zone() if use_local_timezone else "UTC")
        trigger = {"cron": to_hasched_cron(cron_string), "timezone": zone, "repeat": _repeat(repeat)}
        return self._save(trigger, func, args, kwargs, id=id, queue_name=queue_name, timeout=timeout,
                          result_ttl=result_ttl, ttl=ttl, description=description, meta=meta)  # fmt: skip

    def _save(self, trigger: dict[str, Any], func: Func, args: Any, kwargs: Any, *,
              id: str | None = None, queue_name: str | None = None, timeout: Any = None,
              result_ttl: int | None = None, ttl: int | None = None, description: str | None = None,
              meta: Any = None) -> ScheduledJob:  # fmt: skip
        schedule = make(
            id=id or uuid.uuid4().hex,
            func=_target(func),
            args=args if args is not None else (),
            kwargs=kwargs if kwargs is not None else {},
            queue=queue_name or self.queue_name,
            timeout=_timeout(timeout),
            result_ttl=result_ttl,
            ttl=ttl,
            description=description,
            meta=meta if meta is not None else {},
            **trigger,
        )
        check_exact_json("args", list(schedule.args))
        check_exact_json("kwargs", dict(schedule.kwargs))
        check_exact_json("meta", dict(schedule.meta))
        self._api.add(schedule, replace=True)
        job = ScheduledJob.of(self._store.get_stored(schedule.id), self)
        save_record(self.connection, schedule, job.meta)
        return job

    # -- managing ------------------------------------------------------------------------------

    def cancel(self, job: Any) -> None:
        """Delete a schedule, given as a job from this class (or RQ) or as its id."""
        sid = _id_of(job)
        self._api.cancel(sid)
        drop_record(self.connection, sid)

    def __contains__(self, item: Any) -> bool:
        """Whether `item` (a job or an id) is a schedule that will still fire."""
        return self._pending(_id_of(item)) is not None

    def count(self, until: Any = None) -> int:
        """How many schedules fire next at or before `until`: a datetime (naive means UTC), a
        timedelta from now, unix seconds, or None for all."""
        return len(self._due_by(until))

    @overload
    def get_jobs(self, until: Any = None, with_times: Literal[False] = False, offset: int | None = None,
                 length: int | None = None) -> Iterator[ScheduledJob]: ...  # fmt: skip
    @overload
    def get_jobs(self, until: Any, with_times: Literal[True], offset: int | None = None,
                 length: int | None = None) -> Iterator[tuple[ScheduledJob, datetime]]: ...  # fmt: skip
    @overload
    def get_jobs(self, until: Any = None, *, with_times: Literal[True], offset: int | None = None,
                 length: int | None = None) -> Iterator[tuple[ScheduledJob, datetime]]: ...  # fmt: skip

    def get_jobs(self, until: Any = None, with_times: bool = False, offset: int | None = None,
                 length: int | None = None) -> Iterator[Any]:  # fmt: skip
        """The schedules that fire next at or before `until` (as for `count`), soonest first;
        with `with_times`, (job, next fire time) pairs. `offset` and `length` slice the result
        and go together; a negative `length` means to the end."""
        if (offset is None) != (length is None):
            raise ValidationError("offset" if offset is None else "length", "offset and length go together")
        due = self._due_by(until)
        if offset is not None and length is not None:
            due = due[offset:] if length < 0 else due[offset : offset + length]
        return iter(due) if with_times else iter([job for job, _ in due])

    def change_execution_time(self, job: Any, date_time: datetime) -> None:
        """Move the next run of a one-off or interval schedule to `date_time` (naive means UTC);
        an interval schedule then fires at `date_time + k * interval`, with the runs it had left."""
        stored = self._pending(_id_of(job))
        if stored is None:
            raise ValidationError("job", "is not in the scheduled jobs")
        s, when = stored.schedule, as_utc("date_time", date_time)
        if s.cron is not None:
            raise ValidationError("date_time", f"schedule {s.id} fires at its cron times; change its cron")
        if s.at is not None:
            changed = s.with_changes(at=when)
        else:
            left = None if s.repeat is None else s.repeat - stored.state.n
            changed = s.with_changes(start=when, repeat=left)
        self._api.add(changed, replace=True)

    def run(self, burst: bool = False) -> None:
        """rqscheduler's process, as a hasched instance in this one: lead when the lease is free
        and enqueue what is due, until SIGINT or SIGTERM (handlers installed only when called
        from the main thread, as rqscheduler's are). `burst`: one pass, then return."""
        run_instance(self.connection, self.namespace, burst=burst)

    # -- reading -------------------------------------------------------------------------------

    def _pending(self, sid: str) -> Stored | None:
        found = self._store.load_many([sid])[0]
        return found if isinstance(found, Stored) and _will_fire(found) else None

    def _due_by(self, until: Any) -> list[tuple[ScheduledJob, datetime]]:
        limit = self._until_us(until)
        due = [
            (ScheduledJob.of(x, self), from_us(x.state.next_us))
            for x in self._store.iter_all()
            if isinstance(x, Stored) and _will_fire(x) and x.state.next_us is not None
            and (limit is None or x.state.next_us <= limit)
        ]  # fmt: skip
        return sorted(due, key=lambda pair: (pair[1], pair[0].id))

    def _until_us(self, until: Any) -> int | None:
        if until is None:
            return None
        if isinstance(until, datetime):
            return to_us(as_utc("until", until))
        if isinstance(until, timedelta):
            return to_us(self._now() + until)
        if isinstance(until, int | float) and not isinstance(until, bool):
            return round(until * US)
        raise ValidationError("until", f"must be a datetime, a timedelta or unix seconds, got {until!r}")

    def _now(self) -> datetime:
        return from_us(redis_now_us(self.connection))


def _will_fire(stored: Stored) -> bool:
    return not stored.schedule.paused and stored.state.next_us is not None


def _job_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take rq-scheduler's job options out of enqueue_at/enqueue_in's keyword arguments."""
    _reject_unsupported(**{name: kwargs.pop(name, None) for name in _UNSUPPORTED})
    return {ours: kwargs.pop(theirs) for theirs, ours in _JOB_OPTIONS.items() if theirs in kwargs}


def _reject_unsupported(**values: Any) -> None:
    for name, value in values.items():
        if value:  # rq-scheduler's defaults are None or False
            raise ValidationError(name, "is not supported by hasched")


def _target(func: Any) -> str:
    """The dotted path of `func`; RQ would pickle a bound method's instance, hasched cannot."""
    if inspect.ismethod(func) and not inspect.isclass(func.__self__):
        raise ValidationError("func", f"{func!r} is bound to an instance; only importable functions run")
    return func_path(func)


def _timeout(value: Any) -> int | None:
    """RQ's timeout forms: whole seconds, or text such as "90", "10m", "1h"."""
    try:
        return parse_timeout(value)
    except (TimeoutFormatError, ValueError, TypeError):
        raise ValidationError("timeout", f"must be seconds or text such as '10m', got {value!r}") from None


def _repeat(repeat: Any) -> int | None:
    if isinstance(repeat, int) and not isinstance(repeat, bool) and repeat < 0:
        raise ValidationError("repeat", f"must be >= 0 (rq-scheduler would repeat forever), got {repeat}")
    return fires_of_repeat(repeat)


def _local_zone() -> str:
    zone = host_timezone()
    if zone is None:
        raise ValidationError("use_local_timezone", "this host's IANA zone cannot be told; pass timezone=")
    return zone


def _id_of(job: Any) -> str:
    """A schedule id from an id (str or bytes) or anything with an `id` (our jobs, RQ's)."""
    if isinstance(job, bytes):
        return job.decode()
    sid = job if isinstance(job, str) else getattr(job, "id", None)
    if not isinstance(sid, str):
        raise ValidationError("job", f"must be a job or a job id, got {job!r}")
    return sid
