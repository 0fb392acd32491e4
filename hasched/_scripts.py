"""The atomic Redis steps, each one named function with a typed result.

Each Lua script lives in `hasched/lua/`, headed by its KEYS, ARGV and return value. They are
registered once per connection with `register_script`, whose `Script` objects reload themselves
after NOSCRIPT (a restarted Redis). No other module calls EVAL.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.commands.core import Script
from redis.utils import str_if_bytes

from hasched._keys import LEADERS_KEPT, Keys, parse_lease
from hasched._pipelined import Pipelined
from hasched._runs import Missed

_NAMES = ("acquire", "renew", "release", "heartbeat", "upsert", "delete", "commit", "trigger", "reindex",
          "track", "after_write", "trigger_run", "upsert_many", "release_waiting", "backfill")  # fmt: skip
# The shared functions each script starts with, in this order: runs_lib.lua for the scripts that
# write run records, clock_lib.lua and jobs_lib.lua for those that enqueue jobs, overlap_lib.lua
# for those that apply a fire's overlap policy, dedupe_lib.lua for those that decide or record
# which fires were enqueued (gaps).
_LIBS = (
    ("runs_lib", ("commit", "track", "after_write", "trigger_run", "release_waiting", "backfill")),
    ("clock_lib", ("commit", "release_waiting", "backfill")),
    ("jobs_lib", ("commit", "backfill")),
    ("overlap_lib", ("commit", "backfill")),
    ("dedupe_lib", ("commit", "after_write", "backfill")),
)


def source(name: str) -> str:
    """The text of script `name` (hasched/lua/<name>.lua), after the libraries it uses."""
    lua = resources.files("hasched").joinpath("lua")
    libs = [lib for lib, users in _LIBS if name in users]
    return "".join(lua.joinpath(f"{n}.lua").read_text() for n in [*libs, name])


# The KEYS and ARGV of the client-side scripts, built in one place for the sync `Scripts` and
# the asyncio client (hasched.aio): the same script, called the same way, over either client.
Call = tuple[list[str], list[Any]]


def upsert_call(k: Keys, sid: str, definition: str, state: str, due_us: int | None, paused: bool,
                expect: str) -> Call:  # fmt: skip
    keys = [k.defs, k.rev, k.rev_counter, k.state, k.due, k.paused, k.invalid, k.ids]
    due = "" if due_us is None else str(due_us)
    return keys, [sid, definition, state, due, "1" if paused else "0", expect, k.wake]


def upsert_many_call(k: Keys, items: list[tuple[str, str, str, int | None, bool, str]]) -> Call:
    """upsert_many.lua's KEYS and ARGV for a chunk."""
    return upsert_call(k, "", "", "", None, False, "")[0], upsert_many_args(k.wake, items)


def upsert_many_args(wake: str, items: list[tuple[str, str, str, int | None, bool, str]]) -> list[Any]:
    """upsert_many.lua's ARGV: the values grouped by the command that writes them."""
    ids = [sid for sid, *_ in items]
    defs: list[Any] = []
    states: list[Any] = []
    index: list[Any] = []
    due: list[Any] = []
    for sid, definition, state, due_us, _, _ in items:
        defs += (sid, definition)
        states += (sid, state)
        index += (0, sid)
        if due_us is not None:
            due += (due_us, sid)
    undue = [sid for sid, _, _, due_us, _, _ in items if due_us is None]
    paused = [sid for sid, *_, is_paused, _ in items if is_paused]
    unpaused = [sid for sid, *_, is_paused, _ in items if not is_paused]
    expects = [expect for *_, expect in items]
    counts = [len(items), len(due) // 2, len(paused)]
    return [wake, *counts, *ids, *expects, *defs, *states, *index, *due, *undue, *paused, *unpaused]


def delete_call(k: Keys, sid: str, keep_until_us: int, now_us: int, expired: list[str]) -> Call:
    keys = [k.defs, k.rev, k.state, k.due, k.fires, k.last_job, k.paused, k.invalid, k.ids]
    keys += [k.mark_tombstones, k.gaps, k.mark(sid), *(k.mark(gone) for gone in expired)]
    return keys, [sid, keep_until_us, now_us, *expired]


def delete_also(k: Keys, sid: str) -> list[str]:
    """What goes with a deleted schedule in the same MULTI: its run history, counters and waiting
    fires (the leader's overlap pass takes it out of the set of schedules with waiting fires)."""
    return [k.runs(sid), k.stats(sid), k.waiting(sid)]


def trigger_call(k: Keys, sid: str, now_us: int, keep_us: int) -> Call:
    return [k.out_of_order], [sid, now_us, keep_us]


@dataclass(frozen=True, slots=True)
class Grant:
    """The answer to a lease request: granted with an epoch, or who holds it now."""

    granted: bool
    epoch: int
    holder: str | None


@dataclass(frozen=True, slots=True)
class AfterWrite:
    """What a client write records besides the schedule (after_write.lua)."""

    cap: int  # the schedule's history
    note: str | None = None  # a pause note to set
    clear_note: bool = False  # drop the pause note (a resume)
    missed: Missed | None = None  # the fires that fell due while paused


class Scripts:
    """The registered scripts of one Redis connection and namespace."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.keys = keys
        self._redis = redis
        self._s: dict[str, Script] = {n: redis.register_script(source(n)) for n in _NAMES}

    def acquire(self, instance_id: str, ttl_ms: int, min_epoch: int) -> Grant:
        """Ask for the lease; a grant carries a fresh epoch above `min_epoch`."""
        k = self.keys
        args: list[str | int] = [instance_id, ttl_ms, min_epoch, LEADERS_KEPT]
        ok, value = self._s["acquire"](keys=[k.lease, k.epoch, k.leaders], args=args)
        if ok == 1:
            return Grant(True, int(value), instance_id)
        holder, epoch = parse_lease(value)
        return Grant(False, epoch, holder)

    def renew(self, lease_value: str, ttl_ms: int) -> bool:
        """Extend the lease if it is still ours with the same epoch."""
        return bool(self._s["renew"](keys=[self.keys.lease], args=[lease_value, ttl_ms]))

    def release(self, lease_value: str) -> bool:
        """Drop the lease if it is ours and wake the followers."""
        k = self.keys
        return bool(self._s["release"](keys=[k.lease], args=[lease_value, k.wake]))

    def heartbeat(self, instance_id: str, forget_after_ms: int) -> int:
        """Record a heartbeat; returns its time in ms on Redis's clock."""
        return int(self._s["heartbeat"](keys=[self.keys.instances], args=[instance_id, forget_after_ms]))

    def upsert(self, sid: str, definition: str, state: str, due_us: int | None, paused: bool, expect: str,
               after: AfterWrite | None = None) -> int:  # fmt: skip
        """Write a schedule's definition and progress; returns its new revision. With `after`,
        what the write records besides (pause note, fires missed while paused) goes with it in
        one MULTI."""
        keys, args = upsert_call(self.keys, sid, definition, state, due_us, paused, expect)
        if after is None:
            return int(self._s["upsert"](keys=keys, args=args))
        pipe = self._redis.pipeline(transaction=True)
        self._s["upsert"](keys=keys, args=args, client=pipe)
        self._after_write(pipe, sid, expect, after)
        rev, _ = pipe.execute()
        return int(rev)

    def upsert_many(
        self, items: list[tuple[tuple[str, str, str, int | None, bool, str], AfterWrite | None]]
    ) -> None:
        """Write a chunk of schedules whole or not at all (upsert_many.lua), each with what it
        records besides (`after`) in the same MULTI. ResponseError "EXISTS <id>" or "CONFLICT
        <id>" when an expectation does not hold: nothing was written."""
        keys, args = upsert_many_call(self.keys, [upsert for upsert, _ in items])
        afters = [(upsert[0], upsert[5], after) for upsert, after in items if after is not None]
        pipe = self._redis.pipeline(transaction=bool(afters))  # one script alone is atomic already
        self._s["upsert_many"](keys=keys, args=args, client=pipe)
        for sid, expect, after in afters:
            self._after_write(pipe, sid, expect, after)
        reply = pipe.execute(raise_on_error=False)[0]
        if isinstance(reply, Exception):
            raise reply

    def delete(self, sid: str, keep_until_us: int, now_us: int, expired: list[str]) -> bool:
        """Remove a schedule, keeping its mark until `keep_until_us`; first drop the `expired`
        tombstones (ids read from `mark_tombstones` with a score at or before now)."""
        keys, args = delete_call(self.keys, sid, keep_until_us, now_us, expired)
        pipe = self._redis.pipeline(transaction=True)  # its history goes with it
        self._s["delete"](keys=keys, args=args, client=pipe)
        pipe.delete(*delete_also(self.keys, sid))
        existed, _ = pipe.execute()
        return bool(existed)

    def reindex_step(self, mode: str, position: str, count: int) -> tuple[str, int]:
        """One step of rebuilding the id index: `add` indexes one HSCAN step of the definitions
        from cursor `position`; `prune` drops entries without a definition among `count` ids
        after the ZRANGEBYLEX bound `position`. Returns (where to go on, entries changed); the
        position is '0' or '' when the pass is over."""
        k = self.keys
        nxt, changed = self._s["reindex"](keys=[k.defs, k.ids], args=[mode, position, count])
        return str_if_bytes(nxt), int(changed)

    def trigger(self, sid: str, now_us: int, keep_us: int) -> int:
        """Record a manual trigger of `sid` as enqueued out of order; returns its fire time in µs
        (`now_us`, or just after it when another trigger of `sid` took that µs)."""
        keys, args = trigger_call(self.keys, sid, now_us, keep_us)
        return int(self._s["trigger"](keys=keys, args=args))

    def _after_write(self, pipe: Pipeline, sid: str, expect: str, after: AfterWrite) -> None:
        k = self.keys
        mode = "set" if after.note is not None else ("clear" if after.clear_note else "keep")
        m = after.missed
        lost = ["", "", "", ""] if m is None else [m.reason, str(m.first_us), str(m.last_us), m.count]
        args = [sid, expect, mode, after.note or "", after.cap, *lost]
        keys = [k.rev, k.runs(sid), k.stats(sid), k.mark(sid), k.gaps]
        self._s["after_write"](keys=keys, args=args, client=pipe)

    def trigger_run(self, pipe: Pipeline, sid: str, job_id: str, record: str, prefix: str, cap: int) -> None:
        """Queue, on the MULTI that enqueues a manual trigger's job, its run record."""
        k = self.keys
        keys = [k.in_flight, k.runs(sid), k.stats(sid)]
        self._s["trigger_run"](keys=keys, args=[job_id, record, prefix, cap], client=pipe)

    def track(self, keys: list[str], args: list[Any]) -> str:
        """Run the tracker's update script on a prepared batch (see `hasched._tracker`)."""
        return str_if_bytes(self._s["track"](keys=keys, args=args))

    def backfill(self, keys: list[str], args: list[Any]) -> str:
        """Run the backfill script on a prepared chunk (see `hasched._backfill`)."""
        return str_if_bytes(self._s["backfill"](keys=keys, args=args))

    def commit(self, keys: list[str], args: list[Any]) -> str:
        """Run the commit script on a prepared batch (see `hasched._commit`)."""
        return str_if_bytes(self._s["commit"](keys=keys, args=args))

    def release_waiting(self, keys: list[str], args: list[Any]) -> str:
        """Run the overlap pass's release script on a prepared batch (see `hasched._release`)."""
        return str_if_bytes(self._s["release_waiting"](keys=keys, args=args))

    def commits(self) -> Pipelined:
        """Commits sent without waiting for each answer (see `hasched._pipelined`)."""
        return Pipelined(self._redis, self._s["commit"])

    def upserts(self) -> Pipelined:
        """upsert_many.lua calls (`upsert_many_call`) sent without waiting for each answer."""
        return Pipelined(self._redis, self._s["upsert_many"])
