"""Reading what happened to a schedule's fires: its run records, counters and last outcomes."""

from __future__ import annotations

import json
from typing import Any

from redis.utils import str_if_bytes

from hasched._keys import Keys
from hasched._plan import next_after
from hasched._records import Stored
from hasched._runs import COUNTERS, Record, Run, decode, iso, public
from hasched._store import Store
from hasched.errors import ScheduleNotFound, ValidationError

RECENT = 10  # records and upcoming fire times in `describe`
MAX_N = 10_000


def job_id_of(keys: Keys, sid: str, record: Record) -> str | None:
    """The RQ job id of a run (trigger runs have their own kind of id)."""
    if not isinstance(record, Run):
        return None
    if record.kind == "trigger":
        return keys.trigger_job_id(sid, record.fire_us)
    return keys.job_id(sid, record.fire_us)


def history(store: Store, sid: str, n: int = 20) -> list[dict[str, Any]]:
    """The `n` newest run records of `sid`, newest first (ScheduleNotFound if it does not exist)."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_N:
        raise ValidationError("n", f"must be a whole number from 1 to {MAX_N}, got {n!r}")
    pipe = store.redis.pipeline(transaction=False)
    pipe.hexists(store.keys.defs, sid)
    pipe.lrange(store.keys.runs(sid), 0, n - 1)
    exists, raw = pipe.execute()
    if not exists:
        raise ScheduleNotFound(sid)
    return _public(store.keys, sid, raw)


def _public(keys: Keys, sid: str, raw: list[Any]) -> list[dict[str, Any]]:
    out = []
    for item in raw:
        record = decode(item)
        out.append(public(record, job_id_of(keys, sid, record)))
    return out


def summary(store: Store, stored: Stored) -> dict[str, Any]:
    """`counters`, `last_success`, `last_failure` ({"time", "error", "job_id"} or None),
    `recent` (the 10 newest records), `upcoming` (the next 10 fire times) and `pause_note`."""
    return summaries(store, [stored])[0]


def summaries(store: Store, many: list[Stored], n_upcoming: int = RECENT) -> list[dict[str, Any]]:
    """`summary` of each of `many`, read in one round trip (a page of the web UI's list);
    `n_upcoming` fire times each (0 skips computing them: the list shows only the next)."""
    pipe = store.redis.pipeline(transaction=False)
    for stored in many:
        pipe.hgetall(store.keys.stats(stored.schedule.id))
        pipe.lrange(store.keys.runs(stored.schedule.id), 0, RECENT - 1)
    replies = pipe.execute()
    return [
        _summary(store.keys, stored, raw_stats, recent, n_upcoming)
        for stored, raw_stats, recent in zip(many, replies[::2], replies[1::2], strict=True)
    ]


def _summary(
    keys: Keys, stored: Stored, raw_stats: Any, recent: list[Any], n_upcoming: int
) -> dict[str, Any]:
    stats = {str_if_bytes(k): str_if_bytes(v) for k, v in raw_stats.items()}
    success = stats.get("last_success")
    failure = stats.get("last_failure")
    return {
        "counters": {name: int(stats.get(name, 0)) for name in COUNTERS},
        "last_success": iso(int(success)) if success else None,
        "last_failure": json.loads(failure) if failure else None,
        "recent": _public(keys, stored.schedule.id, recent),
        "upcoming": upcoming(stored, n_upcoming) if n_upcoming else [],
        "pause_note": stats.get("note") if stored.schedule.paused else None,
    }


def upcoming(stored: Stored, n: int) -> list[str]:
    """The next `n` fire times the schedule will act on (none while paused or once finished)."""
    s, state = stored.schedule, stored.state
    if s.paused or state.next_us is None:
        return []
    left = n if s.repeat is None else min(n, s.repeat - state.n)
    out: list[str] = []
    cursor: int | None = state.next_us
    while cursor is not None and len(out) < left:
        out.append(str(iso(cursor)))
        cursor = next_after(s, cursor)
    return out
