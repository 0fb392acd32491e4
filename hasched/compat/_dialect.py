"""rq-scheduler's semantics, in one place: its cron dialect, its repeat count, naive times meaning
UTC, the host time zone its cron runs in, and which arguments survive the move from pickle to
JSON. Used by the drop-in class (`hasched.compat.rq_scheduler`) and the importer
(`hasched.compat._migrate`).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hasched.errors import ValidationError

_UTC_NAMES = frozenset({"UTC", "UCT", "Universal", "Zulu", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich"})


def as_utc(name: str, value: Any) -> datetime:
    """An aware datetime; a naive one means UTC, as in rq-scheduler."""
    if not isinstance(value, datetime):
        raise ValidationError(name, f"must be a datetime, got {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def fires_of_repeat(repeat: Any) -> int | None:
    """How many runs in total rq-scheduler makes of a job whose `meta['repeat']` is `repeat`.

    Its `enqueue_job` decrements the count at each run and stops rescheduling when it is 0, so
    the stored count is the runs left including the pending one: n >= 1 runs n times, 0 once,
    and a negative count never reaches 0 (forever: None, like no count at all).
    """
    if repeat is None:
        return None
    if isinstance(repeat, bool) or not isinstance(repeat, int):
        raise ValidationError("repeat", f"must be a whole number, got {repeat!r}")
    return None if repeat < 0 else max(repeat, 1)


def to_hasched_cron(expr: Any) -> str:
    """An rq-scheduler cron string in hasched's syntax; ValidationError(`cron_string`) if the two
    would read it differently.

    rq-scheduler parses with the `crontab` package: 6 fields end with a year (hasched reads 6
    fields as seconds first), 7 fields are seconds ... year, `?` means `*`, and a day matches
    only if day of month AND day of week match, where cron and hasched take either.
    """
    if not isinstance(expr, str):
        raise ValidationError("cron_string", f"must be a string, got {expr!r}")
    fields = expr.split()
    if len(fields) == 1 and fields[0].startswith("@"):
        return fields[0]  # @daily and friends mean the same in both
    if len(fields) in (6, 7):
        if fields[-1] not in ("*", "?"):
            raise ValidationError("cron_string", f"restricts the year ({fields[-1]!r}); hasched has no year")
        fields = fields[:-1]
    fields = ["*" if f == "?" else f for f in fields]
    if len(fields) >= 5 and fields[-3] != "*" and fields[-1] != "*":
        raise ValidationError(
            "cron_string",
            f"{expr!r} restricts both day of month and day of week: rq-scheduler fires when both "
            "match, hasched (like cron) when either does",
        )
    return " ".join(fields)


def check_exact_json(name: str, value: Any) -> None:
    """ValidationError(`name`) unless JSON gives `value` back unchanged: RQ pickles arguments,
    hasched stores JSON, where a tuple comes back a list and a set or datetime not at all."""
    try:
        back = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as e:
        raise ValidationError(name, f"must be JSON-serialisable ({e})") from None
    if back != value:
        raise ValidationError(name, "would change when stored as JSON (tuples become lists, keys strings)")


def host_timezone() -> str | None:
    """This host's local time zone as an IANA name ("UTC" for its aliases), or None.

    Looks where the C library does (TZ, /etc/localtime; Debian's /etc/timezone) and keeps a name
    only if its current UTC offset is the one this process really has.
    """
    local_offset = datetime.now().astimezone().utcoffset()
    for text in (os.environ.get("TZ"), os.path.realpath("/etc/localtime"), _read(Path("/etc/timezone"))):
        zone = _zone_name(text)
        if zone is not None and datetime.now(ZoneInfo(zone)).utcoffset() == local_offset:
            return zone
    return None


def _zone_name(text: str | None) -> str | None:
    name = (text or "").strip().lstrip(":")
    name = name.rpartition("zoneinfo/")[2] if "zoneinfo/" in name else name
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return "UTC" if name.removeprefix("Etc/") in _UTC_NAMES else name


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
