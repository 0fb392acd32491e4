"""Schedules to and from their stored JSON form, with a schema version.

A record holds only the fields that differ from their default (and always `id` and `func`): a
reader fills in the rest from `Schedule`'s defaults, which every hasched since the first shares,
so a compact record reads the same everywhere a full one does. Encoding is also the proof that
the payloads (args, kwargs, meta) are JSON: one `json.dumps` both checks and produces the text.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, Field, fields
from datetime import datetime
from itertools import compress
from operator import attrgetter, ne
from typing import Any

from hasched._model import FIELD_NAMES, MAX_PAYLOAD_BYTES, Schedule, check_payloads, parse_datetime, validate
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


def _default(f: Field[Any]) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


# The fields a record may leave out, in the record's key order, with their defaults.
_OPTIONAL = [f for f in sorted(fields(Schedule), key=lambda f: f.name) if f.name not in ("id", "func")]
_OPTIONAL_NAMES = tuple(f.name for f in _OPTIONAL)
_OPTIONAL_DEFAULTS = tuple(_default(f) for f in _OPTIONAL)
_optional_values = attrgetter(*_OPTIONAL_NAMES)
_PAYLOADS = ("args", "kwargs", "meta")
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def compact_dict(s: Schedule) -> dict[str, Any]:
    """The stored fields of a schedule: `id`, `func` and every field not equal to its default
    (a value equal to the default reads back as one equal to it: 86400 as 86400.0)."""
    out: dict[str, Any] = {_SCHEMA_KEY: SCHEMA_VERSION, "func": s.func, "id": s.id}
    values = _optional_values(s)
    # which differ, found in C (map/compress): most fields of most schedules are at their default
    differ = map(ne, values, _OPTIONAL_DEFAULTS)
    for name, value in compress(zip(_OPTIONAL_NAMES, values, strict=True), differ):
        if isinstance(value, datetime):
            value = value.isoformat()
        elif name in _PAYLOADS:
            value = dict(value) if name != "args" else list(value)
            if not value:
                continue  # [] for (), a mapping proxy for {}: the default all the same
        out[name] = value
    return out


def encode(s: Schedule) -> str:
    """The stored JSON record of a (validated) schedule. Its payloads are proved JSON here:
    ValidationError names the one that is not, or that is larger than MAX_PAYLOAD_BYTES."""
    try:
        text = _ENCODER.encode(compact_dict(s))
    except (TypeError, ValueError, RecursionError) as e:
        _check_payloads(s)  # names the payload at fault
        raise ValidationError("schedule", f"cannot be stored as JSON ({e})", schedule_id=s.id) from None
    if 2 * len(text) > MAX_PAYLOAD_BYTES:  # no payload can be larger as `json.dumps` writes it
        _check_payloads(s)
    return text


def _check_payloads(s: Schedule) -> None:
    try:
        check_payloads(s)
    except ValidationError as e:
        raise ValidationError(e.field, e.message, schedule_id=s.id) from None


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
