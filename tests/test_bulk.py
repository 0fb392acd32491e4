"""Scheduler.add_many against a real Redis: all or nothing before writing, one atomic write per
chunk, the single write's rules kept (progress, revisions, id index, wake-up), progress calls."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from helpers import redis_now, wait_for
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis_server import RedisServer

import hasched.aio
from hasched import Scheduler, ValidationError
from hasched._lease import Lease
from hasched._model import Schedule
from hasched._store import Store
from hasched._tick import Ticker
from hasched.api import make
from hasched.errors import ScheduleExists

NS = "bulk"


def every(i: int, **fields: object) -> Schedule:
    return make(id=f"s{i}", func="jobs.add", every=60, args=[i], **fields)


def stored_ids(redis: Redis) -> list[str]:
    return sorted(x.decode() for x in redis.hkeys(Store(redis, NS).keys.defs))


def test_writes_all_keeps_the_index_and_reports_progress(redis: Redis) -> None:
    calls: list[tuple[int, int]] = []
    n = Scheduler(redis, NS).add_many(
        (every(i) for i in range(5)), chunk=2, progress=lambda *a: calls.append(a)
    )
    assert n == 5
    assert calls == [(2, 5), (4, 5), (5, 5)]
    keys = Store(redis, NS).keys
    assert stored_ids(redis) == [f"s{i}" for i in range(5)]
    assert sorted(x.decode() for x in redis.zrange(keys.ids, 0, -1)) == stored_ids(redis)
    assert redis.zcard(keys.due) == 5
    assert [s.id for s in Scheduler(redis, NS).list()] == [f"s{i}" for i in range(5)]


@pytest.mark.parametrize(
    "bad",
    [
        dataclasses.replace(every(9), queue="no spaces allowed"),  # a field
        every(1),  # the same id twice
        "s9",  # not a Schedule
    ],
)
def test_a_bad_schedule_anywhere_writes_nothing(redis: Redis, bad: object) -> None:
    with pytest.raises(ValidationError):
        Scheduler(redis, NS).add_many([every(0), every(1), every(2), bad], chunk=1)  # type: ignore[list-item]
    assert stored_ids(redis) == []


def test_a_stale_one_off_in_the_last_chunk_writes_nothing(redis: Redis) -> None:
    old = make(id="old", func="jobs.add", at=redis_now(redis) - timedelta(hours=2), catchup_window=60)
    with pytest.raises(ValidationError) as e:
        Scheduler(redis, NS).add_many([every(0), every(1), old], chunk=1)
    assert e.value.schedule_id == "old"
    assert stored_ids(redis) == []


def test_an_existing_one_without_replace_writes_nothing(redis: Redis) -> None:
    Scheduler(redis, NS).add(every(3))
    with pytest.raises(ScheduleExists):
        Scheduler(redis, NS).add_many([every(0), every(3)], replace=False, chunk=1)
    assert stored_ids(redis) == ["s3"]


def test_a_chunk_refused_at_write_time_is_written_not_at_all(redis: Redis) -> None:
    # Between the first chunk's write and the second's, another client creates s3: the second
    # chunk (s2, s3) is refused whole, the first stays written.
    rival = Scheduler(redis, NS)
    with pytest.raises(ScheduleExists):
        Scheduler(redis, NS).add_many(
            [every(0), every(1), every(2), every(3)], replace=False, chunk=2,
            progress=lambda done, _: rival.add(every(3, description="rival")) if done == 2 else None,
        )  # fmt: skip
    assert stored_ids(redis) == ["s0", "s1", "s3"]
    assert Scheduler(redis, NS).get("s3").description == "rival"


def test_a_conflicting_chunk_is_read_and_written_again(redis: Redis) -> None:
    api = Scheduler(redis, NS)
    api.add(every(3, description="before"))
    n = api.add_many(
        [every(0), every(1), every(2), every(3, description="ours")], chunk=2,
        progress=lambda done, _: api.add(every(3, description="rival")) if done == 2 else None,
    )  # fmt: skip
    assert n == 4
    assert api.get("s3").description == "ours"


def test_replace_keeps_progress_unless_the_fire_times_change(redis: Redis) -> None:
    store, api = Store(redis, NS), Scheduler(redis, NS)
    start = redis_now(redis) - timedelta(seconds=30)
    first = [make(id=f"s{i}", func="jobs.add", every=60, start=start, args=[i]) for i in range(3)]
    api.add_many(first)
    lease = Lease(store.scripts, "bulk", 10)
    assert lease.try_acquire()
    Ticker(store, redis).tick(lease.value, lease.epoch, store.now_us() + 31_000_000)  # fire once each
    before = {s.schedule.id: s for s in store.iter_all() if not isinstance(s, Exception)}
    assert {s.state.n for s in before.values()} == {1}
    changed = [first[0].with_changes(description="new"), first[1], first[2].with_changes(every=120)]
    assert api.add_many(changed) == 3
    after = {s.schedule.id: s for s in store.iter_all() if not isinstance(s, Exception)}
    assert after["s0"].state == before["s0"].state and after["s0"].rev != before["s0"].rev
    assert after["s1"].state == before["s1"].state
    assert after["s2"].state.n == 0  # new fire times: it starts afresh


def test_a_chunk_wakes_the_leader(redis: Redis) -> None:
    sub = redis.pubsub()
    sub.subscribe(Store(redis, NS).keys.wake)
    wait_for(lambda: sub.get_message(timeout=0.1))  # the subscribe confirmation
    Scheduler(redis, NS).add_many([every(0), every(1)])
    message = wait_for(lambda: sub.get_message(timeout=0.1))
    assert message["data"] == b"schedule"
    sub.close()


def test_the_async_client_writes_the_same(redis: Redis, redis_server: RedisServer) -> None:
    async def call() -> int:
        client = AsyncRedis.from_url(redis_server.url)
        try:
            return await hasched.aio.Scheduler(client, NS).add_many([every(0), every(1)], chunk=1)
        finally:
            await client.aclose()

    assert asyncio.run(call()) == 2
    assert stored_ids(redis) == ["s0", "s1"]
