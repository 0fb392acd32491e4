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
from typing import cast

from redis import Redis
from redis.exceptions import ResponseError
from redis.utils import str_if_bytes

from hasched._clock import redis_now_us
from hasched._dedupe import TRIM_BATCH, retention_us
from hasched._defcache import Definitions
from hasched._keys import Keys
from hasched._model import Schedule, parse_datetime
from hasched._records import (
    Maker,
    Stored,
    changed,
    check_retry,
    decode_loaded,
    delete_window,
    load_keys,
    pausing,
    plan_store,
    whole,
)
from hasched._scripts import Scripts
from hasched._triggers import US, to_us
from hasched.errors import ConcurrentUpdate, InvalidRecord, ScheduleExists, ScheduleNotFound

MAX_WRITE_ATTEMPTS = 20


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
        try:
            return self._write(s.id, whole(s, replace), repair=replace)
        except InvalidRecord:
            raise ScheduleExists(s.id) from None  # an unreadable record is there; a replace repairs it

    def update(self, sid: str, change: Callable[[Schedule], Schedule], note: str | None = None) -> Stored:
        """Store `change(current)` over the current schedule `sid` (ScheduleNotFound if none);
        a `note` is stored as its pause note with the write."""
        return self._write(sid, changed(sid, change), repair=False, note=note)

    def set_paused(self, sid: str, paused: bool, note: str | None = None) -> Stored:
        """Pause (with an optional note), or resume from now: fires missed while paused are not
        enqueued, they are recorded as one missed stretch. Pausing a paused schedule with a note
        replaces its note."""
        was_paused = False

        def change(old: Schedule) -> Schedule:
            nonlocal was_paused
            was_paused = old.paused
            return pausing(paused)(old)

        stored = self.update(sid, change, note)
        if paused and was_paused and note is not None:
            self.redis.hset(self.keys.stats(sid), "note", note)  # no write was needed: only the note
        return stored

    def pause_for(self, sid: str, note: str) -> None:
        """Pause `sid` with `note` unless it is paused already (then its own note stays)."""
        with contextlib.suppress(ScheduleNotFound):  # gone since
            self.update(sid, pausing(True), note)

    def update_with(self, sid: str, make: Maker, repair: bool) -> Stored:
        """Write what `make` computes over the current record (the asyncio client's writes that
        record something besides the schedule come here)."""
        return self._write(sid, make, repair=repair)

    def _write(self, sid: str, make: Maker, *, repair: bool, note: str | None = None) -> Stored:
        """Read, compute and write with the read revision as the expectation. A writer that got
        in between makes the script answer CONFLICT (or EXISTS, if it created the schedule), and
        the whole step is done again on what that writer stored."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            try:
                return self._write_once(sid, make, repair=repair, note=note)
            except ResponseError as e:
                check_retry(e, sid, repair)
        raise ConcurrentUpdate(sid, MAX_WRITE_ATTEMPTS)

    def _write_once(self, sid: str, make: Maker, *, repair: bool, note: str | None) -> Stored:
        now = self.now_us()
        todo = plan_store(self.load_many([sid])[0], make, now, repair=repair, note=note)
        if isinstance(todo, Stored):
            return todo  # nothing to change: no new revision, no wake-up
        return todo.stored(self.scripts.upsert(*todo.upsert_args(), todo.after()))

    def delete(self, sid: str) -> bool:
        """Remove a schedule; True when it existed. Its mark stays as a tombstone for the
        retention (`hasched._dedupe`), so re-creating it never re-enqueues a fire."""
        now = self.now_us()
        window = delete_window(sid, self.redis.hget(self.keys.defs, sid))
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

    def existing(self, ids: list[str], batch: int = 1000) -> set[str]:
        """Which of `ids` have a stored record (readable or not), a pipelined HEXISTS each."""
        found: set[str] = set()
        for lo in range(0, len(ids), batch):
            pipe = self.redis.pipeline(transaction=False)
            for sid in ids[lo : lo + batch]:
                pipe.hexists(self.keys.defs, sid)
            part = ids[lo : lo + batch]
            found.update(sid for sid, there in zip(part, pipe.execute(), strict=True) if there)
        return found

    def iter_all(self, batch: int = 500) -> Iterator[Stored | InvalidRecord]:
        """Every stored schedule (or the error for an unreadable one), in id order per batch."""
        k = self.keys
        for chunk in _chunks((str_if_bytes(i) for i, _ in self.redis.hscan_iter(k.defs, count=batch)), batch):
            for loaded in self.load_many(chunk):
                if loaded is not None:
                    yield loaded

    def load_many(self, ids: list[str], *, with_fires: bool = True,
                  definitions: Definitions | None = None) -> list[Stored | InvalidRecord | None]:  # fmt: skip
        """Several schedules in one round trip; None where the schedule no longer exists.
        Without `with_fires` the count of fires is not read (`Stored.fires` is None). The
        leader passes its cache of decoded `definitions`."""
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for key in load_keys(self.keys, with_fires):
            pipe.hmget(key, ids)
        return decode_loaded(ids, pipe.execute(), with_fires, definitions)

    # -- listing: the id index (README: Redis data model) ---------------------------------------

    def page_ids(self, after: str | None, count: int, prefix: str = "") -> list[str]:
        """Up to `count` stored ids in id order, strictly after `after`, starting with `prefix`:
        O(log N + count) whatever the number of schedules."""
        low = "-" if after is None else "(" + after
        if prefix and (after is None or after < prefix):
            low = "[" + prefix
        high = "[" + prefix + "\x7f" if prefix else "+"  # ids are ASCII: none sorts after it
        ids = self.redis.zrangebylex(self.keys.ids, low, high, start=0, num=count)
        return [str_if_bytes(i) for i in ids]

    def last_statuses(self, ids: list[str]) -> list[str | None]:
        """How each schedule's latest ended run ended (`finished` or `failed`), where one did:
        from the last success and last failure the tracker keeps with its counters."""
        pipe = self.redis.pipeline(transaction=False)
        for sid in ids:
            pipe.hmget(self.keys.stats(sid), "last_success", "last_failure")
        return [latest_end(success, failure) for success, failure in pipe.execute()]

    def ensure_index(self, batch: int = 1000) -> int:
        """Build the id index where it does not match the definitions (a namespace written by a
        hasched before the index, or by one still running an older version): O(1) when it
        matches, one pass over the schedules when it does not. Returns how many entries changed."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(k.ids)
        pipe.hlen(k.defs)
        indexed, stored = pipe.execute()
        if indexed == stored:
            return 0
        changed, cursor = 0, ""
        while cursor != "0":
            cursor, n = self.scripts.reindex_step("add", cursor or "0", batch)
            changed += n
        bound = "-"  # then drop what the index holds for schedules that are gone
        while bound:
            last, n = self.scripts.reindex_step("prune", bound, batch)
            changed, bound = changed + n, last and "(" + last
        return changed

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

    def earliest_due_at_now(self) -> tuple[int | None, int]:
        """`earliest_due()` and Redis's clock now (µs), in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrange(self.keys.due, 0, 0, withscores=True)
        pipe.time()
        first, (sec, usec) = pipe.execute()
        return (int(first[0][1]) if first else None), int(sec) * US + int(usec)

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


def latest_end(success: bytes | None, failure: bytes | None) -> str | None:
    """`failed` when the last failure (JSON with its ISO time) is later than the last success
    (µs), `finished` when a success is the later, None when no run ended yet."""
    if failure is None:
        return None if success is None else "finished"
    failed_us = to_us(parse_datetime("last_failure", json.loads(failure)["time"]))
    return "failed" if success is None or failed_us > int(success) else "finished"


# -- shared with the asyncio client (hasched.aio): everything but the Redis calls ---------------


def _chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
