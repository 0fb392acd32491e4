"""Pure trigger arithmetic: cron with DST semantics, fixed intervals, jitter.

Nothing here touches Redis or RQ, so every function is deterministic and cheap to test.

Cron syntax accepted by :func:`parse_cron`
------------------------------------------
* 5 fields ``minute hour day-of-month month day-of-week`` or 6 fields with the
  SECONDS FIRST: ``second minute hour day-of-month month day-of-week``.
* Each field is a comma list of ``*``, ``*/n``, ``a``, ``a-b`` or ``a-b/n``. Ranges
  are second 0-59, minute 0-59, hour 0-23, day of month 1-31, month 1-12 (or
  ``jan``-``dec``), day of week 0-7 (0 and 7 are Sunday, or ``sun``-``sat``); names
  are case-insensitive. A step must be between 1 and the size of the field's range,
  and a range must not run backwards (``sat-sun`` is rejected: write ``sat,sun``).
* The aliases ``@yearly``/``@annually``, ``@monthly``, ``@weekly``,
  ``@daily``/``@midnight`` and ``@hourly`` are accepted and mean the usual 5-field
  expressions.
* Rejected on purpose: croniter's extensions ``L``, ``W``, ``#``, ``?``, ``H``
  (hashed), ``a/n`` without a range, year fields, ``@reboot`` and 6-field
  expressions with seconds LAST. They are either ambiguous across cron dialects or
  have no well-defined meaning across DST changes.
* When both day of month and day of week are restricted, a day matches if EITHER
  matches; this is croniter's rule, which counts ``*/2`` as restricted (Vixie cron
  would not). Expressions that can never fire (``0 0 30 2 *``) fail at parse time.

DST semantics of :func:`next_cron` (Vixie cron)
-----------------------------------------------
Fields match the local wall clock of the schedule's time zone.

* Local times skipped by a spring-forward change fire once, at the instant of the
  change; several skipped matches (and a real match at that same instant) collapse
  into that single fire.
* Local times repeated by a fall-back change fire once, in the first pass, if the
  hour field is fixed (does not start with ``*``); in both passes, in instant order,
  if the hour field starts with ``*``.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from croniter import croniter


__all__ = [
    "EPOCH",
    "US",
    "CronError",
    "CronSpec",
    "from_us",
    "jitter_us",
    "next_cron",
    "next_every",
    "parse_cron",
    "to_us",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000  # microseconds per second: every stored or computed time is integer µs
_ONE_US = timedelta(microseconds=1)
_ONE_S = timedelta(seconds=1)


class CronError(ValueError):
    """A cron expression is invalid; ``field`` names the offending part.

    ``field`` is one of 'second', 'minute', 'hour', 'day of month', 'month',
    'day of week' or 'expression' (for problems not tied to one field).
    """

    def __init__(self, message: str, field: str = "expression") -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: tuple[str, ...] = ()  # names[i] means the value names_base + i
    names_base: int = 0


_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_SECOND = _Field("second", 0, 59)
_FIELDS_5 = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES, 1),
    _Field("day of week", 0, 7, _DOW_NAMES, 0),
)
_FIELDS_6 = (_SECOND, *_FIELDS_5)
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Longest month per month number; Feb 29 exists in leap years, so it is satisfiable.
_MAX_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_EXTENSION_CHARS = frozenset("LW#?H")


class _Syntax(Exception):
    """Internal: why one field failed; parse_cron adds the field name and text."""


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A validated cron expression; build it with :func:`parse_cron`.

    ``fields`` are the (lower-cased) fields handed to croniter, ``has_seconds`` is
    true for the 6-field seconds-first form, and ``wildcard_hour`` is true when the
    hour field starts with ``*`` (such schedules fire in both passes of a repeated
    hour).
    """

    expr: str
    fields: tuple[str, ...]
    has_seconds: bool
    wildcard_hour: bool

    @property
    def croniter_expr(self) -> str:
        """The expression in the form croniter expects (with ``second_at_beginning``)."""
        return " ".join(self.fields)


def parse_cron(expr: str) -> CronSpec:
    """Validate a 5-field or 6-field (seconds first) cron expression.

    Raises :class:`CronError` naming the bad field and value, e.g.
    ``bad minute field "61"`` or ``expected 5 or 6 fields, got 3``. Specs are cached: the
    leader validates and plans every due schedule on every tick.
    """
    return _parse_cron(expr)


@lru_cache(maxsize=4096)
def _parse_cron(expr: str) -> CronSpec:
    fields = _split(expr)
    layout = _FIELDS_6 if len(fields) == 6 else _FIELDS_5
    values = [_parse_field(text, field) for text, field in zip(fields, layout, strict=True)]
    spec = CronSpec(
        expr=expr,
        fields=tuple(text.lower() for text in fields),
        has_seconds=len(fields) == 6,
        wildcard_hour=fields[-4].startswith("*"),
    )
    _check_croniter(spec, needs_trial=not _has_possible_day(values[-3], values[-2]))
    return spec


def _split(expr: str) -> tuple[str, ...]:
    words = expr.split()
    if len(words) == 1 and words[0].startswith("@"):
        if words[0].lower() not in _ALIASES:
            raise CronError(f'unknown cron alias "{words[0]}"')
        words = _ALIASES[words[0].lower()].split()
    if len(words) not in (5, 6):
        raise CronError(f"expected 5 or 6 fields, got {len(words)}")
    return tuple(words)


def _parse_field(text: str, field: _Field) -> frozenset[int]:
    try:
        return frozenset(v for item in text.split(",") for v in _parse_item(item, field))
    except _Syntax as exc:
        raise CronError(f'bad {field.name} field "{text}" ({exc})', field.name) from None


def _parse_item(item: str, field: _Field) -> range:
    base, slash, step_text = item.partition("/")
    step = _parse_step(step_text, field) if slash else 1
    if base == "*":
        return range(field.lo, field.hi + 1, step)
    if "-" in base:
        first_text, _, last_text = base.partition("-")
        first, last = _parse_value(first_text, field), _parse_value(last_text, field)
        if first > last:
            raise _Syntax(f'range "{base}" runs backwards')
        return range(first, last + 1, step)
    if slash:
        raise _Syntax('a step needs "*" or a range before "/"')
    value = _parse_value(base, field)
    return range(value, value + 1)


def _parse_step(text: str, field: _Field) -> int:
    # A step wider than the range (e.g. */90 minutes) can only fire at the range start,
    # which is almost certainly not what the author meant.
    span = field.hi - field.lo + 1
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= span:
        raise _Syntax(f'step "{text}" is not a number from 1 to {span}')
    return int(text)


def _parse_value(text: str, field: _Field) -> int:
    if text.isascii() and text.isdigit():
        value = int(text)
        if not field.lo <= value <= field.hi:
            raise _Syntax(f"{value} is outside {field.lo}-{field.hi}")
        return value
    if text.lower() in field.names:
        return field.names_base + field.names.index(text.lower())
    if not text:
        raise _Syntax("empty value")
    hint = ""
    if _EXTENSION_CHARS & set(text.upper()):
        hint = "; the L, W, #, ? and H extensions are not supported"
    kind = "a number or a name" if field.names else "a number"
    raise _Syntax(f'"{text}" is not {kind}{hint}')


def _has_possible_day(days: frozenset[int], months: frozenset[int]) -> bool:
    return any(day <= _MAX_DAYS[month] for month in months for day in days)


def _check_croniter(spec: CronSpec, needs_trial: bool) -> None:
    """Make sure croniter accepts the expression and, if needed, that it can ever fire."""
    from croniter import CroniterError, croniter  # imported when first used: the CLI starts faster

    try:
        it = croniter(spec.croniter_expr, EPOCH, second_at_beginning=spec.has_seconds)
        if needs_trial:
            # No (day, month) pair exists, so only croniter's day-of-week OR rule can
            # save the expression; ask croniter rather than re-deriving that rule.
            it.get_next(datetime)
    except CroniterError as exc:
        if needs_trial:
            day, month = spec.fields[-3], spec.fields[-2]
            message = f'bad day of month field "{day}" (no such day in month field "{month}")'
            raise CronError(message, "day of month") from None
        raise CronError(f'croniter rejects "{spec.expr}": {exc}') from None


# --------------------------------------------------------------------------- cron times


def next_cron(spec: CronSpec, tz: ZoneInfo, after: datetime) -> datetime:
    """The first fire time of ``spec`` strictly after ``after`` (aware, any zone).

    Fields match local wall-clock time in ``tz`` with Vixie-cron DST semantics (see
    the module docstring). Returns an aware datetime in UTC. Raises ValueError if
    ``after`` is naive and CronError if no fire time is representable.
    """
    now = _aware_utc(after)
    wall = now.astimezone(tz).replace(tzinfo=None, fold=0)
    early, late = _wall_to_utc(wall, tz, 0), _wall_to_utc(wall, tz, 1)
    if early >= late:
        # `wall` is unambiguous (a real instant's wall time is never in a gap), and
        # the first-instant mapping is monotonic in wall time: one candidate suffices.
        return _first_instant(_candidate(spec, wall), tz)
    change = _transition(tz, early, late)
    fold_start = change.astimezone(tz).replace(tzinfo=None, fold=0)
    if now < change:
        return _next_in_first_pass(spec, tz, wall, fold_start)
    return _next_in_second_pass(spec, tz, wall, fold_start + (late - early))


def _next_in_first_pass(spec: CronSpec, tz: ZoneInfo, wall: datetime, fold_start: datetime) -> datetime:
    """`wall` is in a repeated hour and `now` in its first pass."""
    best = _first_instant(_candidate(spec, wall), tz)
    if spec.wildcard_hour:
        # The earliest match in the repeated hour that already fired in the first pass
        # fires again in the second pass, possibly before `best`.
        repeat = _candidate(spec, fold_start - _ONE_S)
        if repeat <= wall:
            best = min(best, _wall_to_utc(repeat, tz, 1))
    return best


def _next_in_second_pass(spec: CronSpec, tz: ZoneInfo, wall: datetime, fold_end: datetime) -> datetime:
    """`wall` is in a repeated hour and `now` in its second pass."""
    candidate = _candidate(spec, wall)
    if candidate < fold_end:
        if spec.wildcard_hour:
            return _wall_to_utc(candidate, tz, 1)
        # Fixed hours fired in the first pass only; skip the rest of the repeat.
        candidate = _candidate(spec, fold_end - _ONE_S)
    return _first_instant(candidate, tz)


def _first_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first (or only) UTC instant a naive wall time fires at."""
    early, late = _wall_to_utc(wall, tz, 0), _wall_to_utc(wall, tz, 1)
    if early <= late:
        return early
    # fold=0 reads a skipped time with the old offset and fold=1 with the new one, so
    # they bracket the change, which is where a skipped time fires.
    return _transition(tz, late, early)


def _wall_to_utc(wall: datetime, tz: ZoneInfo, fold: int) -> datetime:
    return wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)


def _transition(tz: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The instant in (before, after] where tz's UTC offset changes.

    tz data only changes offsets on whole seconds, so a bisection over seconds is exact.
    """
    lo = (before - EPOCH) // _ONE_S
    hi = -((EPOCH - after) // _ONE_S)
    old = _offset_at(tz, lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_at(tz, mid) == old:
            lo = mid
        else:
            hi = mid
    return EPOCH + timedelta(seconds=hi)


def _offset_at(tz: ZoneInfo, seconds: int) -> timedelta | None:
    return (EPOCH + timedelta(seconds=seconds)).astimezone(tz).utcoffset()


class _Iterators(threading.local):
    # Building a croniter re-parses the expression (~100 us); reusing one is ~5x
    # cheaper on the hot path. They are stateful, hence one set per thread.
    def __init__(self) -> None:
        self.by_spec: dict[CronSpec, croniter[float]] = {}


_ITERATORS = _Iterators()
_MAX_CACHED = 512


def _candidate(spec: CronSpec, start: datetime) -> datetime:
    """The first naive wall time matching ``spec`` strictly after naive ``start``."""
    from croniter import CroniterError, croniter

    cache = _ITERATORS.by_spec
    it = cache.get(spec)
    if it is None:
        if len(cache) >= _MAX_CACHED:
            cache.clear()
        it = croniter(spec.croniter_expr, start, second_at_beginning=spec.has_seconds)
        cache[spec] = it
    try:
        return it.get_next(datetime, start.replace(microsecond=0, fold=0))
    except (CroniterError, OverflowError, ValueError) as exc:
        # croniter bounds its own search (max_years_between_matches) and fails past 9999.
        raise CronError(f'"{spec.expr}" has no fire time after {start}: {exc}') from None


# --------------------------------------------------------------------------- intervals


def next_every(start_us: int, every_us: int, after_us: int) -> int:
    """Smallest ``start_us + k * every_us`` (integer k >= 0) strictly greater than ``after_us``.

    Pure integer arithmetic on microseconds since the epoch, so it never drifts.
    """
    if every_us < 1:
        raise ValueError(f"every_us must be >= 1, got {every_us}")
    if after_us < start_us:
        return start_us
    return start_us + ((after_us - start_us) // every_us + 1) * every_us


def jitter_us(schedule_id: str, fire_us: int, jitter_s: float, gap_us: int | None) -> int:
    """Deterministic delay in ``[0, jitter)`` microseconds for one fire of one schedule.

    Derived from sha256 of the schedule id and fire time, so every host agrees. If
    ``gap_us`` (time to the next nominal fire) is given, the delay is also below it,
    so a delayed fire still happens before the next one. Returns 0 when there is no
    room for a delay.
    """
    if not math.isfinite(jitter_s) or jitter_s < 0:
        raise ValueError(f"jitter_s must be a finite number >= 0, got {jitter_s}")
    bound = math.floor(jitter_s * US)
    if gap_us is not None:
        bound = min(bound, gap_us)
    if bound <= 0:
        return 0
    digest = hashlib.sha256(f"{fire_us}\x00{schedule_id}".encode()).digest()
    # A 64-bit fraction scaled by integer maths: exact, uniform enough, always < bound.
    return (int.from_bytes(digest[:8], "big") * bound) >> 64


# --------------------------------------------------------------------------- conversions


def to_us(dt: datetime) -> int:
    """Exact integer microseconds since the Unix epoch of an aware datetime."""
    return (_aware_utc(dt) - EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    """The aware UTC datetime for integer microseconds since the Unix epoch (exact)."""
    return EPOCH + timedelta(microseconds=us)


def _aware_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {dt!r}")
    return dt.astimezone(UTC)
