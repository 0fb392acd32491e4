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
from hasched._defcache import Definitions
from hasched._keys import Keys
from hasched._model import MAX_SECONDS, Schedule, parse_datetime
from hasched._plan import State
from hasched._scripts import AfterWrite, Scripts
from hasched._triggers import US, to_us
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
    """The stored JSON of a schedule's progress: `{"next":<µs or null>,"n":<fires consumed>}`,
    without `"n"` while it is 0 (every reader takes a missing count as 0), written directly:
    the same text `json.dumps` with compact separators gives, without its cost."""
    nxt = "null" if state.next_us is None else int(state.next_us)
    return f'{{"next":{nxt}}}' if not state.n else f'{{"next":{nxt},"n":{int(state.n)}}}'


def decode_state(raw: bytes | str | None) -> State:
    """A schedule's progress from its stored JSON (a missing record means nothing pending)."""
    if raw is None:
        return State(None)
    if isinstance(raw, bytes) and raw.startswith(b'{"next":') and raw.endswith(b"}"):  # as written
        nxt, found, n = raw[8:-1].partition(b',"n":')  # "n" is left out while 0
        if (n.isdigit() or not found) and (nxt == b"null" or nxt.isdigit()):
            return State(None if nxt == b"null" else int(nxt), int(n) if found else 0)
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

Maker = Callable[[Schedule | None], Schedule]
# What upsert.lua takes for one schedule: id, definition JSON, progress JSON, due µs, paused,
# expected revision.
UpsertArgs = tuple[str, str, str, int | None, bool, str]


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """A write to make with the upsert script, expecting revision `expect` ("" none, "*" any)."""

    write: Write
    expect: str
    fires: int | None
    note: str | None = None  # a pause note to store with the write
    clear_note: bool = False  # a pause or resume drops the note it had

    def after(self) -> AfterWrite | None:
        """What the write records besides the schedule; None when nothing (the plain upsert)."""
        if self.note is None and not self.clear_note and self.write.missed is None:
            return None
        return AfterWrite(self.write.schedule.history, self.note, self.clear_note, self.write.missed)

    def upsert_args(self, definition: str | None = None) -> UpsertArgs:
        """upsert.lua's values; `definition` is the schedule's record when already encoded."""
        s, w = self.write.schedule, self.write
        text = _codec.encode(s) if definition is None else definition
        return s.id, text, encode_state(w.state), w.due_us, s.paused, self.expect

    def stored(self, rev: int) -> Stored:
        return Stored(self.write.schedule, str(rev), self.write.state, self.fires)


def whole(s: Schedule, replace: bool) -> Maker:
    """Write `s` whole; over an existing schedule only when `replace`."""

    def make(old: Schedule | None) -> Schedule:
        if old is not None and not replace:
            raise ScheduleExists(s.id)
        return s

    return make


def changed(sid: str, change: Callable[[Schedule], Schedule]) -> Maker:
    """Write `change(current)` over the current schedule `sid`."""

    def make(old: Schedule | None) -> Schedule:
        if old is None:
            raise ScheduleNotFound(sid)
        return change(old)

    return make


def pausing(paused: bool) -> Callable[[Schedule], Schedule]:
    return lambda old: old if old.paused == paused else old.with_changes(paused=paused)


def plan_store(loaded: Stored | InvalidRecord | None, make: Maker, now_us: int, *,
               repair: bool, note: str | None = None) -> Stored | PendingWrite:  # fmt: skip
    """What to write over what was read: the unchanged record itself when there is nothing to do.
    An unreadable record is replaced whole when `repair`: that is how an operator repairs it."""
    if isinstance(loaded, InvalidRecord):
        if not repair:
            raise loaded
        return PendingWrite(plan_write(make(None), now_us), "*", 0)
    if loaded is None:
        return PendingWrite(plan_write(make(None), now_us), "", 0)
    new = make(loaded.schedule)
    if new is loaded.schedule:
        return loaded
    flipped = loaded.schedule.paused != new.paused
    write = plan_write(new, now_us, loaded.schedule, loaded.state)
    return PendingWrite(write, loaded.rev, loaded.fires, note if new.paused else None, clear_note=flipped)


def check_retry(e: ResponseError, sid: str, repair: bool) -> None:
    """Return if the upsert script's refusal means "another writer got in between: again";
    raise otherwise."""
    reply = str(e)
    if "EXISTS" in reply and not repair:
        raise ScheduleExists(sid) from None
    if "CONFLICT" not in reply and "EXISTS" not in reply:
        raise e


def delete_window(sid: str, raw: Any) -> float:
    """The catch-up window of a schedule about to be deleted: how long its mark must stay."""
    try:
        return _codec.decode(sid, raw).catchup_window if raw is not None else 0.0
    except InvalidRecord:
        return MAX_SECONDS  # unreadable: keep the mark as long as any window could need


def load_keys(k: Keys, with_fires: bool) -> tuple[str, ...]:
    """The hashes `load_many` reads with HMGET, in the order `decode_loaded` takes them."""
    return (k.defs, k.rev, k.state, *((k.fires,) if with_fires else ()))


def decode_loaded(
    ids: list[str], replies: list[Any], with_fires: bool, definitions: Definitions | None = None
) -> list[Stored | InvalidRecord | None]:
    defs, revs, states, *counts = replies
    fires = [int(c or 0) for c in counts[0]] if with_fires else [None] * len(ids)
    decode = _codec.decode if definitions is None else definitions.decode
    out: list[Stored | InvalidRecord | None] = []
    for sid, raw, rev, state, count in zip(ids, defs, revs, states, fires, strict=True):
        if raw is None:
            out.append(None)
            continue
        try:
            out.append(_stored(sid, decode(sid, raw), rev, state, count))
        except InvalidRecord as e:
            out.append(e)
    return out


def _stored(sid: str, schedule: Schedule, rev: Any, state: Any, fires: int | None) -> Stored:
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
