"""How the pages write times, durations and values (Jinja filters). Pure: no Redis, no request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo


def when(value: datetime | None, zone: str | None = None) -> str:
    """A time as `2026-01-05 03:00:00 CET`, in `zone` (default UTC); "-" for none."""
    if value is None:
        return "-"
    return value.astimezone(ZoneInfo(zone) if zone else UTC).strftime("%Y-%m-%d %H:%M:%S %Z")


def as_time(value: str) -> datetime | None:
    """A stored ISO 8601 time (a schedule's start or end) as a datetime, for `when`."""
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def iso(value: datetime | None) -> str:
    """The machine-readable form, for <time datetime=...>."""
    return "" if value is None else value.astimezone(UTC).isoformat()


def relative(value: datetime | None, now: datetime) -> str:
    """`in 5 min` or `12 s ago`, to the second below a minute; "-" for none."""
    if value is None:
        return "-"
    seconds = (value - now).total_seconds()
    text = duration(abs(seconds))
    return f"in {text}" if seconds > 0 else f"{text} ago"


def duration(seconds: float) -> str:
    """A duration for people: `0.4 s`, `12 s`, `5 min`, `3 h 20 min`, `2 d 4 h`."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def seconds(value: float) -> str:
    """A stored number of seconds as set (`86400 s`), with its reading for people past a minute
    (`86400 s (1 d 0 h)`)."""
    text = f"{value:g} s"
    return text if value < 60 else f"{text} ({duration(value)})"


def as_json(value: Any) -> str:
    """A stored value (args, kwargs, meta) as compact JSON text; the template escapes it."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


FILTERS = {
    "when": when,
    "iso": iso,
    "relative": relative,
    "duration": duration,
    "seconds": seconds,
    "as_json": as_json,
    "as_time": as_time,
}
