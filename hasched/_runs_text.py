"""Run records as text: `hasched schedule history` and the run part of `schedule show`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

COLUMNS = ("FIRE TIME (UTC)", "KIND", "STATUS", "STARTED", "ENDED", "JOB", "DETAIL")
_DETAILS = {
    "skipped": "overlap: the previous job was still running",
    "waiting": "overlap: waits for the previous job to end",
}


def _short(iso: str | None) -> str:
    """An ISO UTC time as `2026-11-29 22:30:51.088` (the JSON keeps the full form)."""
    return "-" if iso is None else f"{iso[:10]} {iso[11:23]}"


def row(r: dict[str, Any]) -> tuple[str, ...]:
    """One record (as `Scheduler.history` gives it) in the table's columns."""
    if r["kind"] == "missed":
        fires = f"{r['count']} fire" + ("s" if r["count"] != 1 else "")
        span = _short(r["first_fire_time"])
        if r["last_fire_time"] != r["first_fire_time"]:
            span += f" .. {_short(r['last_fire_time'])[11:]}"
        return (span, "missed", "missed", "-", "-", "-", f"{fires} not enqueued ({r['reason']})")
    detail = r["error"] or _DETAILS.get(r["status"], "")
    return (_short(r["fire_time"]), r["kind"], r["status"], _short(r["started_at"]), _short(r["ended_at"]),
            r["job_id"] or "-", detail)  # fmt: skip


def render(records: Sequence[dict[str, Any]], *, table: bool) -> list[str]:
    """An aligned table with a header when `table`, else tab-separated lines (no header)."""
    rows = [row(r) for r in records]
    if not table:
        return ["\t".join(r) for r in rows]
    rows.insert(0, COLUMNS)
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]


RUN_KEYS = ("counters", "last_success", "last_failure", "pause_note", "upcoming", "recent")


def show_lines(d: dict[str, Any]) -> list[str]:
    """`schedule show` for people: the fields as `key: JSON` lines, then what happened to the fires."""
    lines = [f"{key}: {json.dumps(d[key])}" for key in sorted(d) if key not in RUN_KEYS]
    counters = ", ".join(f"{name} {n}" for name, n in d["counters"].items())
    lines.append(f"counters: {counters}")
    lines.append(f"last_success: {d['last_success'] or '-'}")
    failure = d["last_failure"]
    if failure is None:
        lines.append("last_failure: -")
    else:
        error = failure["error"] or "(no error text)"
        lines.append(f"last_failure: {failure['time']} job {failure['job_id']}: {error}")
    if d["pause_note"] is not None:
        lines.append(f"pause_note: {d['pause_note']}")
    lines.append("upcoming:" + ("" if d["upcoming"] else " -"))
    lines += [f"  {t}" for t in d["upcoming"]]
    lines.append("recent:" + ("" if d["recent"] else " -"))
    lines += [f"  {line}" for line in render(d["recent"], table=True)] if d["recent"] else []
    return lines
