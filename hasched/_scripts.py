"""The atomic Redis steps, each one named function with a typed result.

Each Lua script lives in `hasched/lua/`, headed by its KEYS, ARGV and return value. They are
registered once per connection with `register_script`, whose `Script` objects reload themselves
after NOSCRIPT (a restarted Redis). No other module calls EVAL.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from importlib import resources
from types import TracebackType
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.commands.core import Script
from redis.connection import ConnectionPool
from redis.exceptions import NoScriptError
from redis.utils import HIREDIS_AVAILABLE, str_if_bytes

from hasched._keys import LEADERS_KEPT, Keys, parse_lease
from hasched._runs import Missed

if HIREDIS_AVAILABLE:  # redis-py packs with it too; called here without its per-argument checks
    import hiredis

_NAMES = ("acquire", "renew", "release", "heartbeat", "upsert", "delete", "commit", "trigger", "reindex",
          "track", "after_write", "trigger_run", "upsert_many")  # fmt: skip
# The scripts that write run records start with the shared functions of runs_lib.lua.
_WITH_RUNS_LIB = ("commit", "track", "after_write", "trigger_run")


def source(name: str) -> str:
    """The text of script `name` (hasched/lua/<name>.lua), after runs_lib.lua when it writes runs."""
    lua = resources.files("hasched").joinpath("lua")
    text = lua.joinpath(f"{name}.lua").read_text()
    return lua.joinpath("runs_lib.lua").read_text() + text if name in _WITH_RUNS_LIB else text


# The KEYS and ARGV of the client-side scripts, built in one place for the sync `Scripts` and
# the asyncio client (hasched.aio): the same script, called the same way, over either client.
Call = tuple[list[str], list[Any]]


def upsert_call(k: Keys, sid: str, definition: str, state: str, due_us: int | None, paused: bool,
                expect: str) -> Call:  # fmt: skip
    keys = [k.defs, k.rev, k.rev_counter, k.state, k.due, k.paused, k.invalid, k.ids]
    due = "" if due_us is None else str(due_us)
    return keys, [sid, definition, state, due, "1" if paused else "0", expect, k.wake]


def delete_call(k: Keys, sid: str, keep_until_us: int, now_us: int, expired: list[str]) -> Call:
    keys = [k.defs, k.rev, k.state, k.due, k.fires, k.last_job, k.paused, k.invalid, k.ids]
    keys += [k.mark_tombstones, k.mark(sid), *(k.mark(gone) for gone in expired)]
    return keys, [sid, keep_until_us, now_us, *expired]


def delete_also(k: Keys, sid: str) -> list[str]:
    """What goes with a deleted schedule in the same MULTI: its run history and counters."""
    return [k.runs(sid), k.stats(sid)]


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
        args: list[Any] = [self.keys.wake]
        for (sid, definition, state, due_us, paused, expect), _ in items:
            args += [
                sid,
                definition,
                state,
                "" if due_us is None else str(due_us),
                "1" if paused else "0",
                expect,
            ]
        keys = upsert_call(self.keys, "", "", "", None, False, "")[0]
        pipe = self._redis.pipeline(transaction=True)
        self._s["upsert_many"](keys=keys, args=args, client=pipe)
        for (sid, *_, expect), after in items:
            if after is not None:
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
        self._s["after_write"](keys=[k.rev, k.runs(sid), k.stats(sid)], args=args, client=pipe)

    def trigger_run(self, pipe: Pipeline, sid: str, job_id: str, record: str, prefix: str, cap: int) -> None:
        """Queue, on the MULTI that enqueues a manual trigger's job, its run record."""
        k = self.keys
        keys = [k.in_flight, k.runs(sid), k.stats(sid)]
        self._s["trigger_run"](keys=keys, args=[job_id, record, prefix, cap], client=pipe)

    def track(self, keys: list[str], args: list[Any]) -> str:
        """Run the tracker's update script on a prepared batch (see `hasched._tracker`)."""
        return str_if_bytes(self._s["track"](keys=keys, args=args))

    def commit(self, keys: list[str], args: list[Any]) -> str:
        """Run the commit script on a prepared batch (see `hasched._commit`)."""
        return str_if_bytes(self._s["commit"](keys=keys, args=args))

    def commits(self) -> Commits:
        """Commits sent without waiting for each answer (see `Commits`)."""
        return Commits(self._redis, self._s["commit"])


class Commits:
    """Commit script calls sent one after another on one connection, each answer read later: the
    leader builds the next batch while Redis runs the one before. Each call stays one atomic,
    fenced script run; answers come back in the order sent. Use as a context manager: a
    connection left with answers unread (an error on the way) is closed, never reused."""

    def __init__(self, redis: Redis, script: Script) -> None:
        self._redis = redis
        self._script = script
        self._pool: ConnectionPool = redis.connection_pool
        self._conn: Any = None
        self._sent: deque[tuple[list[str], list[Any]]] = deque()

    def __enter__(self) -> Commits:
        try:
            self._conn = self._pool.get_connection()
        except TypeError:  # redis-py before 5.3 wants the command's name
            self._conn = self._pool.get_connection("EVALSHA")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        if kind is not None or self._sent:
            self._conn.disconnect()
        self._pool.release(self._conn)

    @property
    def pending(self) -> int:
        """Calls sent whose answer was not read yet."""
        return len(self._sent)

    def send(self, keys: list[str], args: list[Any]) -> None:
        """Send one commit (the batch's KEYS and ARGV) without waiting for its answer."""
        command = ("EVALSHA", self._script.sha, len(keys), *keys, *args)
        packed = [hiredis.pack_command(command)] if HIREDIS_AVAILABLE else self._conn.pack_command(*command)
        self._conn.send_packed_command(packed)
        self._sent.append((keys, args))

    def receive(self) -> str:
        """The answer to the oldest commit not read yet. One that found the script gone from
        Redis (a restart: nothing of it ran) is run again on its own, the script loaded first."""
        keys, args = self._sent[0]
        try:
            reply = self._conn.read_response()
        except NoScriptError:
            reply = self._script(keys=keys, args=args)  # `Script` loads it after NOSCRIPT
        self._sent.popleft()
        return str(str_if_bytes(reply))
