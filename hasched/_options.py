"""The keyword fields of the Python API, typed, and their conversion into `Schedule` fields.

`ScheduleOptions` lists what every creating method of `Scheduler` accepts, so an editor completes
the names and mypy rejects a misspelt one; `ScheduleChanges` adds what `Scheduler.update` may also
change. Durations are seconds or a `timedelta`, everywhere. Pure: no Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypedDict

from hasched._model import FIELD_NAMES, JOB_INT_OPTIONS, Catchup, Overlap, func_path
from hasched.errors import ValidationError

Func = str | Callable[..., Any]
Seconds = float | timedelta
# Fields given in seconds (fractions allowed), and the RQ job options in whole seconds.
SECONDS_FIELDS = ("every", "jitter", "catchup_window")
TRIGGER_FIELDS = ("at", "every", "cron")
_ONE_SECOND = timedelta(seconds=1)


class ScheduleOptions(TypedDict, total=False):
    """The optional fields of a schedule, as keyword arguments (all but the trigger)."""

    args: list[Any] | tuple[Any, ...]
    """Positional arguments of the job, JSON-serialisable."""
    kwargs: Mapping[str, Any]
    """Keyword arguments of the job, JSON-serialisable."""
    queue: str
    """The RQ queue the jobs go to (default "default")."""
    timezone: str
    """IANA time zone whose wall clock a cron expression matches (default "UTC")."""
    repeat: int | None
    """How many fire times in all, missed ones included (default: no limit)."""
    start: datetime | None
    """No fire before this aware datetime (an interval starts here; default: its creation)."""
    end: datetime | None
    """No fire after this aware datetime."""
    jitter: Seconds
    """Delay each fire by a fixed pseudo-random amount below this (default 0)."""
    catchup: Catchup
    """Overdue fires after an outage: "latest" (default), "all" or "skip"."""
    catchup_window: Seconds
    """Fires older than this are missed, whatever the policy (default one day)."""
    overlap: Overlap
    """What a fire does while the previous job is queued or running: "allow" (default), "skip",
    "buffer_one", "buffer_all", "cancel_other" or "terminate_other" (README: Overlap)."""
    paused: bool
    """Store the schedule paused."""
    pause_on_failure: bool
    """Pause the schedule when one of its runs fails, with a note naming the job (default False)."""
    history: int
    """How many run records to keep, 1 to 10,000 (default 100)."""
    timeout: int | timedelta | None
    """RQ job timeout, whole seconds (-1: none)."""
    result_ttl: int | timedelta | None
    """How long RQ keeps a result, whole seconds (-1: forever)."""
    ttl: int | timedelta | None
    """How long a job may wait in its queue, whole seconds (-1: forever)."""
    failure_ttl: int | timedelta | None
    """How long RQ keeps a failed job, whole seconds (-1: forever)."""
    description: str | None
    """The RQ job description."""
    meta: Mapping[str, Any]
    """Extra `job.meta` entries, JSON-serialisable."""


class ScheduleChanges(ScheduleOptions, total=False):
    """What `Scheduler.update` may change: the options, the function and the trigger."""

    func: Func
    """The job function, or its dotted path."""
    at: datetime
    """A one-off fire at this aware datetime (replaces the current trigger)."""
    every: Seconds
    """Fire every so many seconds (replaces the current trigger)."""
    cron: str
    """Fire at the times of this cron expression (replaces the current trigger)."""


def schedule_fields(given: Mapping[str, Any], schedule_id: Any = None) -> dict[str, Any]:
    """`Schedule` fields from API keywords: unknown names refused, durations in seconds,
    a function as its dotted path. Validation of the values is left to the Schedule."""
    sid = schedule_id if isinstance(schedule_id, str) else None
    unknown = sorted(set(given) - FIELD_NAMES)
    if unknown:
        raise ValidationError(unknown[0], "unknown field", schedule_id=sid)
    fields = dict(given)
    for name in SECONDS_FIELDS:
        if isinstance(fields.get(name), timedelta):
            fields[name] = fields[name].total_seconds()
    for name in JOB_INT_OPTIONS:
        if isinstance(fields.get(name), timedelta):
            fields[name] = whole_seconds(name, fields[name], sid)
    if isinstance(fields.get("args"), list):
        fields["args"] = tuple(fields["args"])
    if "func" in fields:
        fields["func"] = func_path(fields["func"])
    return fields


def whole_seconds(name: str, value: timedelta, schedule_id: str | None = None) -> int:
    """A timedelta of whole seconds as an int; a fraction is refused rather than rounded."""
    if value % _ONE_SECOND:
        raise ValidationError(name, f"must be whole seconds, got {value}", schedule_id=schedule_id)
    return value // _ONE_SECOND
