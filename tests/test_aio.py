"""hasched.aio.Scheduler: every method against a real Redis gives what the sync Scheduler gives."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis_server import RedisServer
from rq.job import Job

import hasched.aio
from hasched import HaschedError, Schedule, Scheduler
from hasched._codec import to_dict
from hasched.api import make

START = datetime(2030, 1, 1, tzinfo=UTC)
PAST = datetime(2020, 1, 1, tzinfo=UTC)

# (method, args, kwargs): a session touching every method, errors included. Run once through each
# client, in its own namespace; the outcomes must be the same.
SESSION: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("cron", ("c1", "0 3 * * *", "jobs.record"), {"timezone": "Europe/Paris", "kwargs": {"tag": "x"}}),
    ("every", ("e1", timedelta(minutes=1), "jobs.record"), {"start": START, "jitter": 2}),
    ("at", ("a1", START, "jobs.add"), {"args": [1, 2], "queue": "math"}),
    ("add", (make(id="x1", func="jobs.add", every=5, start=START),), {}),
    ("add", (make(id="x1", func="jobs.add", every=5, start=START),), {"replace": False}),
    ("cron", ("c1", "0 4 * * *", "jobs.record"), {"replace": False}),
    ("cron", ("bad id!", "* * * * *", "jobs.record"), {}),
    ("cron", ("c2", "61 * * * *", "jobs.record"), {}),
    ("at", ("a2", datetime(2030, 1, 1), "jobs.record"), {}),
    ("enqueue_in", (timedelta(hours=1), "jobs.record"), {"id": "in1", "meta": {"k": 1}}),
    ("enqueue_in", (5, "jobs.record"), {}),
    ("update", ("c1",), {"queue": "low", "description": "d"}),
    ("update", ("c1",), {"every": 30}),
    ("update", ("c1",), {"bogus": 1}),
    ("update", ("missing",), {"queue": "q"}),
    ("get", ("c1",), {}),
    ("get", ("missing",), {}),
    ("pause", ("e1",), {}),
    ("describe", ("e1",), {}),
    ("pause", ("e1",), {"note": "db migration"}),
    ("describe", ("e1",), {}),
    ("resume", ("e1",), {}),
    ("pause", ("missing",), {}),
    ("next_fire_times", ("e1", 3, START), {}),
    ("next_fire_times", ("e1", 0, START), {}),
    ("describe", ("a1",), {}),
    ("list", (), {}),
    ("describe_all", (), {}),
    ("trigger", ("a1",), {}),
    ("describe", ("a1",), {}),
    ("trigger", ("missing",), {}),
    ("history", ("a1",), {}),
    ("history", ("missing",), {}),
    ("every", ("b1", 60, "jobs.record"), {"start": PAST, "paused": True}),
    ("backfill", ("b1", PAST, PAST + timedelta(minutes=10)), {"dry_run": True}),
    ("backfill", ("b1", PAST, PAST + timedelta(minutes=10)), {}),
    ("backfill", ("b1", PAST, PAST + timedelta(minutes=20)), {"overlap": "skip"}),
    ("backfill", ("b1", PAST + timedelta(minutes=10), PAST), {}),
    ("list", (), {"limit": 2, "after": "c1"}),
    ("list", (), {"state": "paused"}),
    ("list", (), {"state": "bogus"}),
    ("cancel", ("a1",), {}),
    ("cancel", ("a1",), {}),
    ("list", (), {}),
]


def outcome(value: Any) -> Any:
    """A result in comparable form: what does not depend on the moment it was made."""
    if isinstance(value, Schedule):
        data = to_dict(value)
        if value.id == "in1" or value.every == 30:
            data.pop("at", None), data.pop("start", None)  # now + delay; the start of a new interval
        return data
    if isinstance(value, Job):
        return ("job", value.func_name, value.args, value.origin, value.meta["hasched_schedule_id"])
    if isinstance(value, list):
        return [outcome(v) for v in value]
    if isinstance(value, tuple):
        return tuple(outcome(v) for v in value)
    if isinstance(value, dict) and "kind" in value:  # a run record: its times are the moment's
        return (value["kind"], value["status"])
    if isinstance(value, dict):  # describe(): drop what depends on now, as for a Schedule
        moment = {"c1": ("start", "next_fire", "upcoming"), "in1": ("at", "next_fire", "upcoming")}
        return {k: outcome(v) for k, v in value.items() if k not in moment.get(value.get("id"), ())}
    return value


def run_session(call: Callable[[str, tuple[Any, ...], dict[str, Any]], Any]) -> list[Any]:
    out = []
    for name, args, kwargs in SESSION:
        try:
            out.append((name, outcome(call(name, args, kwargs))))
        except HaschedError as e:
            out.append((name, type(e).__name__, str(e)))
    return out


@pytest.mark.parametrize("flavour", ["sync", "aio"])
def test_every_method_gives_what_the_other_client_gives(
    redis: Redis, redis_server: RedisServer, flavour: str
) -> None:
    sync = Scheduler(redis, "sync")
    expected = run_session(lambda name, args, kwargs: getattr(sync, name)(*args, **kwargs))

    def via_aio(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        async def call() -> Any:
            client = AsyncRedis.from_url(redis_server.url)
            try:
                return await getattr(hasched.aio.Scheduler(client, "aio"), name)(*args, **kwargs)
            finally:
                await client.aclose()

        return asyncio.run(call())

    got = run_session(via_aio) if flavour == "aio" else expected
    assert got == expected
    errors = [x for x in got if len(x) == 3]
    assert len(errors) == 15, errors  # the session does meet every kind of refusal
    assert {x[1] for x in errors} == {"ValidationError", "ScheduleExists", "ScheduleNotFound"}
    assert sorted(redis.hkeys(f"{{{flavour}}}:defs")) == [b"b1", b"c1", b"e1", b"in1", b"x1"]  # a1 cancelled


def test_the_async_client_has_every_method_of_the_sync_one() -> None:
    public = {n for n, _ in inspect.getmembers(Scheduler) if not n.startswith("_")}
    aio = {n for n, _ in inspect.getmembers(hasched.aio.Scheduler) if not n.startswith("_")}
    assert public <= aio | {"connection"}
    for name in public - {"from_url", "connection"}:
        assert inspect.iscoroutinefunction(getattr(hasched.aio.Scheduler, name)), name
