"""`hasched.Scheduler` for asyncio applications (FastAPI, Starlette, aiohttp), on `redis.asyncio`.

Every method of the sync `Scheduler` as a coroutine, with the same arguments, validation, errors
and results. Only the Redis calls differ: the schedule model and its validation, the plan of a
write (`hasched._store.plan_store`), the Lua scripts and their KEYS/ARGV are the sync client's.

    from redis.asyncio import Redis
    from hasched.aio import Scheduler

    s = Scheduler(Redis.from_url("redis://localhost:6379/0"))
    await s.cron("nightly", "0 3 * * *", "app.tasks.report")

`trigger` enqueues through RQ's own (sync) code in a worker thread, so the job is exactly the
one RQ would write; every other method awaits the asyncio client only.
"""

from __future__ import annotations

import asyncio
import builtins
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Unpack, cast

import redis
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from redis.utils import str_if_bytes
from rq.job import Job

from hasched._backfill import Backfilled
from hasched._choices import ListState
from hasched._dedupe import retention_us
from hasched._keys import Keys
from hasched._model import Schedule, validate
from hasched._options import TRIGGER_FIELDS, Func, ScheduleChanges, ScheduleOptions, Seconds, schedule_fields
from hasched._records import Maker, Stored, changed, check_retry, decode_loaded, load_keys, plan_store, whole
from hasched._scripts import Call, source, trigger_call, upsert_call
from hasched._settings import DEFAULT_NAMESPACE
from hasched._store import MAX_WRITE_ATTEMPTS
from hasched._triggers import US, from_us
from hasched.api import Scheduler as SyncScheduler
from hasched.api import describe, enqueue_trigger, make, next_fire_times
from hasched.errors import ConcurrentUpdate, InvalidRecord, ScheduleExists, ScheduleNotFound, ValidationError

__all__ = ["Func", "ScheduleChanges", "ScheduleOptions", "Scheduler", "Seconds"]


class Scheduler:
    """Create and manage the schedules of one namespace from asyncio (see `hasched.Scheduler`)."""

    def __init__(self, connection: Redis, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.connection = connection
        self.keys = Keys(namespace)
        self._scripts = {
            name: connection.register_script(source(name)) for name in ("upsert", "delete", "trigger")
        }
        self._sync: redis.Redis | None = None
        self._sync_api: SyncScheduler | None = None

    @classmethod
    def from_url(cls, url: str, namespace: str = DEFAULT_NAMESPACE, **redis_kwargs: Any) -> Scheduler:
        """A Scheduler on `redis.asyncio.Redis.from_url(url, **redis_kwargs)`."""
        return cls(Redis.from_url(url, **redis_kwargs), namespace)

    # -- creating -----------------------------------------------------------------------------

    async def add(self, schedule: Schedule, *, replace: bool = True) -> Schedule:
        """Store a schedule (create, or update when `replace`); returns it as stored."""
        s = validate(schedule)
        try:
            return (await self._write(s.id, whole(s, replace), repair=replace)).schedule
        except InvalidRecord:
            raise ScheduleExists(s.id) from None

    async def add_many(self, schedules: Iterable[Schedule], *, replace: bool = True, chunk: int = 1000,
                       progress: Callable[[int, int], None] | None = None) -> int:  # fmt: skip
        """Store many schedules (see `hasched.Scheduler.add_many`); `progress` is called from a
        worker thread."""
        items = builtins.list(schedules)
        sync = self._sync_scheduler()
        return await asyncio.to_thread(sync.add_many, items, replace=replace, chunk=chunk, progress=progress)

    async def cron(
        self, id: str, expr: str, func: Func, *, replace: bool = True, **options: Unpack[ScheduleOptions]
    ) -> Schedule:
        """A schedule firing at the times of a cron expression (see `hasched.Scheduler.cron`)."""
        return await self.add(make(id=id, func=func, cron=expr, **options), replace=replace)

    async def every(
        self,
        id: str,
        interval: Seconds,
        func: Func,
        *,
        replace: bool = True,
        **options: Unpack[ScheduleOptions],
    ) -> Schedule:
        """A schedule firing at start + k * interval (see `hasched.Scheduler.every`)."""
        return await self.add(make(id=id, func=func, every=interval, **options), replace=replace)

    async def at(
        self, id: str, when: datetime, func: Func, *, replace: bool = True, **options: Unpack[ScheduleOptions]
    ) -> Schedule:
        """A one-off fire at an aware datetime (see `hasched.Scheduler.at`)."""
        return await self.add(make(id=id, func=func, at=when, **options), replace=replace)

    async def enqueue_in(
        self, delay: timedelta, func: Func, *, id: str | None = None, **options: Unpack[ScheduleOptions]
    ) -> Schedule:
        """A one-off fire `delay` from now on Redis's clock (see `hasched.Scheduler.enqueue_in`)."""
        if not isinstance(delay, timedelta):
            raise ValidationError("delay", f"must be a timedelta, got {delay!r}")
        when = from_us(await self._now_us() + delay // timedelta(microseconds=1))
        sid = id or f"once-{uuid.uuid4().hex}"
        return await self.add(make(id=sid, func=func, at=when, **options), replace=False)

    async def update(self, id: str, **changes: Unpack[ScheduleChanges]) -> Schedule:
        """Change some fields of schedule `id` and keep the rest (see `hasched.Scheduler.update`)."""
        fields = schedule_fields(changes, id)
        if any(name in fields for name in TRIGGER_FIELDS):
            fields = {**dict.fromkeys(TRIGGER_FIELDS), **fields}
        return (
            await self._write(id, changed(id, lambda old: old.with_changes(**fields)), repair=False)
        ).schedule

    # -- managing ---------------------------------------------------------------------------

    async def get(self, id: str) -> Schedule:
        """The stored schedule `id` (ScheduleNotFound if there is none)."""
        return (await self._get_stored(id)).schedule

    async def list(
        self,
        *,
        match: str | None = None,
        queue: str | None = None,
        state: ListState | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> builtins.list[Schedule]:
        """The readable stored schedules in id order, filtered and paged as
        `hasched.Scheduler.list` does (each page costs O(page))."""
        sync = self._sync_scheduler()
        return await asyncio.to_thread(
            lambda: sync.list(match=match, queue=queue, state=state, limit=limit, after=after)
        )

    async def pause(self, id: str, note: str | None = None) -> Schedule:
        """Stop firing `id` until resumed, with an optional note (see `hasched.Scheduler.pause`)."""
        return await asyncio.to_thread(self._sync_scheduler().pause, id, note)

    async def resume(self, id: str) -> Schedule:
        """Fire `id` again from now on; fires missed while paused are recorded, not enqueued."""
        return await asyncio.to_thread(self._sync_scheduler().resume, id)

    async def cancel(self, id: str) -> bool:
        """Delete `id` and its history; True if it existed (see `hasched.Scheduler.cancel`)."""
        return await asyncio.to_thread(self._sync_scheduler().cancel, id)

    async def history(self, id: str, n: int = 20) -> builtins.list[dict[str, Any]]:
        """The `n` newest run records of `id`, newest first (see `hasched.Scheduler.history`)."""
        return await asyncio.to_thread(self._sync_scheduler().history, id, n)

    async def backfill(self, id: str, start: datetime, end: datetime, overlap: str | None = None, *,
                       dry_run: bool = False) -> Backfilled:  # fmt: skip
        """Enqueue the fire times of `id` in (start, end] that were not enqueued before (see
        `hasched.Scheduler.backfill`); the sync code runs in a worker thread."""
        return await asyncio.to_thread(
            self._sync_scheduler().backfill, id, start, end, overlap, dry_run=dry_run
        )

    async def trigger(self, id: str) -> Job:
        """Enqueue one extra run of `id` now; returns the RQ job (see `hasched.Scheduler.trigger`)."""
        s = await self.get(id)
        call = trigger_call(self.keys, s.id, await self._now_us(), retention_us(s.catchup_window))
        now_us = int(await self._call("trigger", call))
        return await asyncio.to_thread(enqueue_trigger, self._sync_client(), self.keys, s, now_us)

    async def next_fire_times(
        self, id: str, n: int = 5, after: datetime | None = None
    ) -> builtins.list[datetime]:
        """The next `n` nominal fire times of `id` strictly after `after` (default: now)."""
        s = await self.get(id)
        return next_fire_times(s, n, after or from_us(await self._now_us()))

    async def describe(self, id: str) -> dict[str, Any]:
        """The schedule as `hasched.Scheduler.describe` gives it: fields, `next_fire`, `fires`,
        counters, last outcomes, recent runs, upcoming fire times and the pause note."""
        return await asyncio.to_thread(self._sync_scheduler().describe, id)

    async def describe_all(self) -> tuple[builtins.list[dict[str, Any]], builtins.list[InvalidRecord]]:
        """Every stored schedule described, and the unreadable ones."""
        loaded = await self._load_all()
        good = [describe(x) for x in loaded if isinstance(x, Stored)]
        bad = [x for x in loaded if isinstance(x, InvalidRecord)]
        return sorted(good, key=lambda d: str(d["id"])), bad

    # -- Redis I/O ------------------------------------------------------------------------------

    async def _now_us(self) -> int:
        sec, usec = await self.connection.time()
        return int(sec) * US + int(usec)

    async def _call(self, name: str, call: Call) -> Any:
        keys, args = call
        return await self._scripts[name](keys=keys, args=args)

    async def _write(self, sid: str, make: Maker, *, repair: bool) -> Stored:
        """As the sync store: read, plan, write expecting the read revision; again on a conflict."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            try:
                now = await self._now_us()
                todo = plan_store((await self._load_many([sid]))[0], make, now, repair=repair)
                if isinstance(todo, Stored):
                    return todo
                if todo.after() is not None:  # a pause flipped: its record goes in the same MULTI
                    return await asyncio.to_thread(
                        self._sync_scheduler()._store.update_with, sid, make, repair
                    )
                return todo.stored(
                    int(await self._call("upsert", upsert_call(self.keys, *todo.upsert_args())))
                )
            except ResponseError as e:
                check_retry(e, sid, repair)
        raise ConcurrentUpdate(sid, MAX_WRITE_ATTEMPTS)

    async def _get_stored(self, sid: str) -> Stored:
        loaded = (await self._load_many([sid]))[0]
        if isinstance(loaded, InvalidRecord):
            raise loaded
        if loaded is None:
            raise ScheduleNotFound(sid)
        return loaded

    async def _load_many(self, ids: builtins.list[str]) -> builtins.list[Stored | InvalidRecord | None]:
        pipe = self.connection.pipeline(transaction=False)
        for key in load_keys(self.keys, True):
            pipe.hmget(key, ids)
        return decode_loaded(ids, await pipe.execute(), True)

    async def _load_all(self, batch: int = 500) -> builtins.list[Stored | InvalidRecord]:
        ids = [
            str_if_bytes(cast(bytes, i))
            async for i, _ in self.connection.hscan_iter(self.keys.defs, count=batch)
        ]
        out: builtins.list[Stored | InvalidRecord] = []
        for start in range(0, len(ids), batch):
            out += [x for x in await self._load_many(ids[start : start + batch]) if x is not None]
        return out

    def _sync_scheduler(self) -> SyncScheduler:
        """The sync Scheduler on the same server and namespace: what records runs (pause notes,
        missed stretches, history) is written by its code, in a worker thread, never restated."""
        if self._sync_api is None:
            self._sync_api = SyncScheduler(self._sync_client(), self.keys.namespace)
        return self._sync_api

    def _sync_client(self) -> redis.Redis:
        """A sync client to the same server, for RQ's enqueue (made once, on first use)."""
        if self._sync is None:
            pool = self.connection.connection_pool
            connection_class = getattr(redis.connection, pool.connection_class.__name__)
            self._sync = redis.Redis(
                connection_pool=redis.ConnectionPool(
                    connection_class=connection_class, **pool.connection_kwargs
                )
            )
        return self._sync
