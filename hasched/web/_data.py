"""The web UI's one door into hasched's core: everything the pages show or do goes through here.

It calls the public `Scheduler` API and `hasched._status`, and copes with an API that is older or
newer than the pages: run history, pause notes, counters and the paged, filtered list are used
when the core offers them, and otherwise replaced by what can be read today (the last RQ job of a
schedule, a filtered slice of the full list). The pages never look at a method or key themselves.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from redis import Redis
from redis.utils import str_if_bytes
from rq.exceptions import NoSuchJobError
from rq.job import Job

from hasched import _listing
from hasched._status import status
from hasched._store import Store
from hasched.api import Scheduler

PAGE_SIZE = 50
STATES = ("active", "paused", "finished", "failing")
UPCOMING = 10
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


@dataclass(frozen=True, slots=True)
class Detail:
    """Everything the Schedule page shows."""

    row: Row
    upcoming: list[tuple[datetime, datetime]]  # (in the schedule's zone, in UTC)
    counters: dict[str, Any]
    last_success: Record | None
    last_failure: Record | None
    history: list[Record] = field(default_factory=list)
    has_history: bool = False


class Data:
    """One namespace's schedules and cluster, read and changed for the web pages."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self.redis = redis
        self.scheduler = Scheduler(redis, namespace)
        self.store = Store(redis, namespace)

    # -- what the core offers ---------------------------------------------------------------

    @property
    def has_history(self) -> bool:
        return callable(getattr(self.scheduler, "history", None))

    @property
    def has_pause_note(self) -> bool:
        return "note" in inspect.signature(self.scheduler.pause).parameters

    @property
    def has_paged_list(self) -> bool:
        return "limit" in inspect.signature(self.scheduler.list).parameters

    # -- reading ----------------------------------------------------------------------------

    def page(self, q: ListQuery) -> Page:
        """One page of schedules in id order, filtered as asked."""
        if self.has_paged_list:
            ids = [s.id for s in self._paged(q, q.limit + 1)]
            described = [self.scheduler.describe(i) for i in ids]
        else:
            described, _ = self.scheduler.describe_all()
            described = [d for d in described if _wanted(d, q) and (not q.after or d["id"] > q.after)]
        rows: list[Row] = []
        for d in described:
            row = self._row(d)
            if q.state == "failing" and not self.has_paged_list and not row.failing:
                continue
            rows.append(row)
            if len(rows) > q.limit:
                break
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        return Page(rows, rows[-1].id if more and rows else None)

    def _paged(self, q: ListQuery, limit: int) -> list[Any]:
        state = cast(Any, q.state or None)  # checked against the states the list accepts
        found: list[Any] = self.scheduler.list(
            match=q.glob, queue=q.queue or None, state=state, limit=limit, after=q.after or None
        )
        return found

    def detail(self, sid: str) -> Detail:
        """The Schedule page of `sid` (ScheduleNotFound if there is none)."""
        row = self._row(self.scheduler.describe(sid))
        d = row.described
        history = self._history(sid, 20) if self.has_history else row.recent
        return Detail(
            row=row,
            upcoming=self._upcoming(row),
            counters=dict(d.get("counters") or {"enqueued": d.get("fires") or 0}),
            last_success=_when(d.get("last_success")) or _last(row, ok=True),
            last_failure=_when(d.get("last_failure")) or _last(row, ok=False),
            history=history,
            has_history=self.has_history,
        )

    def cluster(self) -> dict[str, Any]:
        """Leader, epoch, instances with heartbeat age, counts, lag, and leadership changes
        when the core records them."""
        st = status(self.store)
        changes = getattr(self.scheduler, "leadership_changes", None)
        st.setdefault("leadership_changes", changes() if callable(changes) else None)
        st["next_fire_at"] = _parse_time(st.get("next_fire"))
        return st

    def _row(self, d: dict[str, Any]) -> Row:
        _id, _func, _queue, trigger, state, _next = _listing.row(d)
        recent = [_normal(r) for r in d.get("recent") or []]
        if not recent and not self.has_history:
            last_job = self._last_job(str(d["id"]))
            recent = [last_job] if last_job else []
        nxt = datetime.fromisoformat(d["next_fire"]) if d.get("next_fire") else None
        return Row(d, trigger, state, nxt, recent[0] if recent else None, recent)

    def _history(self, sid: str, n: int) -> list[Record]:
        history: Callable[..., list[Record]] = self.scheduler.history  # type: ignore[attr-defined]
        return [_normal(r) for r in history(sid, n=n)]

    def _upcoming(self, row: Row) -> list[tuple[datetime, datetime]]:
        if row.state == "finished":
            return []
        zone = ZoneInfo(str(row.described["timezone"]))
        times = self.scheduler.next_fire_times(row.id, UPCOMING)
        return [(t.astimezone(zone), t.astimezone(UTC)) for t in times]

    def _last_job(self, sid: str) -> Record | None:
        """The last run, read from its RQ job, while the core keeps no run records."""
        raw = self.redis.hget(self.store.keys.last_job, sid)
        if raw is None:
            return None
        job_id = str(str_if_bytes(raw))
        try:
            job = Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            return _normal({"job_id": job_id, "status": "unknown"})
        result = job.latest_result()
        lines = ((result.exc_string if result else None) or "").strip().splitlines()
        return _normal({
            "job_id": job_id, "status": _status_text(job.get_status(refresh=False)),
            "kind": "trigger" if job_id.rsplit("-", 1)[-1].startswith("t") else "scheduled",
            "fire_time": (job.meta or {}).get("hasched_fire_time"),
            "enqueued_at": _iso(job.enqueued_at), "started_at": _iso(job.started_at),
            "ended_at": _iso(job.ended_at), "error": lines[-1][:500] if lines else None,
        })  # fmt: skip

    # -- actions ----------------------------------------------------------------------------

    def pause(self, sid: str, note: str | None) -> bool:
        """Pause `sid`; True when the note was kept (the core stores pause notes)."""
        if self.has_pause_note:
            self.scheduler.pause(sid, note=note or None)  # type: ignore[call-arg]
            return True
        self.scheduler.pause(sid)
        return False

    def resume(self, sid: str) -> None:
        self.scheduler.resume(sid)

    def trigger(self, sid: str) -> str:
        """Enqueue one extra run now; its RQ job id."""
        return str(self.scheduler.trigger(sid).id)

    def delete(self, sid: str) -> bool:
        return self.scheduler.cancel(sid)


def _wanted(d: dict[str, Any], q: ListQuery) -> bool:
    """The list's filters, applied here while the core has no filtered list."""
    if q.glob and not fnmatch.fnmatchcase(str(d["id"]), q.glob):
        return False
    if q.queue and d["queue"] != q.queue:
        return False
    if q.state in ("active", "paused", "finished"):
        return _listing.row(d)[4] == q.state
    return True


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


def _last(row: Row, *, ok: bool) -> Record | None:
    """Without counters from the core, the last run is the last success or failure we know."""
    last = row.last
    if last is None or "last_success" in row.described:
        return None
    return last if (last["status"] == "finished" if ok else last["status"] in FAILED) else None


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


def _status_text(status: Any) -> str:
    """RQ's JobStatus (an enum in RQ 2) as its plain value, e.g. "finished"."""
    return str(getattr(status, "value", status) or "unknown")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
