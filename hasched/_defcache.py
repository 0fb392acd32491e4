"""The leader's decoded definitions: each stored record decoded and validated in full once.

A recurring schedule is due again and again with the same stored record, and a burst of
one-offs made by one piece of code holds records that differ only in their id, arguments and
time: decoding and validating each from scratch is most of what a fire costs the leader's Python.

* By record: decoded schedules are kept by (id, the record's exact bytes), not by revision, so
  any change to the bytes, even one made behind hasched's back, is decoded again.
* By shape: a record whose every field but `id`, `args`, `kwargs`, `meta`, `at` and `start`
  (the fields that differ from one schedule to the next of one piece of code) is the same, with
  the same JSON types, as a record validated in full before, is built from that one's values:
  only those fields are checked (the id's pattern, the times' form and range, start before end;
  JSON gives the payloads' types). Anything else goes the full way.

A record that fails is never kept: it stays an `InvalidRecord` for the caller to skip and count.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import fields
from typing import Any

from hasched import _codec
from hasched._model import ID_RE, Schedule, parse_datetime
from hasched.errors import InvalidRecord, ValidationError

DEFAULT_SIZE = 20_000  # records kept (as many as job templates): ~2 KB each
SHAPES = 256  # shapes kept
_NAMES = tuple(f.name for f in fields(Schedule))
_PER_CALL = ("id", "args", "kwargs", "meta", "at", "start")
_AT = {name: i for i, name in enumerate(_NAMES)}
# The slots' own setters: a schedule built from checked values without the dataclass's frozen
# __init__ (a Python-level setattr per field), which the leader would pay per one-off.
_SETTERS = tuple(getattr(Schedule, name).__set__ for name in _NAMES)
assert not hasattr(Schedule, "__post_init__"), "a schedule is built here without __init__"


class Definitions:
    """Decoded schedules by (id, stored bytes), the oldest dropped beyond `size`."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._decoded: OrderedDict[tuple[str, Any], Schedule] = OrderedDict()
        self._shapes: OrderedDict[tuple[Any, ...], tuple[Any, ...]] = OrderedDict()

    def decode(self, schedule_id: str, raw: Any) -> Schedule:
        """`_codec.decode(schedule_id, raw)` at a fraction of its cost (InvalidRecord if unreadable)."""
        key = (schedule_id, raw)
        schedule = self._decoded.get(key)
        if schedule is None:
            schedule = self._fresh(schedule_id, raw)
            if schedule.at is None:  # a one-off is due once: not worth keeping
                _keep(self._decoded, key, schedule, self._size)
        return schedule

    def _fresh(self, schedule_id: str, raw: Any) -> Schedule:
        shape: tuple[Any, ...] | None = None
        try:
            data = json.loads(raw)
            kinds = [type(data[name]) if name in data else None for name in _PER_CALL]  # null is not absent
            shape = (*[(k, v) for k, v in data.items() if k not in _PER_CALL], *kinds)
            values = self._shapes.get(shape)
        except (ValueError, TypeError, AttributeError, UnicodeDecodeError, RecursionError):
            values = None  # not JSON, not an object, or an unhashable value: the full way says what
            shape = None
        if values is not None:
            return _build(schedule_id, values, data)
        schedule = _codec.decode(schedule_id, raw)
        if shape is not None:
            _keep(self._shapes, shape, tuple(getattr(schedule, n) for n in _NAMES), SHAPES)
        return schedule


def _build(schedule_id: str, values: tuple[Any, ...], data: dict[str, Any]) -> Schedule:
    """A schedule of a known shape: its own per-call fields, checked, over the shape's values."""
    own = list(values)
    try:
        sid = data.get("id")
        if not isinstance(sid, str) or not ID_RE.fullmatch(sid):
            raise ValidationError("id", f"must match [A-Za-z0-9_-]{{1,128}}, got {sid!r}")
        own[_AT["id"]] = sid
        for name in ("at", "start"):  # a string here, or null (the shape says which)
            when = data.get(name)
            own[_AT[name]] = parse_datetime(name, when) if isinstance(when, str) else None
        start, end = own[_AT["start"]], own[_AT["end"]]
        if start is not None and end is not None and end <= start:
            raise ValidationError(
                "end", f"must be after start ({start.isoformat()}), got {end.isoformat()}", schedule_id=sid
            )
    except ValidationError as e:
        raise InvalidRecord(schedule_id, str(e)) from None
    # JSON made args a list and kwargs and meta objects with string keys: the shape says so
    own[_AT["args"]] = tuple(data.get("args", ()))
    own[_AT["kwargs"]] = data.get("kwargs", {})
    own[_AT["meta"]] = data.get("meta", {})
    schedule = object.__new__(Schedule)
    for put, value in zip(_SETTERS, own, strict=True):
        put(schedule, value)
    return schedule


def _keep(cache: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> None:
    """Keep `value`, dropping the oldest entry beyond `size`."""
    if len(cache) >= size:
        cache.popitem(last=False)
    cache[key] = value
