"""The web UI's one door into hasched's core: everything the pages show or do goes through here.

It calls the public `Scheduler` API (`describe`, `history`, the actions), the paged list and run
summaries underneath `Scheduler.list` and `describe` (to read a whole page in a few round trips)
and `hasched._status`, and turns what they return into the rows and records the templates show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from redis import Redis

from hasched import _history, _listing, _query
from hasched._query import Query
from hasched._status import status
from hasched._store import Store
from hasched.api import Scheduler, describe
from hasched.errors import ValidationError

PAGE_SIZE = 50
READ_FOR = 0.15  # seconds a list page may spend reading schedules its filters mostly drop
STATES = ("active", "paused", "finished", "failing")
UPCOMING = 10
HISTORY = 20  # run records on the Schedule page
FAILED = frozenset({"failed", "stopped", "unknown"})
Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What the Schedules page asks for: an id search (a glob, or text found anywhere in the id),
    a queue, a state ("" for any) and the id after which the page starts."""

    match: str = ""
    queue: str = ""
    state: str = ""
    after: str = ""
    limit: int = PAGE_SIZE

    @property
    def glob(self) -> str | None:
        """The search as a glob: plain text matches anywhere in the id."""
        if not self.match:
            return None
        return self.match if any(c in self.match for c in "*?[") else f"*{self.match}*"


@dataclass(frozen=True, slots=True)
class Row:
    """One schedule as the pages show it."""

    described: dict[str, Any]
    trigger: str
    state: str
    next_fire: datetime | None
    last: Record | None
    recent: list[Record]

    @property
    def id(self) -> str:
        return str(self.described["id"])

    @property
    def pause_note(self) -> str | None:
        note = self.described.get("pause_note")
        return str(note) if note else None

    @property
    def failing(self) -> bool:
        return self.last is not None and self.last.get("status") in FAILED


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row]
    next_after: str | None  # the cursor of the next page, None on the last one
    searched_to: str | None = None  # the last id read, when reading stopped before a full page


@dataclass(frozen=True, slots=True)
class Detail:
    """Everything the Schedule page shows."""

    row: Row
    upcoming: list[tuple[datetime, datetime]]  # (in the schedule's zone, in UTC)
    counters: dict[str, Any]
    last_success: Record | None
    last_failure: Record | None
    history: list[Record] = field(default_factory=list)


class Data:
    """One namespace's schedules and cluster, read and changed for the web pages."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self.redis = redis
        self.scheduler = Scheduler(redis, namespace)
        self.store = Store(redis, namespace)

    # -- reading ----------------------------------------------------------------------------

    def page(self, q: ListQuery) -> Page:
        """One page of schedules in id order, filtered as asked: the list, the schedules and
        their run summaries are read in a handful of round trips, whatever the page size. A
        filter that matches few stops reading after READ_FOR seconds, and the page says where
        it got to (its cursor goes on from there)."""
        state = cast(Any, q.state or None)  # one of the states the list accepts, or None
        query = Query(
            match=q.glob, queue=q.queue or None, state=state, limit=q.limit + 1, after=q.after or None
        )
        got = _query.page(self.store, query, until=time.monotonic() + READ_FOR)
        found = got.found[: q.limit]
        # The list shows the next fire only: the 10 upcoming of each row are not computed.
        summaries = _history.summaries(self.store, found, n_upcoming=0)
        rows = [self._row({**describe(x), **extra}) for x, extra in zip(found, summaries, strict=True)]
        if got.resume_after is not None:
            return Page(rows, got.resume_after, searched_to=got.resume_after)
        return Page(rows, rows[-1].id if len(got.found) > q.limit else None)

    def detail(self, sid: str) -> Detail:
        """The Schedule page of `sid` (ScheduleNotFound if there is none)."""
        row = self._row(self.scheduler.describe(sid))
        d = row.described
        history = [_normal(r) for r in self.scheduler.history(sid, n=HISTORY)]
        return Detail(
            row=row,
            upcoming=self._upcoming(row),
            counters=dict(d["counters"]),
            last_success=_when(d["last_success"]),
            last_failure=_when(d["last_failure"]),
            history=history,
        )

    def cluster(self) -> dict[str, Any]:
        """Leader, epoch, instances with heartbeat age, counts, lag, and the latest lease grants
        (newest first) with their times parsed."""
        st = status(self.store)
        st["next_fire_at"] = _parse_time(st.get("next_fire"))
        st["leadership_changes"] = [
            {**c, "at": _parse_time(c["at"])} for c in st.get("leadership_changes", [])
        ]
        return st

    def _row(self, d: dict[str, Any]) -> Row:
        _id, _func, _queue, trigger, state, _next = _listing.row(d)
        recent = [_normal(r) for r in d["recent"]]
        nxt = datetime.fromisoformat(d["next_fire"]) if d.get("next_fire") else None
        return Row(d, trigger, state, nxt, recent[0] if recent else None, recent)

    def _upcoming(self, row: Row) -> list[tuple[datetime, datetime]]:
        if row.state == "finished":
            return []
        zone = ZoneInfo(str(row.described["timezone"]))
        times = self.scheduler.next_fire_times(row.id, UPCOMING)
        return [(t.astimezone(zone), t.astimezone(UTC)) for t in times]

    # -- actions ----------------------------------------------------------------------------

    def pause(self, sid: str, note: str | None) -> None:
        """Pause `sid`, with its note (who, why) when one is given."""
        self.scheduler.pause(sid, note=note or None)

    def resume(self, sid: str) -> None:
        self.scheduler.resume(sid)

    def trigger(self, sid: str) -> str:
        """Enqueue one extra run now; its RQ job id."""
        return str(self.scheduler.trigger(sid).id)

    def delete(self, sid: str) -> bool:
        return self.scheduler.cancel(sid)

    def backfill(self, sid: str, start: str, end: str, overlap: str, dry_run: bool) -> str:
        """Backfill (start, end] of `sid` (ISO 8601 text; without an offset, a time in the
        schedule's zone); what it did, in words."""
        zone = ZoneInfo(self.scheduler.get(sid).timezone)
        first, last = _zoned("from", start, zone), _zoned("to", end, zone)
        done = self.scheduler.backfill(sid, first, last, overlap or None, dry_run=dry_run)
        n = len(done.enqueued)
        if dry_run:
            return f"Dry run: {n} fire{'s' * (n != 1)} would be enqueued ({done.already} enqueued before)."
        parts = [f"{done.already} enqueued before"]
        parts += [f"{len(done.waiting)} waiting"] if done.waiting else []
        parts += [f"{len(done.skipped)} skipped for overlap"] if done.skipped else []
        return f"Backfilled: {n} fire{'s' * (n != 1)} enqueued ({', '.join(parts)})."


def _zoned(name: str, text: str, zone: ZoneInfo) -> datetime:
    """A time typed in a form: ISO 8601, read in `zone` when it has no offset."""
    if not text.strip():
        raise ValidationError(name, "is required: an ISO 8601 time, e.g. 2026-03-01T00:00")
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(name, f"not an ISO 8601 time: {text[:64]!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


_RECORD_KEYS = ("kind", "status", "fire_time", "job_id", "epoch", "enqueued_at", "started_at", "ended_at",
                "error", "first_fire_time", "last_fire_time", "count", "reason")  # fmt: skip


def _normal(record: Record) -> Record:
    """A run record with every key present, times parsed, so templates need no guards."""
    out = {k: record.get(k) for k in _RECORD_KEYS}
    out["kind"] = out["kind"] or "scheduled"
    out["status"] = out["status"] or ("missed" if out["kind"] == "missed" else "unknown")
    for k in ("fire_time", "enqueued_at", "started_at", "ended_at", "first_fire_time", "last_fire_time"):
        out[k] = _parse_time(out[k])
    out["when"] = out["ended_at"] or out["started_at"] or out["enqueued_at"] or out["fire_time"]
    out["when"] = out["when"] or out["last_fire_time"]
    return out


def _when(value: Any) -> Record | None:
    """last_success / last_failure: an ISO time, or a record with its time and error."""
    if not value:
        return None
    if isinstance(value, dict):
        rec = _normal(value)
        rec["when"] = rec["when"] or _parse_time(value.get("time") or value.get("at"))
        return rec
    return {"when": _parse_time(value), "error": None}


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            return _parse_time(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None
