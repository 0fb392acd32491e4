"""Schedule records as the store reads and writes them, without Redis calls: a stored schedule
(`Stored`), its progress text, decoding what `Store.load_many` read, and planning a client write
over what was read (`plan_store`, its makers `whole`/`changed`/`pausing`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError
from redis.utils import str_if_bytes

from hasched import _codec
from hasched._defcache import Definitions
from hasched._keys import Keys
from hasched._model import MAX_SECONDS, Schedule
from hasched._plan import State
from hasched._scripts import AfterWrite
from hasched._write import Write, plan_write
from hasched.errors import InvalidRecord, ScheduleExists, ScheduleNotFound


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
