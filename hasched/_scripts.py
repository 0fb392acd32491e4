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
from redis.commands.core import Script
from redis.utils import str_if_bytes

from hasched._keys import Keys, parse_lease

_NAMES = ("acquire", "renew", "release", "heartbeat", "upsert", "delete", "commit", "trigger", "reindex")


def source(name: str) -> str:
    """The text of script `name` (hasched/lua/<name>.lua)."""
    return resources.files("hasched").joinpath("lua", f"{name}.lua").read_text()


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


def trigger_call(k: Keys, sid: str, now_us: int, keep_us: int) -> Call:
    return [k.out_of_order], [sid, now_us, keep_us]


@dataclass(frozen=True, slots=True)
class Grant:
    """The answer to a lease request: granted with an epoch, or who holds it now."""

    granted: bool
    epoch: int
    holder: str | None


class Scripts:
    """The registered scripts of one Redis connection and namespace."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.keys = keys
        self._s: dict[str, Script] = {n: redis.register_script(source(n)) for n in _NAMES}

    def acquire(self, instance_id: str, ttl_ms: int, min_epoch: int) -> Grant:
        """Ask for the lease; a grant carries a fresh epoch above `min_epoch`."""
        k = self.keys
        ok, value = self._s["acquire"](keys=[k.lease, k.epoch], args=[instance_id, ttl_ms, min_epoch])
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

    def upsert(
        self, sid: str, definition: str, state: str, due_us: int | None, paused: bool, expect: str
    ) -> int:
        """Write a schedule's definition and progress; returns its new revision."""
        keys, args = upsert_call(self.keys, sid, definition, state, due_us, paused, expect)
        return int(self._s["upsert"](keys=keys, args=args))

    def delete(self, sid: str, keep_until_us: int, now_us: int, expired: list[str]) -> bool:
        """Remove a schedule, keeping its mark until `keep_until_us`; first drop the `expired`
        tombstones (ids read from `mark_tombstones` with a score at or before now)."""
        keys, args = delete_call(self.keys, sid, keep_until_us, now_us, expired)
        return bool(self._s["delete"](keys=keys, args=args))

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

    def commit(self, keys: list[str], args: list[Any]) -> str:
        """Run the commit script on a prepared batch (see `hasched._commit`)."""
        return str_if_bytes(self._s["commit"](keys=keys, args=args))
