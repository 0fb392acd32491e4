"""Tests for hasched._triggers: cron with DST semantics, intervals, jitter, conversions."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

import hasched._triggers as triggers
from hasched._triggers import (
    EPOCH,
    CronError,
    CronSpec,
    from_us,
    jitter_us,
    next_cron,
    next_every,
    parse_cron,
    to_us,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
UTC_ZONE = ZoneInfo("UTC")
ZONES = {"ny": NY, "berlin": BERLIN, "lord_howe": LORD_HOWE, "utc": UTC_ZONE}


def _utc(text: str) -> datetime:
    """'2026-03-08T07:00' or with seconds/fraction -> aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _fires(expr: str, tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """All fires in [start, end)."""
    spec, out, at = parse_cron(expr), [], start - timedelta(microseconds=1)
    while (at := next_cron(spec, tz, at)) < end:
        out.append(at)
    return out


# --------------------------------------------------------------------- the transition dates


@pytest.mark.parametrize(
    ("tz", "change", "before", "after"),
    [
        (NY, "2026-03-08T07:00", -5 * 60, -4 * 60),
        (NY, "2026-11-01T06:00", -4 * 60, -5 * 60),
        (BERLIN, "2026-03-29T01:00", 60, 120),
        (BERLIN, "2026-10-25T01:00", 120, 60),
        (LORD_HOWE, "2026-10-03T15:30", 630, 660),
        (LORD_HOWE, "2026-04-04T15:00", 660, 630),
    ],
)
def test_tables_use_the_real_transitions(tz: ZoneInfo, change: str, before: int, after: int) -> None:
    at = _utc(change)
    assert (at - timedelta(seconds=1)).astimezone(tz).utcoffset() == timedelta(minutes=before)
    assert at.astimezone(tz).utcoffset() == timedelta(minutes=after)


# --------------------------------------------------------------------- single next fires

# (expr, zone, after UTC, expected UTC). Local meaning in the comment of each block.
NEXT_CASES = [
    # New York spring forward 2026-03-08: 02:00 EST (07:00Z) becomes 03:00 EDT.
    ("30 2 * * *", "ny", "2026-03-08T05:00", "2026-03-08T07:00"),  # gap time -> change
    ("30 2 * * *", "ny", "2026-03-08T07:00", "2026-03-09T06:30"),  # next day is normal
    ("0 2 * * *", "ny", "2026-03-08T06:59:59.999999", "2026-03-08T07:00"),
    ("*/15 2 * * *", "ny", "2026-03-08T06:59", "2026-03-08T07:00"),  # 4 gap times, 1 fire
    ("*/15 2 * * *", "ny", "2026-03-08T07:00", "2026-03-09T06:00"),
    ("*/30 * * * *", "ny", "2026-03-08T06:30", "2026-03-08T07:00"),  # gap + real 03:00
    ("*/30 * * * *", "ny", "2026-03-08T07:00", "2026-03-08T07:30"),
    ("0 * * * *", "ny", "2026-03-08T06:00", "2026-03-08T07:00"),
    ("30 15 2 * * *", "ny", "2026-03-08T06:00", "2026-03-08T07:00"),  # 6-field in the gap
    ("*/20 * * * * *", "ny", "2026-03-08T06:59:50", "2026-03-08T07:00"),
    ("*/20 * * * * *", "ny", "2026-03-08T07:00", "2026-03-08T07:00:20"),
    # New York fall back 2026-11-01: 02:00 EDT (06:00Z) becomes 01:00 EST; 01:xx repeats.
    ("30 1 * * *", "ny", "2026-11-01T04:00", "2026-11-01T05:30"),  # first pass
    ("30 1 * * *", "ny", "2026-11-01T05:30", "2026-11-02T06:30"),  # not again at 06:30Z
    ("30 1 * * *", "ny", "2026-11-01T05:45", "2026-11-02T06:30"),  # after in first pass
    ("30 1 * * *", "ny", "2026-11-01T06:10", "2026-11-02T06:30"),  # after in second pass
    ("0 1 * * *", "ny", "2026-11-01T05:00", "2026-11-02T06:00"),
    ("* 1 * * *", "ny", "2026-11-01T05:59", "2026-11-02T06:00"),
    ("0 30 1 * * *", "ny", "2026-11-01T05:30", "2026-11-02T06:30"),
    ("30 * * * *", "ny", "2026-11-01T05:30", "2026-11-01T06:30"),  # both passes
    ("30 * * * *", "ny", "2026-11-01T05:45", "2026-11-01T06:30"),
    ("30 * * * *", "ny", "2026-11-01T06:10", "2026-11-01T06:30"),
    ("30 * * * *", "ny", "2026-11-01T06:30", "2026-11-01T07:30"),
    ("*/20 * * * *", "ny", "2026-11-01T05:50", "2026-11-01T06:00"),  # 01:50 EDT -> 01:00 EST
    ("*/20 * * * *", "ny", "2026-11-01T06:00", "2026-11-01T06:20"),
    ("*/20 * * * *", "ny", "2026-11-01T06:50", "2026-11-01T07:00"),
    ("* * * * *", "ny", "2026-11-01T05:59", "2026-11-01T06:00"),
    ("*/30 * * * * *", "ny", "2026-11-01T05:59:45", "2026-11-01T06:00"),
    ("*/30 * * * * *", "ny", "2026-11-01T06:59:45", "2026-11-01T07:00"),
    ("0 */2 * * *", "ny", "2026-11-01T04:00", "2026-11-01T07:00"),  # 01:00 odd: no repeat
    ("0 */1 * * *", "ny", "2026-11-01T05:00", "2026-11-01T06:00"),
    ("0 1-2 * * *", "ny", "2026-11-01T05:00", "2026-11-01T07:00"),  # fixed: 01:00 once
    # Berlin spring forward 2026-03-29: 02:00 CET (01:00Z) becomes 03:00 CEST.
    ("30 2 * * *", "berlin", "2026-03-29T00:00", "2026-03-29T01:00"),
    ("30 2 * * *", "berlin", "2026-03-29T01:00", "2026-03-30T00:30"),
    ("0 * * * *", "berlin", "2026-03-29T00:30", "2026-03-29T01:00"),
    ("0 * * * *", "berlin", "2026-03-29T01:00", "2026-03-29T02:00"),
    ("0 0 2 * * *", "berlin", "2026-03-29T00:00:01", "2026-03-29T01:00"),
    # Berlin fall back 2026-10-25: 03:00 CEST (01:00Z) becomes 02:00 CET; 02:xx repeats.
    ("30 2 * * *", "berlin", "2026-10-24T22:00", "2026-10-25T00:30"),
    ("30 2 * * *", "berlin", "2026-10-25T00:30", "2026-10-26T01:30"),
    ("15,45 2 * * *", "berlin", "2026-10-25T00:15", "2026-10-25T00:45"),
    ("15,45 2 * * *", "berlin", "2026-10-25T00:45", "2026-10-26T01:15"),
    ("15,45 2 * * *", "berlin", "2026-10-25T01:20", "2026-10-26T01:15"),
    ("30 * * * *", "berlin", "2026-10-25T00:30", "2026-10-25T01:30"),
    ("30 * * * *", "berlin", "2026-10-25T01:30", "2026-10-25T02:30"),
    ("0 0 * * * *", "berlin", "2026-10-25T00:59:59", "2026-10-25T01:00"),
    # Lord Howe spring forward 2026-10-04: 02:00 (+10:30, 15:30Z) becomes 02:30 (+11).
    ("15 2 * * *", "lord_howe", "2026-10-03T13:00", "2026-10-03T15:30"),
    ("15 2 * * *", "lord_howe", "2026-10-03T15:30", "2026-10-04T15:15"),
    ("*/10 2 * * *", "lord_howe", "2026-10-03T15:00", "2026-10-03T15:30"),  # 02:00-02:30
    ("*/10 2 * * *", "lord_howe", "2026-10-03T15:30", "2026-10-03T15:40"),
    ("0 * * * *", "lord_howe", "2026-10-03T14:30", "2026-10-03T15:30"),
    ("0 * * * *", "lord_howe", "2026-10-03T15:30", "2026-10-03T16:00"),
    # Lord Howe fall back 2026-04-05: 02:00 (+11, 15:00Z) becomes 01:30 (+10:30).
    ("45 1 * * *", "lord_howe", "2026-04-04T14:00", "2026-04-04T14:45"),
    ("45 1 * * *", "lord_howe", "2026-04-04T14:45", "2026-04-05T15:15"),
    ("45 * * * *", "lord_howe", "2026-04-04T14:45", "2026-04-04T15:15"),
    ("45 * * * *", "lord_howe", "2026-04-04T15:15", "2026-04-04T16:15"),
    ("0 1 * * *", "lord_howe", "2026-04-04T13:00", "2026-04-04T14:00"),
    ("0 1 * * *", "lord_howe", "2026-04-04T14:00", "2026-04-05T14:30"),
    ("30 45 1 * * *", "lord_howe", "2026-04-04T14:50", "2026-04-05T15:15:30"),
    # Plain UTC.
    ("0 12 * * *", "utc", "2026-03-08T12:00", "2026-03-09T12:00"),
    ("*/5 * * * * *", "utc", "2026-03-08T12:00:00.5", "2026-03-08T12:00:05"),
    ("0 0 29 2 *", "utc", "2026-01-01T00:00", "2028-02-29T00:00"),
    ("0 0 31 2 1", "utc", "2026-01-01T00:00", "2026-02-02T00:00"),  # day OR: Mondays
    ("0 0 13 * 5", "utc", "2026-01-01T00:00", "2026-01-02T00:00"),  # 13th OR Friday
    ("0 0 * * 7", "utc", "2026-01-01T00:00", "2026-01-04T00:00"),  # 7 is Sunday
    ("0 0 * * MON-FRI", "utc", "2026-01-02T00:00", "2026-01-05T00:00"),
    ("@hourly", "utc", "2026-01-01T00:00", "2026-01-01T01:00"),
]


@pytest.mark.parametrize(("expr", "zone", "after", "expected"), NEXT_CASES)
def test_next_cron_table(expr: str, zone: str, after: str, expected: str) -> None:
    got = next_cron(parse_cron(expr), ZONES[zone], _utc(after))
    assert got == _utc(expected)
    assert got.tzinfo is UTC


def test_after_may_be_in_any_zone() -> None:
    spec = parse_cron("30 * * * *")
    second_pass = datetime(2026, 11, 1, 1, 10, tzinfo=NY, fold=1)  # 06:10Z
    assert next_cron(spec, NY, second_pass) == _utc("2026-11-01T06:30")
    tokyo = datetime(2026, 11, 1, 14, 45, tzinfo=ZoneInfo("Asia/Tokyo"))  # 05:45Z
    assert next_cron(spec, NY, tokyo) == _utc("2026-11-01T06:30")


def test_next_cron_rejects_naive_after() -> None:
    with pytest.raises(ValueError, match="naive"):
        next_cron(parse_cron("* * * * *"), NY, datetime(2026, 1, 1))


def test_next_cron_past_year_9999_raises_cron_error() -> None:
    with pytest.raises(CronError, match="no fire time"):
        next_cron(parse_cron("0 0 29 2 *"), UTC_ZONE, _utc("9999-03-01T00:00"))


# --------------------------------------------------------------------- whole DST days

Piece = tuple[str, str, int, str]  # first local HH:MM, last local HH:MM, step minutes, offset


def _local(day: str, hhmm: str, offset: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00{offset}").astimezone(UTC)


def _expand(day: str, pieces: list[Piece]) -> list[datetime]:
    """Fixed-offset arithmetic only, so the expectation does not reuse zone logic."""
    out: list[datetime] = []
    for first, last, step, offset in pieces:
        start, end = _local(day, first, offset), _local(day, last, offset)
        count = (end - start) // timedelta(minutes=step) + 1
        out.extend(start + i * timedelta(minutes=step) for i in range(count))
    return out


E, D = "-05:00", "-04:00"  # New York
CET, CEST = "+01:00", "+02:00"
LHS, LHD = "+10:30", "+11:00"  # Lord Howe standard / daylight
DAYS: list[tuple[str, str, str, str, str, str, list[Piece]]] = [
    # (zone, day, next day, offset at day start, offset at day end, expr, expected pieces)
    ("ny", "2026-03-08", "2026-03-09", E, D, "0 * * * *",
     [("00:00", "01:00", 60, E), ("03:00", "23:00", 60, D)]),
    ("ny", "2026-03-08", "2026-03-09", E, D, "30 2 * * *", [("03:00", "03:00", 60, D)]),
    ("ny", "2026-03-08", "2026-03-09", E, D, "*/30 * * * *",
     [("00:00", "01:30", 30, E), ("03:00", "23:30", 30, D)]),
    ("ny", "2026-11-01", "2026-11-02", D, E, "0 * * * *",
     [("00:00", "01:00", 60, D), ("01:00", "23:00", 60, E)]),
    ("ny", "2026-11-01", "2026-11-02", D, E, "30 2 * * *", [("02:30", "02:30", 60, E)]),
    ("ny", "2026-11-01", "2026-11-02", D, E, "*/30 * * * *",
     [("00:00", "01:30", 30, D), ("01:00", "23:30", 30, E)]),
    ("ny", "2026-11-01", "2026-11-02", D, E, "30 1 * * *", [("01:30", "01:30", 60, D)]),
    ("berlin", "2026-03-29", "2026-03-30", CET, CEST, "0 * * * *",
     [("00:00", "01:00", 60, CET), ("03:00", "23:00", 60, CEST)]),
    ("berlin", "2026-03-29", "2026-03-30", CET, CEST, "30 2 * * *",
     [("03:00", "03:00", 60, CEST)]),
    ("berlin", "2026-03-29", "2026-03-30", CET, CEST, "*/30 * * * *",
     [("00:00", "01:30", 30, CET), ("03:00", "23:30", 30, CEST)]),
    ("berlin", "2026-10-25", "2026-10-26", CEST, CET, "0 * * * *",
     [("00:00", "02:00", 60, CEST), ("02:00", "23:00", 60, CET)]),
    ("berlin", "2026-10-25", "2026-10-26", CEST, CET, "30 2 * * *",
     [("02:30", "02:30", 60, CEST)]),
    ("berlin", "2026-10-25", "2026-10-26", CEST, CET, "*/30 * * * *",
     [("00:00", "02:30", 30, CEST), ("02:00", "23:30", 30, CET)]),
    ("lord_howe", "2026-10-04", "2026-10-05", LHS, LHD, "0 * * * *",
     [("00:00", "01:00", 60, LHS), ("02:30", "02:30", 60, LHD), ("03:00", "23:00", 60, LHD)]),
    ("lord_howe", "2026-10-04", "2026-10-05", LHS, LHD, "30 2 * * *",
     [("02:30", "02:30", 60, LHD)]),
    ("lord_howe", "2026-10-04", "2026-10-05", LHS, LHD, "*/30 * * * *",
     [("00:00", "01:30", 30, LHS), ("02:30", "23:30", 30, LHD)]),
    ("lord_howe", "2026-04-05", "2026-04-06", LHD, LHS, "0 * * * *",
     [("00:00", "01:00", 60, LHD), ("02:00", "23:00", 60, LHS)]),
    ("lord_howe", "2026-04-05", "2026-04-06", LHD, LHS, "30 2 * * *",
     [("02:30", "02:30", 60, LHS)]),
    ("lord_howe", "2026-04-05", "2026-04-06", LHD, LHS, "*/30 * * * *",
     [("00:00", "01:30", 30, LHD), ("01:30", "23:30", 30, LHS)]),
    ("lord_howe", "2026-04-05", "2026-04-06", LHD, LHS, "30 1 * * *",
     [("01:30", "01:30", 60, LHD)]),
    ("utc", "2026-03-08", "2026-03-09", "+00:00", "+00:00", "0 * * * *",
     [("00:00", "23:00", 60, "+00:00")]),
]  # fmt: skip


@pytest.mark.parametrize(("zone", "day", "next_day", "start_off", "end_off", "expr", "pieces"), DAYS)
def test_whole_dst_day(
    zone: str, day: str, next_day: str, start_off: str, end_off: str, expr: str, pieces: list[Piece]
) -> None:
    start, end = _local(day, "00:00", start_off), _local(next_day, "00:00", end_off)
    assert _fires(expr, ZONES[zone], start, end) == _expand(day, pieces)


def test_every_second_through_both_ny_transitions() -> None:
    # Each UTC second fires exactly once, whatever the wall clock does.
    for change in ("2026-03-08T07:00", "2026-11-01T06:00"):
        start = _utc(change) - timedelta(minutes=2)
        fires = _fires("* * * * * *", NY, start, start + timedelta(minutes=4))
        assert fires == [start + timedelta(seconds=i) for i in range(240)]


def test_common_case_needs_few_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    # next_cron sits on the scheduler's hot path: it must never scan hours of candidates.
    calls = 0
    real = triggers._candidate

    def counting(spec: CronSpec, start: datetime) -> datetime:
        nonlocal calls
        calls += 1
        return real(spec, start)

    monkeypatch.setattr(triggers, "_candidate", counting)
    start = _utc("2026-11-01T04:30")
    fires = _fires("* * * * * *", NY, start, start + timedelta(hours=3))
    assert len(fires) == 3 * 3600
    assert calls <= 2 * len(fires) + 2


# --------------------------------------------------------------------- hypothesis: cron

SECONDS = ["0", "30", "*/20", "15,45", "*", "*/7", "5-10"]
MINUTES = ["*", "0", "30", "*/15", "*/7", "10-20", "5-50/15", "0,45", "59"]
HOURS = ["*", "*/2", "*/5", "0", "1", "2", "3", "1-3", "0,2", "1,2", "2-4/2", "*/1", "22-23"]
DOMS = ["*", "1", "*/3", "5-20", "1,15,31", "29"]
MONTHS = ["*", "3", "*/2", "jan-jun", "10,11", "4"]
DOWS = ["*", "0", "1-5", "sat,sun", "7", "mon"]


@st.composite
def cron_exprs(draw: st.DrawFn, dense: bool = False) -> str:
    """Small grammar; `dense` keeps every day eligible so the oracle stays cheap."""
    fields = [draw(st.sampled_from(MINUTES)), draw(st.sampled_from(HOURS))]
    if dense:
        fields += ["*", "*", "*"]
    else:
        fields += [draw(st.sampled_from(f)) for f in (DOMS, MONTHS, DOWS)]
    if draw(st.booleans()):
        fields.insert(0, draw(st.sampled_from(SECONDS[:4] if dense else SECONDS)))
    return " ".join(fields)


afters = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(expr=cron_exprs(), zone=st.sampled_from(sorted(ZONES)), after=afters)
def test_next_cron_properties(expr: str, zone: str, after: datetime) -> None:
    spec, tz, at = parse_cron(expr), ZONES[zone], after
    for _ in range(4):
        fire = next_cron(spec, tz, at)
        assert fire > at
        assert fire.tzinfo is UTC
        at = fire


@settings(max_examples=150, deadline=None)
@given(expr=cron_exprs(), after=afters)
def test_utc_matches_croniter(expr: str, after: datetime) -> None:
    spec = parse_cron(expr)
    expected = croniter(spec.croniter_expr, after, second_at_beginning=spec.has_seconds)
    assert next_cron(spec, UTC_ZONE, after) == expected.get_next(datetime)


def _oracle_instants(wall: datetime, tz: ZoneInfo, wildcard_hour: bool) -> list[datetime]:
    """The contract, stated directly: where one matching wall time fires."""
    early = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if early == late:
        return [early]
    if early < late:
        return [early, late] if wildcard_hour else [early]
    # Skipped: walk minute by minute (all transitions here are on whole minutes).
    at, step = late.replace(second=0), timedelta(minutes=1)
    old = at.astimezone(tz).utcoffset()
    while at.astimezone(tz).utcoffset() == old:
        at += step
    return [at]


def _oracle_next(spec: CronSpec, tz: ZoneInfo, after: datetime) -> datetime:
    """Brute force: every candidate within a margin wider than any DST shift."""
    margin = timedelta(hours=2)
    wall = after.astimezone(tz).replace(tzinfo=None, fold=0)
    it = croniter(spec.croniter_expr, wall - margin, second_at_beginning=spec.has_seconds)
    best: datetime | None = None
    while True:
        candidate = it.get_next(datetime)
        if best is not None and candidate > best.astimezone(tz).replace(tzinfo=None) + margin:
            return best
        for fire in _oracle_instants(candidate, tz, spec.wildcard_hour):
            if fire > after and (best is None or fire < best):
                best = fire


TRANSITIONS = [
    (NY, _utc("2026-03-08T07:00")),
    (NY, _utc("2026-11-01T06:00")),
    (BERLIN, _utc("2026-03-29T01:00")),
    (BERLIN, _utc("2026-10-25T01:00")),
    (LORD_HOWE, _utc("2026-10-03T15:30")),
    (LORD_HOWE, _utc("2026-04-04T15:00")),
]
near_offsets = st.one_of(
    st.integers(-180, 180).map(lambda m: timedelta(minutes=m)),
    st.integers(-3 * 3600 * 10**6, 3 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us)),
)


@settings(max_examples=200, deadline=None)
@given(expr=cron_exprs(dense=True), where=st.sampled_from(TRANSITIONS), offset=near_offsets)
def test_next_cron_matches_brute_force_near_transitions(
    expr: str, where: tuple[ZoneInfo, datetime], offset: timedelta
) -> None:
    spec, (tz, change) = parse_cron(expr), where
    at = change + offset
    for _ in range(3):
        fire = next_cron(spec, tz, at)
        assert fire == _oracle_next(spec, tz, at), (expr, at)
        at = fire


# --------------------------------------------------------------------- parsing


BAD_EXPRESSIONS = [
    ("61 * * * *", "minute", 'bad minute field "61"'),
    ("-1 * * * *", "minute", 'bad minute field "-1"'),
    ("1,,2 * * * *", "minute", "empty value"),
    ("30-10 * * * *", "minute", "runs backwards"),
    ("*/0 * * * *", "minute", 'bad minute field "*/0"'),
    ("*/61 * * * *", "minute", "from 1 to 60"),
    ("5/15 * * * *", "minute", "a step needs"),
    ("H * * * *", "minute", "not supported"),
    ("\uff11 * * * *", "minute", "is not a number"),  # full-width digit one
    ("* 24 * * *", "hour", 'bad hour field "24"'),
    ("* x * * *", "hour", 'bad hour field "x"'),
    ("* * 0 * *", "day of month", 'bad day of month field "0"'),
    ("* * 32 * *", "day of month", 'bad day of month field "32"'),
    ("0 0 L * *", "day of month", "not supported"),
    ("0 0 15W * *", "day of month", "not supported"),
    ("0 0 ? * *", "day of month", "not supported"),
    ("0 0 30 2 *", "day of month", 'bad day of month field "30"'),
    ("0 0 31 4,6,9,11 *", "day of month", 'no such day in month field "4,6,9,11"'),
    ("* * * 13 *", "month", 'bad month field "13"'),
    ("* * * foo *", "month", "not a number or a name"),
    ("* * * * 8", "day of week", 'bad day of week field "8"'),
    ("* * * * funday", "day of week", 'bad day of week field "funday"'),
    ("0 0 * * 5#2", "day of week", "not supported"),
    ("0 0 * * sat-sun", "day of week", "runs backwards"),
    ("60 * * * * *", "second", 'bad second field "60"'),
    ("* * * * * 2026", "day of week", 'bad day of week field "2026"'),  # year-last form
    ("* * *", "expression", "expected 5 or 6 fields, got 3"),
    ("", "expression", "expected 5 or 6 fields, got 0"),
    ("* * * * * * *", "expression", "expected 5 or 6 fields, got 7"),
    ("@reboot", "expression", 'unknown cron alias "@reboot"'),
]


@pytest.mark.parametrize(("expr", "field", "message"), BAD_EXPRESSIONS)
def test_parse_cron_errors(expr: str, field: str, message: str) -> None:
    with pytest.raises(CronError) as info:
        parse_cron(expr)
    assert message in str(info.value)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("expr", "fields", "has_seconds", "wildcard_hour"),
    [
        ("0 * * * *", ("0", "*", "*", "*", "*"), False, True),
        ("0 */2 * * *", ("0", "*/2", "*", "*", "*"), False, True),
        ("0 1-3 * * *", ("0", "1-3", "*", "*", "*"), False, False),
        ("5  0 *\t* *", ("5", "0", "*", "*", "*"), False, False),
        ("0 0 * * * *", ("0", "0", "*", "*", "*", "*"), True, True),
        ("* * 5 * * *", ("*", "*", "5", "*", "*", "*"), True, False),
        ("0 0 1 JAN Mon-Fri", ("0", "0", "1", "jan", "mon-fri"), False, False),
        ("*/60 * * * *", ("*/60", "*", "*", "*", "*"), False, True),
        ("@hourly", ("0", "*", "*", "*", "*"), False, True),
        ("@daily", ("0", "0", "*", "*", "*"), False, False),
        ("@YEARLY", ("0", "0", "1", "1", "*"), False, False),
        ("0 0 31 2 1", ("0", "0", "31", "2", "1"), False, False),  # OR rule rescues it
    ],
)
def test_parse_cron_accepts(
    expr: str, fields: tuple[str, ...], has_seconds: bool, wildcard_hour: bool
) -> None:
    spec = parse_cron(expr)
    assert (spec.expr, spec.fields) == (expr, fields)
    assert (spec.has_seconds, spec.wildcard_hour) == (has_seconds, wildcard_hour)


# --------------------------------------------------------------------- next_every


@pytest.mark.parametrize(
    ("start", "every", "after", "expected"),
    [
        (100, 10, 0, 100),
        (100, 10, 99, 100),
        (100, 10, 100, 110),
        (100, 10, 109, 110),
        (100, 10, 110, 120),
        (0, 1, 5, 6),
        (-50, 7, -50, -43),
    ],
)
def test_next_every_table(start: int, every: int, after: int, expected: int) -> None:
    assert next_every(start, every, after) == expected


@given(
    start=st.integers(-(2**55), 2**55),
    every=st.integers(1, 10**12),
    after=st.integers(-(2**55), 2**55),
)
def test_next_every_properties(start: int, every: int, after: int) -> None:
    got = next_every(start, every, after)
    k, rest = divmod(got - start, every)
    assert rest == 0 and k >= 0
    assert got > after
    assert k == 0 or got - every <= after


def test_next_every_does_not_drift() -> None:
    start, every = to_us(_utc("2026-01-01T00:00")), 333_333  # not a float-friendly step
    at = start
    for i in range(1, 20_001):
        at = next_every(start, every, at)
        assert at == start + i * every


def test_next_every_rejects_non_positive_interval() -> None:
    with pytest.raises(ValueError, match="every_us"):
        next_every(0, 0, 0)


# --------------------------------------------------------------------- jitter

gaps = st.one_of(st.none(), st.integers(1, 10**10))


@given(
    schedule_id=st.text(max_size=20),
    fire_us=st.integers(0, 2**62),
    jitter_s=st.floats(0, 86_400, allow_nan=False),
    gap=gaps,
)
def test_jitter_within_bounds(schedule_id: str, fire_us: int, jitter_s: float, gap: int | None) -> None:
    got = jitter_us(schedule_id, fire_us, jitter_s, gap)
    assert got == jitter_us(schedule_id, fire_us, jitter_s, gap)
    if jitter_s == 0:
        assert got == 0
    assert got >= 0
    assert got == 0 or got < jitter_s * 1_000_000
    assert gap is None or got < gap


def test_jitter_golden_value() -> None:
    # All hosts (and releases) must agree on the delay, so pin one value.
    assert jitter_us("sched-1", 1_700_000_000_000_000, 60.0, None) == 17_399_940
    assert jitter_us("sched-1", 1_700_000_000_000_000, 60.0, 1000) == 289


def test_jitter_is_independent_of_hash_seed() -> None:
    code = "from hasched._triggers import jitter_us; print(jitter_us('abc', 12345, 30.0, None))"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == jitter_us("abc", 12345, 30.0, None)


def test_jitter_varies_across_fires_and_schedules() -> None:
    fires = {jitter_us("s", 1_000_000 * i, 60.0, None) for i in range(200)}
    schedules = {jitter_us(f"s{i}", 1_000_000, 60.0, None) for i in range(200)}
    assert len(fires) > 190 and len(schedules) > 190
    assert max(fires) > 50_000_000 and min(fires) < 10_000_000  # spread over the range


def test_jitter_is_scaled_into_a_short_gap() -> None:
    delays = [jitter_us("s", i, 3600.0, 1_000_000) for i in range(500)]
    assert all(0 <= d < 1_000_000 for d in delays)
    assert max(delays) > 900_000  # scaled down, not clipped at the gap


@pytest.mark.parametrize("jitter_s", [-1.0, float("nan"), float("inf")])
def test_jitter_rejects_bad_jitter(jitter_s: float) -> None:
    with pytest.raises(ValueError, match="jitter_s"):
        jitter_us("s", 0, jitter_s, None)


def test_jitter_zero_cases() -> None:
    assert jitter_us("s", 123, 0.0, None) == 0
    assert jitter_us("s", 123, 0.0000001, None) == 0  # below one microsecond
    assert jitter_us("s", 123, 10.0, 0) == 0  # no room before the next fire


# --------------------------------------------------------------------- conversions


def test_conversion_examples() -> None:
    assert to_us(EPOCH) == 0
    assert to_us(_utc("2026-01-01T00:00")) == 1_767_225_600_000_000
    end = datetime.max.replace(tzinfo=UTC)
    assert to_us(end) == 253_402_300_799_999_999  # beyond float's exact range
    assert from_us(253_402_300_799_999_999) == end
    assert to_us(datetime(2026, 11, 1, 1, 30, tzinfo=NY, fold=1)) == to_us(_utc("2026-11-01T06:30"))
    assert from_us(-1) == _utc("1969-12-31T23:59:59.999999")


def test_to_us_rejects_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_us(datetime(2026, 1, 1))


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(9000, 1, 1),
        timezones=st.sampled_from([UTC, *ZONES.values()]),
    )
)
def test_to_us_from_us_round_trip(dt: datetime) -> None:
    back = from_us(to_us(dt))
    # Not `back == dt`: Python never equates inter-zone datetimes in a gap or fold.
    assert back == dt.astimezone(UTC)
    assert back.tzinfo is UTC


@given(st.integers(to_us(datetime.min.replace(tzinfo=UTC)), to_us(datetime.max.replace(tzinfo=UTC))))
def test_from_us_to_us_round_trip(us: int) -> None:
    assert to_us(from_us(us)) == us
