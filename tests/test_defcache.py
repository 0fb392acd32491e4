"""The leader's decoded-definition cache gives exactly what a full decode gives, or refuses the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hasched import _codec
from hasched._defcache import Definitions
from hasched.api import make
from hasched.errors import InvalidRecord

WHEN = datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def records() -> list[tuple[str, bytes]]:
    """One-offs of two shapes and recurring schedules, with payloads of every kind."""
    out = []
    for i in range(40):
        fields = {"at": WHEN} if i % 4 else {"every": 5 + i % 3}
        s = make(id=f"s-{i}", func="jobs.record", args=[i, "x", [i]] if i % 2 else [],
                 kwargs={"k": i} if i % 3 else {}, meta={"m": [1]} if i % 5 == 0 else {},
                 queue="low" if i % 7 == 0 else "default", **fields)  # fmt: skip
        out.append((s.id, _codec.encode(s).encode()))
    return out


def test_every_record_decodes_as_the_full_decode_does_and_again_from_the_cache() -> None:
    defs = Definitions()
    for _ in range(2):  # the second pass: recurring ones from the cache, one-offs by their shape
        for sid, raw in records():
            assert repr(defs.decode(sid, raw)) == repr(_codec.decode(sid, raw))


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ('"id":"s-1"', '"id":"s 1"', "id: must match"),
        (WHEN.isoformat(), "2030-05-06T07:08:09", "at: must be timezone-aware"),
        (WHEN.isoformat(), "9999-05-06T07:08:09+00:00", "at: must be between the years"),
        ('"args":[1,"x",[1]]', '"args":{"a":1}', "args: must be a list"),
        ('"v":1,', '"v":1,"queue":"no spaces",', "queue: must match"),  # defaults are left out
    ],
)
def test_a_record_of_a_known_shape_with_a_bad_field_is_refused(old: str, new: str, why: str) -> None:
    defs = Definitions()
    sid, raw = records()[1]
    defs.decode(sid, raw)  # its shape is known now
    changed = raw.replace(old.encode(), new.encode())
    assert changed != raw
    with pytest.raises(InvalidRecord, match=why):
        defs.decode(sid, changed)
    with pytest.raises(InvalidRecord, match=why):
        _codec.decode(sid, changed)


def test_a_null_where_a_known_shape_has_nothing_is_refused() -> None:
    defs = Definitions()
    s = make(id="a", func="jobs.record", at=WHEN)
    defs.decode("a", _codec.encode(s).encode())
    for name in ("args", "kwargs", "meta"):
        data = json.loads(_codec.encode(s))
        data.pop(name, None)
        defs.decode("a", json.dumps(data).encode())  # left out: its default
        data[name] = None
        with pytest.raises(InvalidRecord, match=name):
            defs.decode("a", json.dumps(data).encode())


def test_spread_starts_share_a_shape_and_a_start_after_end_is_refused() -> None:
    defs = Definitions()
    end = WHEN.replace(year=2031)
    for day in (1, 2):
        s = make(id="a", func="jobs.record", every=60, start=WHEN.replace(day=day), end=end)
        assert repr(defs.decode("a", _codec.encode(s).encode())) == repr(s)
    raw = _codec.encode(s).replace(WHEN.replace(day=2).isoformat(), end.replace(year=2032).isoformat())
    with pytest.raises(InvalidRecord, match="end: must be after start"):
        defs.decode("a", raw.encode())


def test_unreadable_records_are_refused_and_never_kept() -> None:
    defs = Definitions()
    for raw in (b"\x00\xff", b"[1]", b'{"v":99,"id":"a","func":"a.b","every":1}', b'{"cron":[1]}'):
        for _ in range(2):
            with pytest.raises(InvalidRecord):
                defs.decode("a", raw)


def test_a_small_cache_drops_its_oldest_records_and_still_decodes_right() -> None:
    defs = Definitions(size=3)
    for _ in range(3):
        for sid, raw in records():
            assert repr(defs.decode(sid, raw)) == repr(_codec.decode(sid, raw))
