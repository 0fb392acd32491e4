"""The Schedule value and its validation (README: Schedules). Pure: no Redis, no RQ."""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hasched._triggers import CronError, parse_cron
from hasched.errors import ValidationError

ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
FUNC_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
QUEUE_RE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
MAX_PAYLOAD_BYTES = 64 * 1024
MIN_EVERY = 0.01
DEFAULT_CATCHUP_WINDOW = 86400.0
DEFAULT_HISTORY = 100
MAX_HISTORY = 10_000
# Upper bounds that keep every computed time inside what datetimes and µs integers can hold.
MAX_SECONDS = 10 * 366 * 86400.0
MIN_YEAR, MAX_YEAR = 1970, 9000

Catchup = Literal["latest", "all", "skip"]
Overlap = Literal["allow", "skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other"]
CATCHUP_POLICIES: tuple[str, ...] = ("latest", "all", "skip")
OVERLAP_POLICIES: tuple[str, ...] = get_args(Overlap)
JOB_INT_OPTIONS = ("timeout", "result_ttl", "ttl", "failure_ttl")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A stored schedule: what to run (func, args, queue) and when (exactly one trigger)."""

    id: str
    func: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    queue: str = "default"
    at: datetime | None = None
    every: float | None = None
    cron: str | None = None
    timezone: str = "UTC"
    repeat: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    jitter: float = 0.0
    catchup: Catchup = "latest"
    catchup_window: float = DEFAULT_CATCHUP_WINDOW
    overlap: Overlap = "allow"
    paused: bool = False
    pause_on_failure: bool = False
    history: int = DEFAULT_HISTORY
    timeout: int | None = None
    result_ttl: int | None = None
    ttl: int | None = None
    failure_ttl: int | None = None
    description: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: str = "api"

    @property
    def trigger(self) -> str:
        """Which trigger this schedule uses: "at", "every" or "cron"."""
        if self.at is not None:
            return "at"
        return "every" if self.every is not None else "cron"

    def trigger_key(self) -> tuple[Any, ...]:
        """What decides the fire times; a replace that keeps it keeps the schedule's progress."""
        return (self.at, self.every, self.cron, self.timezone, self.start)

    def with_changes(self, **changes: Any) -> Schedule:
        """A validated copy with some fields changed."""
        return validate(replace(self, **changes))


FIELD_NAMES: frozenset[str] = frozenset(f.name for f in fields(Schedule))


def func_path(func: str | Callable[..., Any]) -> str:
    """The dotted path of a job function; the scheduler never imports it."""
    if isinstance(func, str):
        return func
    if inspect.ismethod(func):  # a worker would call Class.method without its instance
        raise ValidationError("func", f"{func!r} is a bound method; pass a module-level function")
    qualname = getattr(func, "__qualname__", "")
    module = getattr(func, "__module__", "")
    if not module or not qualname or "<" in qualname:
        raise ValidationError("func", f"{func!r} has no importable dotted path")
    return f"{module}.{qualname}"


def validate(s: Schedule, *, from_json: bool = False, payloads: bool = True) -> Schedule:
    """Check every field of a schedule; raise ValidationError naming the first bad one.

    `from_json`: the payloads (args, kwargs, meta) were just parsed from JSON, so re-serialising
    them to prove they are JSON is skipped (the leader decodes every due schedule on every tick).
    Without `payloads` they are not checked either: the caller encodes the record next
    (`hasched._codec.encode` proves them then, in the same `json.dumps`).
    """
    if not isinstance(s.id, str) or not ID_RE.fullmatch(s.id):
        raise ValidationError("id", f"must match [A-Za-z0-9_-]{{1,128}}, got {s.id!r}")
    checks = (_check_target, _check_trigger, _check_bounds, _check_policies, _check_job_opts)
    for check in checks if from_json or not payloads else (*checks, check_payloads):
        try:
            check(s)
        except ValidationError as e:
            raise ValidationError(e.field, e.message, schedule_id=s.id) from None
    return s


def _check_target(s: Schedule) -> None:
    if not isinstance(s.func, str) or not FUNC_RE.fullmatch(s.func):
        raise ValidationError("func", f"must be a dotted path like package.module.function, got {s.func!r}")
    if not isinstance(s.queue, str) or not QUEUE_RE.fullmatch(s.queue):
        raise ValidationError("queue", f"must match [A-Za-z0-9_.:-]{{1,128}}, got {s.queue!r}")
    if not isinstance(s.args, tuple | list):
        raise ValidationError("args", f"must be a list, got {type(s.args).__name__}")
    if not isinstance(s.kwargs, Mapping) or not all(isinstance(k, str) for k in s.kwargs):
        raise ValidationError("kwargs", "must be an object with string keys")
    if not isinstance(s.meta, Mapping):
        raise ValidationError("meta", "must be an object")


def check_payloads(s: Schedule) -> None:
    """The payloads are JSON and none is larger than MAX_PAYLOAD_BYTES (ValidationError naming it)."""
    _check_json("args", list(s.args))
    _check_json("kwargs", dict(s.kwargs))
    _check_json("meta", dict(s.meta))


def _check_json(name: str, value: Any) -> None:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as e:
        raise ValidationError(name, f"must be JSON-serialisable ({e})") from None
    if len(text) > MAX_PAYLOAD_BYTES:
        raise ValidationError(name, f"is {len(text)} bytes as JSON, more than {MAX_PAYLOAD_BYTES}")


def _check_trigger(s: Schedule) -> None:
    given = [n for n in ("at", "every", "cron") if getattr(s, n) is not None]
    if len(given) != 1:
        raise ValidationError("trigger", f"exactly one of at, every, cron is required, got {given or 'none'}")
    if s.at is not None:
        _check_aware("at", s.at)
        if s.repeat not in (None, 1):
            raise ValidationError("repeat", f"an 'at' schedule fires once, got repeat={s.repeat}")
    if s.every is not None and not (_is_finite(s.every) and MIN_EVERY <= s.every <= MAX_SECONDS):
        raise ValidationError(
            "every", f"must be seconds from {MIN_EVERY} to {MAX_SECONDS:.0f}, got {s.every!r}"
        )
    if s.cron is not None:
        _check_cron(s.cron)
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):  # OSError: "America", too long
        raise ValidationError("timezone", f"unknown IANA time zone {s.timezone!r}") from None


def _check_cron(expr: Any) -> None:
    if not isinstance(expr, str):
        raise ValidationError("cron", f"must be a string, got {expr!r}")
    try:
        parse_cron(expr)  # cached: the leader validates every due schedule
    except CronError as e:
        raise ValidationError("cron", str(e)) from None


def _check_bounds(s: Schedule) -> None:
    for name in ("start", "end"):
        value = getattr(s, name)
        if value is not None:
            _check_aware(name, value)
    if s.start is not None and s.end is not None and s.end <= s.start:
        raise ValidationError("end", f"must be after start ({s.start.isoformat()}), got {s.end.isoformat()}")
    if s.repeat is not None and (not _is_int(s.repeat) or s.repeat < 1):
        raise ValidationError("repeat", f"must be a whole number >= 1, got {s.repeat!r}")


def _check_policies(s: Schedule) -> None:
    if s.catchup not in CATCHUP_POLICIES:
        raise ValidationError("catchup", f"must be one of {', '.join(CATCHUP_POLICIES)}, got {s.catchup!r}")
    if s.overlap not in OVERLAP_POLICIES:
        raise ValidationError("overlap", f"must be one of {', '.join(OVERLAP_POLICIES)}, got {s.overlap!r}")
    if not _is_finite(s.catchup_window) or not 0 < s.catchup_window <= MAX_SECONDS:
        raise ValidationError(
            "catchup_window", f"must be seconds > 0 and <= {MAX_SECONDS:.0f}, got {s.catchup_window!r}"
        )
    if not _is_finite(s.jitter) or not 0 <= s.jitter <= MAX_SECONDS:
        raise ValidationError("jitter", f"must be seconds from 0 to {MAX_SECONDS:.0f}, got {s.jitter!r}")
    for name in ("paused", "pause_on_failure"):
        if not isinstance(getattr(s, name), bool):
            raise ValidationError(name, f"must be true or false, got {getattr(s, name)!r}")
    if not _is_int(s.history) or not 1 <= s.history <= MAX_HISTORY:
        raise ValidationError("history", f"must be a whole number from 1 to {MAX_HISTORY}, got {s.history!r}")
    if not isinstance(s.source, str) or not ID_RE.fullmatch(s.source):
        raise ValidationError("source", f"must match [A-Za-z0-9_-]{{1,128}}, got {s.source!r}")


def _check_job_opts(s: Schedule) -> None:
    for name in JOB_INT_OPTIONS:
        value = getattr(s, name)
        if value is not None and (not _is_int(value) or (value < 1 and value != -1)):
            raise ValidationError(name, f"must be a whole number of seconds >= 1 (or -1), got {value!r}")
    if s.description is not None and (not isinstance(s.description, str) or len(s.description) > 1024):
        raise ValidationError("description", "must be a string of at most 1024 characters")


def check_aware(name: str, value: Any) -> None:
    """ValidationError naming `name` unless `value` is an aware datetime within the years allowed."""
    _check_aware(name, value)


def _check_aware(name: str, value: Any) -> None:
    if not isinstance(value, datetime):
        raise ValidationError(name, f"must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(name, f"must be timezone-aware, got naive {value.isoformat()}")
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(
            name, f"must be between the years {MIN_YEAR} and {MAX_YEAR}, got {value.isoformat()}"
        )


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_finite(v: Any) -> bool:
    """A number (not a bool) that is finite as a float (an int too big for a float is not)."""
    try:
        return _is_number(v) and math.isfinite(v)
    except OverflowError:
        return False


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_datetime(name: str, text: str) -> datetime:
    """An aware datetime from ISO 8601 text (a trailing Z means UTC); naive input is an error."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        raise ValidationError(name, f"not an ISO 8601 datetime: {text!r}") from None
    _check_aware(name, value)
    return value
