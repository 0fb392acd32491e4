"""Backfill (README: Backfill): enqueue a schedule's fire times in a past range that were not
enqueued before, oldest first, whatever its catch-up policy and pause state.

The fire times are those `hasched next` lists (`hasched._plan.next_after`: the schedule's
start and end honoured, its repeat count not), counted in full before anything is written, so a
range of more than MAX_FIRES is refused whole. They are then handed to backfill.lua CHUNK at a
time, oldest first; each chunk is one atomic step that checks every fire again against what
Redis remembers (`hasched._dedupe.enqueued_before`), so a fire the live leader (or another
backfill) enqueued in the meantime is never enqueued twice, and records what it enqueued so that
the same backfill run again enqueues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError
from redis.utils import str_if_bytes

from hasched._dedupe import retention_us
from hasched._keys import Keys
from hasched._model import OVERLAP_POLICIES, Schedule, check_aware
from hasched._plan import next_after
from hasched._records import Stored
from hasched._runs import Run
from hasched._store import MAX_WRITE_ATTEMPTS, Store
from hasched._triggers import from_us, to_us
from hasched.errors import ConcurrentUpdate, ScheduleNotFound, ValidationError

if TYPE_CHECKING:
    from hasched._jobs import JobTemplate

MAX_FIRES = 100_000
CHUNK = 1000


@dataclass(slots=True)
class Backfilled:
    """What a backfill did (or, with `dry_run`, would do) with the fire times of its range."""

    enqueued: list[datetime] = field(default_factory=list)  # enqueued now, oldest first
    waiting: list[datetime] = field(default_factory=list)  # buffered by the overlap policy
    skipped: list[datetime] = field(default_factory=list)  # skipped for overlap (not enqueued)
    already: int = 0  # fires of the range enqueued before
    dry_run: bool = False


def fire_times(s: Schedule, start_us: int, end_us: int, limit: int = MAX_FIRES) -> list[int]:
    """The nominal fire times of `s` in (start, end], oldest first; ValidationError naming `end`
    when there are more than `limit`."""
    out: list[int] = []
    cursor = next_after(s, start_us)
    while cursor is not None and cursor <= end_us:
        if len(out) >= limit:
            raise ValidationError(
                "end",
                f"the range holds more than {limit} fire times of {s.id!r}; backfill it in shorter ranges",
                schedule_id=s.id,
            )
        out.append(cursor)
        cursor = next_after(s, cursor)
    return out


def check_range(start: Any, end: Any, now_us: int) -> tuple[int, int]:
    """(start, end) in µs: aware datetimes, start before end, end not after now (Redis's clock):
    a backfill enqueues fires that are due already, never ahead of the leader."""
    check_aware("start", start)
    check_aware("end", end)
    start_us, end_us = to_us(start), to_us(end)
    if start_us >= end_us:
        raise ValidationError("end", f"must be after start ({start.isoformat()}), got {end.isoformat()}")
    if end_us > now_us:
        raise ValidationError(
            "end", f"must not be after now ({from_us(now_us).isoformat()}), got {end.isoformat()}"
        )
    return start_us, end_us


def check_overlap(overlap: Any, s: Schedule) -> str:
    """The overlap policy of the backfill: the one given, else the schedule's."""
    if overlap is None:
        return s.overlap
    if overlap not in OVERLAP_POLICIES:
        raise ValidationError("overlap", f"must be one of {', '.join(OVERLAP_POLICIES)}, got {overlap!r}")
    return str(overlap)


def backfill(
    store: Store, sid: str, start: Any, end: Any, overlap: Any = None, *, dry_run: bool = False
) -> Backfilled:
    """Enqueue the fires of `sid` in (start, end] not enqueued before (see the module docstring).
    When the schedule is written meanwhile (a chunk answers CHANGED, having done nothing), the
    rest of the range is worked out again from what is stored now."""
    stored = store.get_stored(sid)
    policy = check_overlap(overlap, stored.schedule)
    now_us = store.now_us()
    start_us, end_us = check_range(start, end, now_us)
    out = Backfilled(dry_run=dry_run)
    for _ in range(MAX_WRITE_ATTEMPTS):
        start_us = _chunks(store, stored, policy, (start_us, end_us), now_us, out)
        if start_us >= end_us:
            return out
        stored = store.get_stored(sid)
        policy = check_overlap(overlap, stored.schedule)
    raise ConcurrentUpdate(sid, MAX_WRITE_ATTEMPTS)


def _chunks(
    store: Store, stored: Stored, policy: str, span: tuple[int, int], now_us: int, out: Backfilled
) -> int:
    """Backfill the span (start, end] chunk by chunk; returns where it stopped: the end when
    done, else the start of the chunk that found the schedule changed."""
    from hasched._jobs import JobTemplate  # RQ, only once a backfill really writes: `hasched
    # schedule list` and the other light commands import this module without RQ.

    (start_us, end_us), s = span, stored.schedule
    fires = fire_times(s, start_us, end_us)
    template = JobTemplate(s, store.redis)
    for k in range(0, len(fires), CHUNK):
        part = fires[k : k + CHUNK]
        lo = start_us if k == 0 else fires[k - 1]
        hi = end_us if k + CHUNK >= len(fires) else part[-1]
        keys, args = Chunk(store.keys, s, template, policy, now_us).call(
            lo, hi, part, stored.rev, out.dry_run
        )
        try:
            _sort(out, part, str_if_bytes(store.scripts.backfill(keys, args)))
        except ResponseError as e:
            if "GONE" in str(e):
                raise ScheduleNotFound(s.id) from None
            if "CHANGED" not in str(e):
                raise
            return lo
    return end_us


def _sort(out: Backfilled, fires: list[int], letters: str) -> None:
    buckets = {"E": out.enqueued, "W": out.waiting, "O": out.skipped}
    already = 0
    for fire_us, letter in zip(fires, letters, strict=True):
        if letter == "C":
            already += 1
        else:
            buckets[letter].append(from_us(fire_us))
    out.already += already


class Chunk:
    """KEYS and ARGV of one backfill.lua call (see its header for the layout)."""

    def __init__(self, keys: Keys, s: Schedule, template: JobTemplate, policy: str, now_us: int) -> None:
        from hasched._jobs import queues_set_key

        self._k, self._s, self._template, self._policy, self._now_us = keys, s, template, policy, now_us
        sid = s.id
        self.keys: list[str] = [
            keys.defs, keys.paused, keys.state, keys.mark(sid), keys.stats(sid), keys.runs(sid), keys.gaps,
            keys.out_of_order, keys.in_flight, keys.fires, keys.last_job, queues_set_key(),
            keys.waiting(sid), keys.waiting_set, keys.stopping, keys.rev,
        ]  # fmt: skip

    def _key(self, name: str) -> int:
        self.keys.append(name)
        return len(self.keys)

    def call(
        self, lo: int, hi: int, fires: list[int], rev: str, dry_run: bool
    ) -> tuple[list[str], list[Any]]:
        from hasched._commit import in_flight_prefix
        from hasched._jobs import job_key, rq_prefixes, stamp

        s, t, k = self._s, self._template, self._k
        args: list[Any] = [
            s.id,
            lo,
            hi,
            retention_us(s.catchup_window),
            "1" if dry_run else "0",
            self._policy,
        ]
        args += [s.history, in_flight_prefix(s), stamp(from_us(self._now_us)), *rq_prefixes(), rev]
        args += [1, self._key(t.queue_key), t.ttl, len(t.fields) // 2, *t.fields]
        args += [1, 1, len(t.call) // 2, *t.call, len(fires)]
        for fire_us in fires:
            job_id = k.job_id(s.id, fire_us)
            legacy, job = self._key(k.legacy_claim(s.id, fire_us)), self._key(job_key(job_id))
            run = Run(fire_us, "backfill", 0, self._now_us, "queued").encode()
            skipped = Run(fire_us, "backfill", 0, None, "skipped").encode()
            args += [str(fire_us), legacy, job, job_id, t.meta(s, fire_us, 0), run, skipped]
        return self.keys, args
