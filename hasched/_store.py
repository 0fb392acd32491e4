"""Schedules in Redis: client writes (add, replace, pause, resume, delete) and leader reads.

Data model (key names in `hasched._keys`): the definition JSON, its revision and its progress
live in three hashes keyed by schedule id; a sorted set `due` orders the schedules that can still
fire by when the leader must act, so a tick finds due work with ZRANGEBYSCORE in
O(due · log N) however many schedules are stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, cast

from redis import Redis
from redis.exceptions import ResponseError
from redis.utils import str_if_bytes

from hasched import _codec
from hasched._dedupe import TRIM_BATCH, retention_us
from hasched._keys import Keys
from hasched._model import MAX_SECONDS, Schedule
from hasched._plan import State, due_time, initial_state, next_after
from hasched._scripts import Scripts
from hasched._triggers import from_us, to_us
from hasched.errors import InvalidRecord, ScheduleExists, ScheduleNotFound, ValidationError

US = 1_000_000
_MAX_CONFLICT_RETRIES = 20


@dataclass(frozen=True, slots=True)
class Stored:
    """A schedule as stored: the definition, its revision, progress and fires so far."""

    schedule: Schedule
    rev: str
    state: State
    fires: int


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
        sec, usec = self.redis.time()
        return int(sec) * US + int(usec)

    # -- client side -------------------------------------------------------------------------

    def save(self, s: Schedule, *, replace: bool) -> Stored:
        """Create `s`, or with `replace` update it in place keeping its progress when its fire
        times did not change. Retries when a concurrent write got in between."""
        for _ in range(_MAX_CONFLICT_RETRIES):
            try:
                return self._save_once(s, replace=replace)
            except ResponseError as e:
                if "CONFLICT" not in str(e):
                    raise
        raise RuntimeError(f"schedule {s.id}: too many concurrent updates")  # pragma: no cover

    def _save_once(self, s: Schedule, *, replace: bool) -> Stored:
        now = self.now_us()
        expect: str | None = None
        try:
            old = self._load(s.id)
        except InvalidRecord:
            # An unreadable record is replaced whole: that is how an operator repairs it.
            old, expect = None, "*"
            if not replace:
                raise ScheduleExists(s.id) from None
        if old is not None and not replace:
            raise ScheduleExists(s.id)
        s = _fill_start(s, old.schedule if old is not None else None, now)
        if old is None or old.schedule.trigger_key() != s.trigger_key():
            _check_at_not_stale(s, now)
            state = initial_state(s, now)
        elif old.schedule.paused and not s.paused:
            state = State(next_after(s, now - 1), old.state.n)  # resume from now
        else:
            state = old.state  # same fire times: keep the progress, never re-fire or skip
        try:
            rev = self._write(s, state, expect or (old.rev if old is not None else ""))
        except ResponseError as e:
            if "EXISTS" in str(e):
                raise ScheduleExists(s.id) from None
            raise
        return Stored(s, str(rev), state, old.fires if old is not None else 0)

    def _write(self, s: Schedule, state: State, expect: str) -> int:
        due = None if s.paused or state.next_us is None else due_time(s, state.next_us)
        return self.scripts.upsert(s.id, _codec.encode(s), encode_state(state), due, s.paused, expect)

    def set_paused(self, sid: str, paused: bool) -> Stored:
        """Pause, or resume from now: fires missed while paused are not enqueued."""
        old = self.get_stored(sid)
        if old.schedule.paused == paused:
            return old
        return self.save(old.schedule.with_changes(paused=paused), replace=True)

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
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        for key in (k.defs, k.rev, k.state, k.fires):
            pipe.hget(key, sid)
        raw, rev, state, fires = pipe.execute()
        if raw is None:
            return None
        return self._stored(sid, raw, rev, state, fires)

    @staticmethod
    def _stored(sid: str, raw: Any, rev: Any, state: Any, fires: Any) -> Stored:
        schedule = _codec.decode(sid, raw)
        try:
            progress = decode_state(state)
        except (ValueError, TypeError, AttributeError) as e:
            raise InvalidRecord(sid, f"progress unreadable ({e})") from None
        return Stored(schedule, str(str_if_bytes(rev)), progress, int(fires or 0))

    def iter_all(self, batch: int = 500) -> Iterator[Stored | InvalidRecord]:
        """Every stored schedule (or the error for an unreadable one), in id order per batch."""
        k = self.keys
        for chunk in _chunks((str_if_bytes(i) for i, _ in self.redis.hscan_iter(k.defs, count=batch)), batch):
            for loaded in self.load_many(chunk):
                if loaded is not None:
                    yield loaded

    def load_many(self, ids: list[str]) -> list[Stored | InvalidRecord | None]:
        """Several schedules in one round trip; None where the schedule no longer exists."""
        if not ids:
            return []
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        for key in (k.defs, k.rev, k.state, k.fires):
            pipe.hmget(key, ids)
        defs, revs, states, fires = pipe.execute()
        out: list[Stored | InvalidRecord | None] = []
        for sid, raw, rev, state, count in zip(ids, defs, revs, states, fires, strict=True):
            if raw is None:
                out.append(None)
                continue
            try:
                out.append(self._stored(sid, raw, rev, state, count))
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


def _fill_start(s: Schedule, old: Schedule | None, now_us: int) -> Schedule:
    """An interval without a start starts at its creation; a replace keeps that start."""
    if s.every is None or s.start is not None:
        return s
    if old is not None and old.every == s.every and old.start is not None:
        return replace(s, start=old.start)
    return replace(s, start=from_us(now_us))


def _check_at_not_stale(s: Schedule, now_us: int) -> None:
    if s.at is not None and not s.paused and to_us(s.at) < now_us - round(s.catchup_window * US):
        raise ValidationError("at", f"{s.at.isoformat()} is older than the catch-up window", schedule_id=s.id)


def _chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
