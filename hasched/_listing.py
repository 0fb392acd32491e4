"""`hasched schedule list` as text: an aligned table for people, tab-separated lines for pipes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hasched._choices import TEXT_LIMIT as TEXT_LIMIT  # where the command line reads it
from hasched._query import state_of

COLUMNS = ("ID", "FUNC", "QUEUE", "TRIGGER", "STATE", "NEXT FIRE", "LAST RUN")


def row(d: dict[str, Any]) -> tuple[str, ...]:
    """One schedule (as `Scheduler.describe` gives it) in the list's columns."""
    if d["cron"]:
        trigger = f"cron {d['cron']} {d['timezone']}"
    elif d["every"] is not None:
        trigger = f"every {_number(d['every'])}s"
    else:
        trigger = f"at {d['at']}"
    state = state_of(d["paused"], d["next_fire"])
    next_fire = "-"
    if d["next_fire"]:  # in the schedule's own zone, where "03:00" means what the cron says
        next_fire = datetime.fromisoformat(d["next_fire"]).astimezone(ZoneInfo(d["timezone"])).isoformat()
    return (d["id"], d["func"], d["queue"], trigger, state, next_fire)


def last_run(d: dict[str, Any]) -> str:
    """The newest run record of a schedule (`recent` of `Scheduler.describe`) as "status time",
    its time the latest it knows (end, start, enqueue; a missed stretch's last fire); "-" if none."""
    recent = d.get("recent") or []
    if not recent:
        return "-"
    r = recent[0]
    when = r.get("ended_at") or r.get("started_at") or r.get("enqueued_at") or r.get("last_fire_time")
    return f"{r['status']} {when}" if when else str(r["status"])


def _number(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def render(described: Sequence[dict[str, Any]], *, table: bool) -> list[str]:
    """The lines to print: a header and aligned columns when `table`, else tab-separated values
    without a header (one schedule a line, for `cut`, `awk` and `grep`)."""
    rows = [(*row(d), last_run(d)) for d in described]
    if not table:
        return ["\t".join(r) for r in rows]
    rows.insert(0, COLUMNS)
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
