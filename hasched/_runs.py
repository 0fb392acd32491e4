"""Run records (README: Runs and history): what happened to each fire, as pure rules.

A schedule keeps its newest run records in a Redis list, newest first, each a compact JSON array
(times in µs, the kind as one letter) so that a default history of 100 stays cheap. This module
says how a record is written and read, how missed fires fold into one record per stretch, and how
what RQ shows of a job moves a record on (queued -> started -> finished, failed, stopped, canceled,
or unknown when the job vanished before its end was seen; a fire an overlap buffer policy made
wait is `waiting` before `queued`). No Redis, no RQ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from hasched._triggers import from_us

KINDS = {"s": "scheduled", "t": "trigger", "b": "backfill"}
_LETTERS = {v: k for k, v in KINDS.items()}
ENDED = ("finished", "failed", "stopped", "canceled", "unknown")
MISSED_REASONS = ("catchup_window", "catchup_policy", "paused")
COUNTERS = ("enqueued", "finished", "failed", "missed", "skipped", "triggered")
MAX_ERROR_CHARS = 500
# RQ statuses of a job that is still in RQ's hands but not running: the run stays "queued".
_WAITING = ("queued", "deferred", "scheduled", "created")
_COMPACT = (",", ":")


@dataclass(frozen=True, slots=True)
class Run:
    """One fire acted on: enqueued (scheduled, trigger, backfill), waiting or skipped for overlap."""

    fire_us: int
    kind: str  # "scheduled", "trigger" or "backfill"
    epoch: int
    enqueued_us: int | None
    status: str
    started_us: int | None = None
    ended_us: int | None = None
    error: str | None = None

    def encode(self) -> str:
        """The stored form: [fire, kind letter, epoch, enqueued, status, started, ended, error],
        the three later times as µs after the fire (short numbers: a smaller history). Without an
        error it is written directly (the same text `json.dumps` gives: integers, plain words)."""
        f = self.fire_us
        if self.error is None:
            enq, started, ended = (_number(_after(x, f)) for x in (self.enqueued_us, self.started_us,
                                                                    self.ended_us))  # fmt: skip
            head = f'[{int(f)},"{_LETTERS[self.kind]}",{int(self.epoch)}'
            return f'{head},{enq},"{self.status}",{started},{ended},null]'
        return json.dumps(
            [f, _LETTERS[self.kind], self.epoch, _after(self.enqueued_us, f), self.status,
             _after(self.started_us, f), _after(self.ended_us, f), self.error], separators=_COMPACT,
        )  # fmt: skip

    @property
    def ended(self) -> bool:
        return self.status in ENDED


def waiting_record(skipped: str) -> str:
    """The record of a fire that waits (overlap buffer policies): its skipped record with status
    `waiting` instead, the only field in which the two differ (overlap_lib.lua does the same)."""
    return skipped.replace(',"skipped",', ',"waiting",', 1)


def released_record(waiting: str, enqueued_us: int) -> str:
    """The record of a waiting fire once enqueued at `enqueued_us`: `queued`, with its enqueue
    time (release_waiting.lua does the same)."""
    fire = int(waiting[1 : waiting.index(",")])
    return waiting.replace(',null,"waiting",', f',{enqueued_us - fire},"queued",', 1)


@dataclass(frozen=True, slots=True)
class Missed:
    """A stretch of fires not enqueued, folded into one record."""

    reason: str  # one of MISSED_REASONS
    first_us: int
    last_us: int
    count: int

    def encode(self) -> str:
        """The stored form: ["m", reason, first, last, count] (runs.lua folds it by this shape)."""
        return json.dumps(["m", self.reason, self.first_us, self.last_us, self.count], separators=_COMPACT)


Record = Run | Missed


def decode(raw: bytes | str) -> Record:
    """A stored record back into a value."""
    data = json.loads(raw)
    if data[0] == "m":
        return Missed(data[1], int(data[2]), int(data[3]), int(data[4]))
    fire, letter, epoch, enqueued, status, started, ended, error = data
    f = int(fire)
    return Run(f, KINDS[letter], int(epoch), _at(enqueued, f), status, _at(started, f), _at(ended, f), error)


def _number(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def _after(us: int | None, fire_us: int) -> int | None:
    return None if us is None else us - fire_us


def _at(delta: int | None, fire_us: int) -> int | None:
    return None if delta is None else fire_us + int(delta)


def fold(head: Record | None, new: Missed) -> Missed | None:
    """The record that replaces `head` when `new` continues its stretch, else None.

    A stretch goes on while nothing else was recorded between (the newest record is a missed
    one), the reason is the same and the new fires come after it. runs.lua applies this rule.
    """
    if not isinstance(head, Missed) or head.reason != new.reason or new.first_us <= head.last_us:
        return None
    return Missed(head.reason, head.first_us, new.last_us, head.count + new.count)


@dataclass(frozen=True, slots=True)
class JobSeen:
    """What Redis shows of a run's RQ job: its hash (None when gone), else its registry."""

    status: str | None  # the job hash's status; None when the hash is gone
    started_us: int | None = None
    ended_us: int | None = None
    exc: str | None = None  # the failure's exception text, when found
    registry: str | None = None  # "finished", "failed" or "canceled" when the hash is gone


def observe(run: Run, seen: JobSeen) -> Run:
    """The run as it stands after seeing its job; the same run when nothing changed."""
    if seen.status is None:
        status = seen.registry or "unknown"
    elif seen.status in _WAITING:
        status = "queued"
    else:
        status = seen.status
    started = seen.started_us if seen.started_us is not None else run.started_us
    ended = seen.ended_us if status in ENDED else None
    error = last_line(seen.exc) if status == "failed" else None
    if status not in ENDED and status not in ("queued", "started"):
        return run  # a status this version does not know: leave the record as it is
    return replace(run, status=status, started_us=started, ended_us=ended, error=error)


def last_line(text: str | None) -> str | None:
    """The last non-blank line of an exception's text, at most MAX_ERROR_CHARS characters."""
    if not text:
        return None
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:MAX_ERROR_CHARS] if lines else None


def iso(us: int | None) -> str | None:
    """ISO 8601 UTC text of a µs time, or None."""
    return None if us is None else from_us(us).isoformat()


def public(record: Record, job_id: str | None) -> dict[str, Any]:
    """A record as the API and `schedule history --json` give it (README: Runs and history)."""
    if isinstance(record, Missed):
        return {"kind": "missed", "status": "missed", "first_fire_time": iso(record.first_us),
                "last_fire_time": iso(record.last_us), "count": record.count,
                "reason": record.reason}  # fmt: skip
    return {
        "fire_time": iso(record.fire_us),
        "kind": record.kind,
        "job_id": job_id if record.status != "skipped" else None,
        "epoch": record.epoch,
        "enqueued_at": iso(record.enqueued_us),
        "status": record.status,
        "started_at": iso(record.started_us),
        "ended_at": iso(record.ended_us),
        "error": record.error,
    }
