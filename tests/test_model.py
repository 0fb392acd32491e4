"""Tests for hasched._model (Schedule validation) and hasched._codec (stored JSON records)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hasched._codec import SCHEMA_VERSION, decode, encode, from_dict, to_dict
from hasched._model import (
    FIELD_NAMES,
    MAX_PAYLOAD_BYTES,
    Schedule,
    func_path,
    parse_datetime,
    validate,
)
from hasched.errors import HaschedError, InvalidRecord, ValidationError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAIVE = datetime(2026, 1, 1)
SID = "job-1"
BASE: dict[str, Any] = {"id": SID, "func": "app.tasks.run", "every": 60.0}


def make(**changes: Any) -> Schedule:
    """A Schedule built from BASE with some fields changed (not validated)."""
    return Schedule(**{**BASE, **changes})


# ------------------------------------------------------------------------ invalid input table

INVALID_CASES: list[tuple[str, dict[str, Any], str]] = [
    # (case name, changes to BASE, field the error must name)
    ("id empty", {"id": ""}, "id"),
    ("id space", {"id": "a b"}, "id"),
    ("id dot", {"id": "a.b"}, "id"),
    ("id too long", {"id": "x" * 129}, "id"),
    ("id not str", {"id": 5}, "id"),
    ("func bare", {"func": "run"}, "func"),
    ("func empty", {"func": ""}, "func"),
    ("func double dot", {"func": "app..run"}, "func"),
    ("func digit", {"func": "1app.run"}, "func"),
    ("func trailing dot", {"func": "app.run."}, "func"),
    ("func not str", {"func": None}, "func"),
    ("queue empty", {"queue": ""}, "queue"),
    ("queue space", {"queue": "my queue"}, "queue"),
    ("queue slash", {"queue": "a/b"}, "queue"),
    ("queue too long", {"queue": "q" * 129}, "queue"),
    ("args object", {"args": (object(),)}, "args"),
    ("args set", {"args": ({1, 2},)}, "args"),
    ("args nan", {"args": (math.nan,)}, "args"),
    ("args not list", {"args": "abc"}, "args"),
    ("args dict", {"args": {"a": 1}}, "args"),
    ("kwargs int key", {"kwargs": {1: "x"}}, "kwargs"),
    ("kwargs tuple key", {"kwargs": {("a",): "x"}}, "kwargs"),
    ("kwargs object value", {"kwargs": {"a": object()}}, "kwargs"),
    ("kwargs inf value", {"kwargs": {"a": math.inf}}, "kwargs"),
    ("kwargs list", {"kwargs": [("a", 1)]}, "kwargs"),
    ("no trigger", {"every": None}, "trigger"),
    ("every and cron", {"cron": "* * * * *"}, "trigger"),
    ("every and at", {"at": T0}, "trigger"),
    ("all three", {"at": T0, "cron": "* * * * *"}, "trigger"),
    ("naive at", {"every": None, "at": NAIVE}, "at"),
    ("at not datetime", {"every": None, "at": "2026-01-01T00:00:00Z"}, "at"),
    ("naive start", {"start": NAIVE}, "start"),
    ("naive end", {"end": NAIVE}, "end"),
    ("end before start", {"start": T0, "end": T0 - timedelta(seconds=1)}, "end"),
    ("end equal start", {"start": T0, "end": T0}, "end"),
    ("end equal start other zone", {"start": T0, "end": T0.astimezone(timezone(timedelta(hours=3)))}, "end"),
    ("every too small", {"every": 0.009}, "every"),
    ("every zero", {"every": 0}, "every"),
    ("every negative", {"every": -60.0}, "every"),
    ("every nan", {"every": math.nan}, "every"),
    ("every inf", {"every": math.inf}, "every"),
    ("every bool", {"every": True}, "every"),
    ("every str", {"every": "60"}, "every"),
    ("every huge int", {"every": 10**400}, "every"),
    ("cron minute", {"every": None, "cron": "61 * * * *"}, "cron"),
    ("cron fields", {"every": None, "cron": "* * *"}, "cron"),
    ("cron extension", {"every": None, "cron": "0 0 L * *"}, "cron"),
    ("cron impossible", {"every": None, "cron": "0 0 30 2 *"}, "cron"),
    ("cron not str", {"every": None, "cron": 5}, "cron"),
    ("unknown tz", {"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ("tz empty", {"timezone": ""}, "timezone"),
    ("tz directory", {"timezone": "America"}, "timezone"),
    ("tz absolute", {"timezone": "/etc/passwd"}, "timezone"),
    ("tz too long", {"timezone": "A" * 5000}, "timezone"),
    ("tz not str", {"timezone": None}, "timezone"),
    ("repeat zero", {"repeat": 0}, "repeat"),
    ("repeat negative", {"repeat": -1}, "repeat"),
    ("repeat bool", {"repeat": True}, "repeat"),
    ("repeat float", {"repeat": 1.5}, "repeat"),
    ("repeat on at", {"every": None, "at": T0, "repeat": 2}, "repeat"),
    ("catchup bad", {"catchup": "sometimes"}, "catchup"),
    ("catchup case", {"catchup": "ALL"}, "catchup"),
    ("overlap bad", {"overlap": "never"}, "overlap"),
    ("window zero", {"catchup_window": 0}, "catchup_window"),
    ("window negative", {"catchup_window": -1.0}, "catchup_window"),
    ("window nan", {"catchup_window": math.nan}, "catchup_window"),
    ("window inf", {"catchup_window": math.inf}, "catchup_window"),
    ("window bool", {"catchup_window": True}, "catchup_window"),
    ("window huge int", {"catchup_window": 10**400}, "catchup_window"),
    ("jitter negative", {"jitter": -0.1}, "jitter"),
    ("jitter nan", {"jitter": math.nan}, "jitter"),
    ("jitter str", {"jitter": "1"}, "jitter"),
    ("jitter huge int", {"jitter": 10**400}, "jitter"),
    ("paused str", {"paused": "yes"}, "paused"),
    ("source bad", {"source": "a b"}, "source"),
    ("timeout zero", {"timeout": 0}, "timeout"),
    ("timeout minus two", {"timeout": -2}, "timeout"),
    ("timeout float", {"timeout": 1.5}, "timeout"),
    ("result_ttl bool", {"result_ttl": True}, "result_ttl"),
    ("ttl zero", {"ttl": 0}, "ttl"),
    ("failure_ttl str", {"failure_ttl": "10"}, "failure_ttl"),
    ("description long", {"description": "d" * 1025}, "description"),
    ("description not str", {"description": 5}, "description"),
    ("meta list", {"meta": [1, 2]}, "meta"),
    ("meta object", {"meta": {"a": object()}}, "meta"),
    ("args too big", {"args": ("x" * (MAX_PAYLOAD_BYTES - 3),)}, "args"),
    ("kwargs too big", {"kwargs": {"k": "x" * MAX_PAYLOAD_BYTES}}, "kwargs"),
    ("meta too big", {"meta": {"k": "x" * MAX_PAYLOAD_BYTES}}, "meta"),
]


@pytest.mark.parametrize(
    ("changes", "field"), [c[1:] for c in INVALID_CASES], ids=[c[0] for c in INVALID_CASES]
)
def test_invalid_schedules_name_the_field(changes: dict[str, Any], field: str) -> None:
    s = make(**changes)
    with pytest.raises(ValidationError) as info:
        validate(s)
    err = info.value
    assert err.field == field
    assert isinstance(err, ValueError)
    assert isinstance(err, HaschedError)
    text = str(err)
    assert f"{field}:" in text
    if field == "id":
        assert err.schedule_id is None
        assert repr(s.id)[:40] in text  # the bad id itself is quoted
    else:
        assert err.schedule_id == SID
        assert text.startswith(f'schedule "{SID}": {field}: ')


def test_bad_cron_names_the_cron_field() -> None:
    with pytest.raises(ValidationError) as info:
        validate(make(every=None, cron="0 25 * * *"))
    assert info.value.field == "cron"
    assert 'bad hour field "25"' in str(info.value)
    with pytest.raises(ValidationError) as info:
        validate(make(every=None, cron="0 0 * 13 *"))
    assert 'bad month field "13"' in str(info.value)


def test_with_changes_validates() -> None:
    s = validate(make())
    assert s.with_changes(every=30.0).every == 30.0
    with pytest.raises(ValidationError) as info:
        s.with_changes(every=0.001)
    assert info.value.field == "every"


VALID_CASES: list[tuple[str, dict[str, Any]]] = [
    ("every minimum", {"every": 0.01}),
    ("every int", {"every": 60}),
    ("args exactly max", {"args": ("x" * (MAX_PAYLOAD_BYTES - 4),)}),
    ("args list", {"args": [1, "a", None, {"b": [True]}]}),
    ("timeout minus one", {"timeout": -1, "result_ttl": -1, "ttl": 1, "failure_ttl": 10**9}),
    ("repeat one on at", {"every": None, "at": T0, "repeat": 1}),
    ("end one us after start", {"start": T0, "end": T0 + timedelta(microseconds=1)}),
    (
        "end after start across zones",
        {"start": T0, "end": (T0 + timedelta(seconds=1)).astimezone(timezone.min)},
    ),
    ("cron 6 fields tz", {"every": None, "cron": "0 30 2 * * mon-fri", "timezone": "Australia/Lord_Howe"}),
    ("cron alias", {"every": None, "cron": "@daily"}),
    ("zero jitter window tiny", {"jitter": 0, "catchup_window": 0.000001}),
    ("description max", {"description": "d" * 1024}),
    ("id max", {"id": "x" * 128}),
    ("queue chars", {"queue": "a.b:c-d_e"}),
]


@pytest.mark.parametrize("changes", [c[1] for c in VALID_CASES], ids=[c[0] for c in VALID_CASES])
def test_valid_schedules_pass_unchanged(changes: dict[str, Any]) -> None:
    s = make(**changes)
    assert validate(s) is s


def test_trigger_property() -> None:
    assert make().trigger == "every"
    assert make(every=None, cron="* * * * *").trigger == "cron"
    assert make(every=None, at=T0).trigger == "at"


def run_job() -> None:
    """A module-level function with an importable path."""


def test_func_path() -> None:
    assert func_path("a.b.c") == "a.b.c"
    assert func_path(run_job) == f"{__name__}.run_job"
    with pytest.raises(ValidationError) as info:
        func_path(lambda: None)
    assert info.value.field == "func"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", T0),
        ("2026-01-01T00:00:00z", T0),
        (" 2026-01-01T01:00:00+01:00 ", T0),
        ("2026-01-01T00:00:00.000001+00:00", T0 + timedelta(microseconds=1)),
    ],
)
def test_parse_datetime(text: str, expected: datetime) -> None:
    value = parse_datetime("start", text)
    assert value == expected
    assert value.utcoffset() is not None


@pytest.mark.parametrize("text", ["2026-01-01T00:00:00", "tomorrow", "", "2026-13-01T00:00:00Z"])
def test_parse_datetime_rejects(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_datetime("end", text)
    assert info.value.field == "end"


# ------------------------------------------------------------------------ codec: from_dict


def test_from_dict_names_an_unknown_field() -> None:
    with pytest.raises(ValidationError) as info:
        from_dict({"id": "x", "func": "a.b", "every": 5, "colour": "red"})
    assert info.value.field == "colour"
    assert info.value.schedule_id == "x"
    assert str(info.value) == 'schedule "x": colour: unknown field'


def test_from_dict_names_the_first_unknown_field_in_order() -> None:
    with pytest.raises(ValidationError) as info:
        from_dict({"id": "x", "func": "a.b", "every": 5, "zeta": 1, "alpha": 2})
    assert info.value.field == "alpha"


@pytest.mark.parametrize(
    ("data", "field"), [({"func": "a.b", "every": 5}, "id"), ({"id": "x", "every": 5}, "func")]
)
def test_from_dict_requires_id_and_func(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        from_dict(data)
    assert info.value.field == field


def test_from_dict_parses_datetimes_and_lists() -> None:
    s = from_dict(
        {
            "id": "x",
            "func": "a.b",
            "cron": "0 9 * * *",
            "timezone": "Europe/Berlin",
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-01-02T01:00:00+01:00",
            "args": [1, [2]],
        }
    )
    assert s.start == T0
    assert s.end == T0 + timedelta(days=1)
    assert s.args == (1, [2])
    with pytest.raises(ValidationError) as info:
        from_dict({"id": "x", "func": "a.b", "every": 5, "start": "2026-01-01T00:00:00"})
    assert info.value.field == "start"


def test_encode_format() -> None:
    s = validate(make(start=T0, args=(1, "a"), kwargs={"k": [1]}))
    data = json.loads(encode(s))
    assert data["v"] == SCHEMA_VERSION == 1
    assert data["start"] == "2026-01-01T00:00:00+00:00"
    assert data["args"] == [1, "a"]
    # only what differs from the defaults is stored (and always id and func)
    assert set(data) == {"v", "id", "func", "every", "start", "args", "kwargs"}
    assert data == {"v": 1, **{k: v for k, v in to_dict(s).items() if k in data}}


def test_a_full_record_and_a_compact_one_read_the_same() -> None:
    # hasched before the compact records stored every field; both forms read back equal
    s = validate(make(start=T0, args=(1, "a"), kwargs={"k": [1]}, queue="q", paused=True, jitter=2))
    full = json.dumps({"v": 1, **to_dict(s)})
    assert set(json.loads(full)) == FIELD_NAMES | {"v"}
    assert decode("x", full) == decode("x", encode(s)) == s
    assert len(encode(s)) < len(full) / 2


def test_values_equal_to_a_default_are_left_out_and_read_back_equal() -> None:
    s = validate(make(catchup_window=86400, jitter=0, history=100, args=[], kwargs={}, source="api"))
    data = json.loads(encode(s))
    assert set(data) == {"v", "id", "func", "every"}
    assert decode("x", encode(s)) == validate(make())  # args read back as (), as they always did


def test_encode_names_a_payload_that_is_not_json() -> None:
    s = Schedule(id="x", func="a.b", every=5, kwargs={"when": object()})
    with pytest.raises(ValidationError) as info:
        encode(validate(s, payloads=False))
    assert (info.value.field, info.value.schedule_id) == ("kwargs", "x")
    big = Schedule(id="x", func="a.b", every=5, meta={"text": "y" * MAX_PAYLOAD_BYTES})
    with pytest.raises(ValidationError) as info:
        encode(validate(big, payloads=False))
    assert info.value.field == "meta"
    nan = Schedule(id="x", func="a.b", every=5, args=(float("nan"),))
    with pytest.raises(ValidationError) as info:
        encode(validate(nan, payloads=False))
    assert info.value.field == "args"


def test_a_payload_just_under_the_limit_is_stored() -> None:
    # `encode` checks sizes as `json.dumps` writes them, only when the record is large enough
    text = "y" * (MAX_PAYLOAD_BYTES - 10)
    s = validate(Schedule(id="x", func="a.b", every=5, meta={"t": text}), payloads=False)
    assert decode("x", encode(s)).meta == {"t": text}


# ------------------------------------------------------------------------ codec: round trips

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
zones = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(hours=-11)),
        timezone(timedelta(seconds=-45)),
    ]
)
aware = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2300, 1, 1), timezones=zones)
ID_CHARS = "ABCXYZabcxyz0189_-"
ids = st.text(ID_CHARS, min_size=1, max_size=128)
identifiers = st.builds(str.__add__, st.sampled_from("Aa_z"), st.text("Az_09", max_size=8))


@st.composite
def valid_schedules(draw: st.DrawFn) -> Schedule:
    trigger = draw(st.sampled_from(["at", "every", "cron"]))
    kw: dict[str, Any] = {
        "id": draw(ids),
        "func": ".".join(draw(st.lists(identifiers, min_size=2, max_size=4))),
        "args": tuple(draw(st.lists(json_values, max_size=4))),
        "kwargs": draw(st.dictionaries(st.text(max_size=8), json_values, max_size=4)),
        "queue": draw(st.text(ID_CHARS + ".:", min_size=1, max_size=20)),
        "timezone": draw(
            st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"])
        ),
        "jitter": draw(st.sampled_from([0.0, 0, 1.5, 30])),
        "catchup": draw(st.sampled_from(["latest", "all", "skip"])),
        "catchup_window": draw(st.floats(0.001, 1e7)),
        "overlap": draw(st.sampled_from(["allow", "skip"])),
        "paused": draw(st.booleans()),
        "timeout": draw(st.none() | st.just(-1) | st.integers(1, 10**6)),
        "result_ttl": draw(st.none() | st.integers(1, 10**6)),
        "ttl": draw(st.none() | st.integers(1, 10**6)),
        "failure_ttl": draw(st.none() | st.integers(1, 10**6)),
        "description": draw(st.none() | st.text(max_size=30)),
        "meta": draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3)),
        "source": draw(st.sampled_from(["api", "file", "cli-1"])),
    }
    if trigger == "at":
        kw["at"] = draw(aware)
        kw["repeat"] = draw(st.sampled_from([None, 1]))
    else:
        kw["repeat"] = draw(st.none() | st.integers(1, 10**6))
        if trigger == "every":
            kw["every"] = draw(st.floats(0.01, 1e6) | st.integers(1, 10**6))
        else:
            kw["cron"] = draw(st.sampled_from(["*/5 * * * *", "0 30 2 * * *", "@hourly", "0 9 * * mon-fri"]))
    start = draw(st.none() | aware)
    kw["start"] = start
    if start is not None and draw(st.booleans()):
        kw["end"] = start + timedelta(microseconds=draw(st.integers(1, 10**14)))
    return validate(Schedule(**kw))


@settings(max_examples=100, deadline=None)
@given(valid_schedules())
def test_encode_decode_round_trip(s: Schedule) -> None:
    text = encode(s)
    back = decode(s.id, text)
    assert back == s
    assert decode(s.id, text.encode()) == s
    assert encode(back) == text  # the stored form is stable
    assert from_dict(to_dict(s)) == s
    for name in ("at", "start", "end"):
        value = getattr(back, name)
        assert value is None or value.utcoffset() == getattr(s, name).utcoffset()


# ------------------------------------------------------------------------ codec: garbage


def assert_invalid(raw: bytes | str | None, sid: str = "sid") -> InvalidRecord:
    with pytest.raises(InvalidRecord) as info:
        decode(sid, raw)
    err = info.value
    assert err.schedule_id == sid
    assert isinstance(err, ValueError)
    assert str(err).startswith(f'stored schedule "{sid}" is unreadable: ')
    return err


def decode_or_invalid(raw: bytes | str) -> Schedule | None:
    """decode() either gives a valid Schedule or raises InvalidRecord: never anything else."""
    try:
        s = decode("sid", raw)
    except InvalidRecord as e:
        assert e.schedule_id == "sid"
        return None
    assert validate(s) is s
    return s


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_decode_random_bytes(raw: bytes) -> None:
    assert_invalid(raw)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_decode_random_text(raw: str) -> None:
    assert_invalid(raw)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_decode_random_json(value: Any) -> None:
    assert_invalid(json.dumps(value))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(FIELD_NAMES | {"v", "x", ""})), json_values, max_size=8))
def test_decode_random_json_objects(value: dict[str, Any]) -> None:
    assert decode_or_invalid(json.dumps(value)) is None  # never id + func + one valid trigger + v


@st.composite
def mutated_records(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """A valid stored record with some fields dropped, replaced by random values, or added."""
    data = {"v": SCHEMA_VERSION, **to_dict(draw(valid_schedules()))}
    names = sorted(data)
    for name in draw(st.lists(st.sampled_from(names), max_size=3)):
        data.pop(name, None)
    for name in draw(st.lists(st.sampled_from(names), max_size=3)):
        data[name] = draw(json_values | st.sampled_from([10**400, -(10**400), 1e308, "NaN", "America", ""]))
    extra = set(draw(st.lists(st.text(min_size=1, max_size=6).filter(lambda k: k not in data), max_size=2)))
    for name in extra:
        data[name] = draw(json_values)
    return data, extra


@settings(max_examples=120, deadline=None)
@given(mutated_records())
def test_decode_mutated_records(case: tuple[dict[str, Any], set[str]]) -> None:
    data, extra = case
    s = decode_or_invalid(json.dumps(data))
    if extra:
        assert s is None
    good_version = type(data.get("v")) is int and data["v"] == SCHEMA_VERSION  # true == 1, not a version
    if extra and good_version:  # a bad version is reported first
        err = assert_invalid(json.dumps(data))
        assert f"{min(extra)}: unknown field" in err.reason
    if "v" not in data or "id" not in data or "func" not in data:
        assert s is None


@settings(max_examples=60, deadline=None)
@given(valid_schedules(), st.data())
def test_decode_truncated_record(s: Schedule, data: st.DataObject) -> None:
    text = encode(s)
    for cut in data.draw(st.lists(st.integers(0, len(text) - 1), min_size=1, max_size=8)):
        assert_invalid(text[:cut], s.id)
        assert_invalid(text.encode()[:cut], s.id)


def _record(**changes: Any) -> str:
    return json.dumps({"v": SCHEMA_VERSION, **to_dict(validate(make())), **changes})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "record missing"),
        ("", "not JSON"),
        (b"\xff\xfe{", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ("null", "not a JSON object"),
        ('"text"', "not a JSON object"),
        ("[" * 100_000, ""),
        ('{"a":' * 100_000, ""),
        (_record(v=999), "schema version 999, this hasched reads 1"),
        (_record(v=0), "schema version 0"),
        (_record(v=-1), "schema version -1"),
        (_record(v="1"), "schema version '1'"),
        (_record(v=1.0), "schema version 1.0"),
        (_record(v=None), "schema version None"),
        (json.dumps({k: v for k, v in to_dict(validate(make())).items()}), "schema version None"),
        (_record(every=10**400), "every: "),
        (_record(every="NaN"), "every: "),
        (_record(every=None), "trigger: "),
        (_record(timezone="America"), "timezone: "),
        (_record(start="2026-01-01T00:00:00"), "start: "),
        (_record(start="yesterday"), "start: "),
        (_record(start=12), "start: "),
        (_record(args={"a": 1}), "args: "),
        (_record(kwargs=[1]), "kwargs: "),
        (_record(args=[float("nan")]), "NaN is not allowed"),
        (_record(extra=1), "extra: unknown field"),
        (_record(id=5), "id: "),
    ],
)
def test_decode_rejects(raw: str | bytes | None, reason: str) -> None:
    err = assert_invalid(raw)
    assert reason in err.reason


def test_decode_deeply_nested_args() -> None:
    # Nested just deep enough that reading it works but writing it back (validation) may not.
    for depth in (900, 950, 980, 990, 995, 1000, 2000):
        raw = _record()[:-1] + ',"args":[' + "[" * depth + "]" * depth + "]}"
        raw = raw.replace('"args":[],', "")
        decode_or_invalid(raw)


class _Holder:
    def method(self) -> None:
        """A bound method has no importable path a worker could call."""


def test_func_path_refuses_bound_methods_and_lambdas() -> None:
    from hasched._model import func_path

    for bad in (_Holder().method, lambda: None):
        with pytest.raises(ValidationError) as info:
            func_path(bad)
        assert info.value.field == "func"
    assert func_path(func_path) == "hasched._model.func_path"
