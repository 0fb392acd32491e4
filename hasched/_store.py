"""Schedules in Redis: client writes (add, replace, pause, resume, delete) and leader reads.

Data model (key names in `hasched._keys`): the definition JSON, its revision and its progress
live in three hashes keyed by schedule id; a sorted set `due` orders the schedules that can still
fire by when the leader must act, so a tick finds due work with ZRANGEBYSCORE in
O(due · log N) however many schedules are stored.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from redis import Redis
from redis.exceptions import ResponseError
from redis.utils import str_if_bytes

from hasched import _codec
from hasched._clock import redis_now_us
from hasched._dedupe import TRIM_BATCH, retention_us
from hasched._keys import Keys
from hasched._model import MAX_SECONDS, Schedule
from hasched._plan import State
from hasched._scripts import AfterWrite, Scripts
from hasched._write import Write, plan_write
from hasched.errors import ConcurrentUpdate, InvalidRecord, ScheduleExists, ScheduleNotFound

MAX_WRITE_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class Stored:
    """A schedule as stored: the definition, its revision, progress and fires so far (None when
    not read: the leader has no use for the count)."""

    schedule: Schedule
    rev: str
    state: State
    fires: int | None


def encode_state(state: State) -> str:
    """The stored JSON of a schedule's progress."""
    return json.dumps({"next": state.next_us, "n": state.n}, separators=(",", ":"))


def decode_state(raw: bytes | str | None) -> State:
    """A schedule's progress from its stored JSON (a missing record means nothing pending)."""
    if raw is None:
        return State(None)
    data = json.loads(raw)
    nxt = data.get("next")
    return State(int(nxt) if nxt is not None else None, int(data.get("n", 0)))


class Store:
    """One namespace's schedules in one Redis."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.scripts = Scripts(redis, self.keys)

    def now_us(self) -> int:
        """Redis's clock in µs: the only clock that decides what is due."""
        return redis_now_us(self.redis)

    # -- client side -------------------------------------------------------------------------

    def save(self, s: Schedule, *, replace: bool) -> Stored:
        """Create `s`, or with `replace` update it in place keeping its progress when its fire
        times did not change (see `hasched._write`)."""

        def whole(old: Schedule | None) -> Schedule:
            if old is not None and not replace:
                raise ScheduleExists(s.id)
            return s

        try:
            return self._write(s.id, whole, repair=replace)
        except InvalidRecord:
            raise ScheduleExists(s.id) from None  # an unreadable record is there; a replace repairs it

    def update(self, sid: str, change: Callable[[Schedule], Schedule], note: str | None = None) -> Stored:
        """Store `change(current)` over the current schedule `sid` (ScheduleNotFound if none);
        a `note` is stored as its pause note with the write."""

        def changed(old: Schedule | None) -> Schedule:
            if old is None:
                raise ScheduleNotFound(sid)
            return change(old)

        return self._write(sid, changed, repair=False, note=note)

    def set_paused(self, sid: str, paused: bool, note: str | None = None) -> Stored:
        """Pause (with an optional note), or resume from now: fires missed while paused are not
        enqueued, they are recorded as one missed stretch. Pausing a paused schedule with a note
        replaces its note."""
        was_paused = False

        def change(old: Schedule) -> Schedule:
            nonlocal was_paused
            was_paused = old.paused
            return old if old.paused == paused else old.with_changes(paused=paused)

        stored = self.update(sid, change, note)
        if paused and was_paused and note is not None:
            self.redis.hset(self.keys.stats(sid), "note", note)  # no write was needed: only the note
        return stored

    def pause_for(self, sid: str, note: str) -> None:
        """Pause `sid` with `note` unless it is paused already (then its own note stays)."""
        with contextlib.suppress(ScheduleNotFound):  # gone since
            self.update(sid, lambda old: old if old.paused else old.with_changes(paused=True), note)

    def _write(self, sid: str, make: Callable[[Schedule | None], Schedule], *, repair: bool,
               note: str | None = None) -> Stored:  # fmt: skip
        """Read, compute and write with the read revision as the expectation. A writer that got
        in between makes the script answer CONFLICT (or EXISTS, if it created the schedule), and
        the whole step is done again on what that writer stored."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            try:
                return self._write_once(sid, make, repair=repair, note=note)
            except ResponseError as e:
                reply = str(e)
                if "EXISTS" in reply and not repair:
                    raise ScheduleExists(sid) from None
                if "CONFLICT" not in reply and "EXISTS" not in reply:
                    raise
        raise ConcurrentUpdate(sid, MAX_WRITE_ATTEMPTS)

    def _write_once(self, sid: str, make: Callable[[Schedule | None], Schedule], *, repair: bool,
                    note: str | None) -> Stored:  # fmt: skip
        now = self.now_us()
        try:
            old = self._load(sid)
        except InvalidRecord:
            if not repair:
                raise
            # An unreadable record is replaced whole: that is how an operator repairs it.
            return self._store(plan_write(make(None), now), "*", 0)
        if old is None:
            return self._store(plan_write(make(None), now), "", 0)
        new = make(old.schedule)
        if new is old.schedule:
            return old  # nothing to change: no new revision, no wake-up
        flipped = old.schedule.paused != new.paused  # a pause or resume drops the note it had
        return self._store(plan_write(new, now, old.schedule, old.state), old.rev, old.fires,
                           note if new.paused else None, clear_note=flipped)  # fmt: skip

    def _store(self, w: Write, expect: str, fires: int | None, note: str | None = None, *,
               clear_note: bool = False) -> Stored:  # fmt: skip
        s = w.schedule
        after: AfterWrite | None = AfterWrite(s.history, note, clear_note=clear_note, missed=w.missed)
        if after == AfterWrite(s.history):
            after = None  # nothing to record besides the schedule: the plain upsert
        rev = self.scripts.upsert(
            s.id, _codec.encode(s), encode_state(w.state), w.due_us, s.paused, expect, after
        )
        return Stored(s, str(rev), w.state, fires)

    def delete(self, sid: str) -> bool:
        """Remove a schedule; True when it existed. Its mark stays as a tombstone for the
        retention (`hasched._dedupe`), so re-creating it never re-enqueues a fire."""
        now = self.now_us()
        raw = self.redis.hget(self.keys.defs, sid)
        try:
            window = _codec.decode(sid, raw).catchup_window if raw is not None else 0.0
        except InvalidRecord:
            window = MAX_SECONDS  # unreadable: keep the mark as long as any window could need
        expired = self.redis.zrangebyscore(self.keys.mark_tombstones, "-inf", now, start=0, num=TRIM_BATCH)
        gone = [str_if_bytes(cast(bytes, x)) for x in expired]
        return self.scripts.delete(sid, now + retention_us(window), now, gone)

    def get_stored(self, sid: str) -> Stored:
        """The stored schedule `sid`; ScheduleNotFound or InvalidRecord when it cannot be had."""
        stored = self._load(sid)
        if stored is None:
            raise ScheduleNotFound(sid)
        return stored

    def _load(self, sid: str) -> Stored | None:
        loaded = self.load_many([sid])[0]
        if isinstance(loaded, InvalidRecord):
            raise loaded
        return loaded

    def iter_all(self, batch: int = 500) -> Iterator[Stored | InvalidRecord]:
        """Every stored schedule (or the error for an unreadable one), in id order per batch."""
        k = self.keys
        for chunk in _chunks((str_if_bytes(i) for i, _ in self.redis.hscan_iter(k.defs, count=batch)), batch):
            for loaded in self.load_many(chunk):
                if loaded is not None:
                    yield loaded

    def load_many(self, ids: list[str], *, with_fires: bool = True) -> list[Stored | InvalidRecord | None]:
        """Several schedules in one round trip; None where the schedule no longer exists.
        Without `with_fires` the count of fires is not read (`Stored.fires` is None)."""
        if not ids:
            return []
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        for key in (k.defs, k.rev, k.state, *((k.fires,) if with_fires else ())):
            pipe.hmget(key, ids)
        defs, revs, states, *counts = pipe.execute()
        fires = [int(c or 0) for c in counts[0]] if with_fires else [None] * len(ids)
        out: list[Stored | InvalidRecord | None] = []
        for sid, raw, rev, state, count in zip(ids, defs, revs, states, fires, strict=True):
            if raw is None:
                out.append(None)
                continue
            try:
                out.append(_stored(sid, raw, rev, state, count))
            except InvalidRecord as e:
                out.append(e)
        return out

    # -- leader side ----------------------------------------------------------------------------

    def due_ids(self, now_us: int, limit: int) -> list[str]:
        """Ids of schedules due at `now`, earliest first."""
        ids = self.redis.zrangebyscore(self.keys.due, "-inf", now_us, start=0, num=limit)
        return [str_if_bytes(cast(bytes, i)) for i in ids]  # members only: no scores asked for

    def last_jobs(self, ids: list[str]) -> list[str | None]:
        """The RQ job id of each schedule's last enqueued fire."""
        return [None if v is None else str_if_bytes(v) for v in self.redis.hmget(self.keys.last_job, ids)]

    def earliest_due(self) -> int | None:
        """When the leader must next act, in µs on Redis's clock; None when nothing is due."""
        first = self.redis.zrange(self.keys.due, 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    def quarantine(self, ids: list[str]) -> None:
        """Take unreadable schedules out of `due` (a client write brings them back)."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=True)
        pipe.sadd(k.invalid, *ids)
        pipe.zrem(k.due, *ids)
        pipe.execute()

    def counts(self) -> dict[str, int]:
        """How many schedules can still fire ("active") and how many are paused."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(self.keys.due)
        pipe.scard(self.keys.paused)
        active, paused = pipe.execute()
        return {"active": int(active), "paused": int(paused)}


def _stored(sid: str, raw: Any, rev: Any, state: Any, fires: int | None) -> Stored:
    schedule = _codec.decode(sid, raw)
    try:
        progress = decode_state(state)
    except (ValueError, TypeError, AttributeError) as e:
        raise InvalidRecord(sid, f"progress unreadable ({e})") from None
    return Stored(schedule, str(str_if_bytes(rev)), progress, fires)


def _chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
