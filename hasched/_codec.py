"""Schedules to and from their stored JSON form, with a schema version."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hasched._model import FIELD_NAMES, Schedule, parse_datetime, validate
from hasched.errors import HaschedError, InvalidRecord, ValidationError

SCHEMA_VERSION = 1
_DATETIME_FIELDS = ("at", "start", "end")
_SCHEMA_KEY = "v"


def to_dict(s: Schedule) -> dict[str, Any]:
    """A schedule as a JSON-ready dict with the README's field names, datetimes as ISO 8601."""
    out: dict[str, Any] = {}
    for name in sorted(FIELD_NAMES):
        value = getattr(s, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        elif name in ("kwargs", "meta"):
            value = dict(value)
        out[name] = value
    return out


def encode(s: Schedule) -> str:
    """The stored JSON record of a schedule."""
    return json.dumps({_SCHEMA_KEY: SCHEMA_VERSION, **to_dict(s)}, separators=(",", ":"))


def from_dict(data: dict[str, Any], *, from_json: bool = False) -> Schedule:
    """A validated schedule from a dict of the public fields; ValidationError names a bad field."""
    unknown = sorted(set(data) - FIELD_NAMES)
    if unknown:
        raise ValidationError(unknown[0], "unknown field", schedule_id=_id_of(data))
    values = dict(data)
    for name in _DATETIME_FIELDS:
        if isinstance(values.get(name), str):
            values[name] = parse_datetime(name, values[name])
    if isinstance(values.get("args"), list):
        values["args"] = tuple(values["args"])
    if "id" not in values or "func" not in values:
        missing = "id" if "id" not in values else "func"
        raise ValidationError(missing, "is required", schedule_id=_id_of(data))
    return validate(Schedule(**values), from_json=from_json)


def decode(schedule_id: str, raw: bytes | str | None) -> Schedule:
    """A stored record back into a Schedule; anything unreadable raises InvalidRecord."""
    if raw is None:
        raise InvalidRecord(schedule_id, "record missing")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:  # RecursionError: nested too deep
        raise InvalidRecord(schedule_id, f"not JSON ({e})") from None
    if not isinstance(data, dict):
        raise InvalidRecord(schedule_id, "not a JSON object")
    version = data.pop(_SCHEMA_KEY, None)
    if type(version) is not int or not 1 <= version <= SCHEMA_VERSION:
        raise InvalidRecord(schedule_id, f"schema version {version!r}, this hasched reads {SCHEMA_VERSION}")
    try:
        return from_dict(data, from_json=True)
    except (HaschedError, TypeError, ValueError) as e:
        raise InvalidRecord(schedule_id, str(e)) from None


def _id_of(data: dict[str, Any]) -> str | None:
    sid = data.get("id")
    return sid if isinstance(sid, str) else None


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; a record holding one is unreadable."""
    raise ValueError(f"{name} is not allowed")
