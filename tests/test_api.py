"""The Python API against a real Redis: from_url, update, durations as timedelta, trigger's Job,
and what a writer that keeps losing races gets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import ledger
from redis import Redis
from redis_server import RedisServer
from rq import Queue, SimpleWorker
from rq.job import Job

from hasched import HaschedError, Scheduler, ValidationError
from hasched._lease import Lease
from hasched._store import MAX_WRITE_ATTEMPTS, Store
from hasched._tick import Ticker
from hasched._triggers import US, from_us
from hasched.errors import ConcurrentUpdate, ScheduleNotFound

NS = "api"


class Rival(Redis):
    """A client whose schedule writes always lose a race, `races` times: just before each of
    its writes reaches Redis, another client rewrites the same schedule (a real second writer,
    through the public API, between this client's read and its write)."""

    def __init__(self, races: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.races = races
        self.rival = Scheduler(Redis(**kwargs), NS)
        self.defs_key = Store(self, NS).keys.defs

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:  # type: ignore[override]
        if self.races > 0 and numkeys and keys_and_args[0] == self.defs_key:  # an upsert
            self.races -= 1
            self.rival.update(keys_and_args[numkeys], description=f"rival {self.races}")
        return super().evalsha(sha, numkeys, *keys_and_args)


def rival(server: RedisServer, races: int) -> Scheduler:
    return Scheduler(Rival(races, host="127.0.0.1", port=server.port, password=server.password), NS)


def test_a_writer_that_loses_every_race_gets_concurrent_update(
    redis: Redis, redis_server: RedisServer
) -> None:
    Scheduler(redis, NS).every("contended", 60, "jobs.record")
    loser = rival(redis_server, races=10_000)
    with pytest.raises(ConcurrentUpdate) as e:
        loser.update("contended", queue="mine")
    assert isinstance(e.value, HaschedError)
    assert (e.value.schedule_id, e.value.attempts) == ("contended", MAX_WRITE_ATTEMPTS)
    assert "contended" in str(e.value)
    stored = Scheduler(redis, NS).get("contended")
    assert (stored.queue, stored.description) == ("default", f"rival {10_000 - MAX_WRITE_ATTEMPTS}")


def test_a_lost_race_is_retried_on_what_the_other_writer_stored(
    redis: Redis, redis_server: RedisServer
) -> None:
    Scheduler(redis, NS).every("contended", 60, "jobs.record")
    changed = rival(redis_server, races=3).update("contended", queue="mine")
    assert (changed.queue, changed.description) == ("mine", "rival 0")  # both writes kept
    assert Scheduler(redis, NS).get("contended") == changed


def test_from_url_uses_the_url_and_the_namespace(redis: Redis, redis_server: RedisServer) -> None:
    url = redis_server.url.removesuffix("/0") + "/3"
    s = Scheduler.from_url(url, namespace="elsewhere", socket_timeout=5)
    s.every("from-url", 60, "jobs.record")
    on_db3 = Redis(host="127.0.0.1", port=redis_server.port, password=redis_server.password, db=3)
    assert [x.id for x in Scheduler(on_db3, "elsewhere").list()] == ["from-url"]
    assert Scheduler(on_db3, NS).list() == []  # another namespace
    assert Scheduler(redis, "elsewhere").list() == []  # another database
    assert s.connection.connection_pool.connection_kwargs["socket_timeout"] == 5


def test_durations_accept_timedelta(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    hour = timedelta(hours=1)
    s.every("td", timedelta(minutes=1, milliseconds=500), "jobs.record", jitter=timedelta(seconds=2),
            catchup_window=hour, timeout=timedelta(minutes=2), result_ttl=hour, ttl=hour,
            failure_ttl=timedelta(days=1))  # fmt: skip
    got = s.get("td")
    assert (got.every, got.jitter, got.catchup_window) == (60.5, 2.0, 3600.0)
    assert (got.timeout, got.result_ttl, got.ttl, got.failure_ttl) == (120, 3600, 3600, 86400)
    assert s.update("td", every=timedelta(seconds=30)).every == 30.0
    with pytest.raises(ValidationError) as e:
        s.cron("frac", "* * * * *", "jobs.record", timeout=timedelta(seconds=1.5))
    assert (e.value.field, e.value.schedule_id) == ("timeout", "frac")


def leader(redis: Redis) -> tuple[Store, Lease, Ticker]:
    store = Store(redis, NS)
    lease = Lease(store.scripts, "a", 10)
    assert lease.try_acquire()
    return store, lease, Ticker(store, redis)


def test_update_keeps_the_progress_and_never_doubles_a_fire(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    store, lease, ticker = leader(redis)
    start = from_us(store.now_us()) - timedelta(seconds=30)
    s.every("iv", 60, "jobs.record", start=start, catchup="all")  # first fire: start + 60 s
    first_due = store.now_us() + 30 * US
    assert len(ticker.tick(lease.value, lease.epoch, first_due).outcome.enqueued) == 1
    before = store.get_stored("iv").state
    changed = s.update("iv", queue="other", description="moved", kwargs={"tag": "x"})
    assert (changed.queue, changed.description, changed.every, changed.start) == ("other", "moved", 60, start)
    assert store.get_stored("iv").state == before  # progress kept
    assert ticker.tick(lease.value, lease.epoch, first_due).planned == 0  # nothing re-fires
    second = ticker.tick(lease.value, lease.epoch, first_due + 60 * US).outcome.enqueued
    assert [f.queue for f in second] == ["other"]
    assert Queue("default", connection=redis).count == Queue("other", connection=redis).count == 1


def test_update_of_the_trigger_replaces_it_and_starts_from_now(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    s.every("iv", 60, "jobs.record", repeat=5)
    now = Store(redis, NS).now_us()
    s.update("iv", cron="0 3 * * *", timezone="Europe/Paris")
    stored = Store(redis, NS).get_stored("iv")
    assert (stored.schedule.every, stored.schedule.cron, stored.schedule.repeat) == (None, "0 3 * * *", 5)
    assert stored.state.n == 0 and stored.state.next_us is not None
    assert now < stored.state.next_us <= now + 86400 * US
    assert from_us(stored.state.next_us).astimezone(ZoneInfo("Europe/Paris")).hour == 3


def test_update_refuses_unknown_fields_and_missing_schedules(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    s.every("iv", 60, "jobs.record")
    with pytest.raises(ValidationError) as e:
        s.update("iv", qeue="x")  # type: ignore[call-arg]
    assert (e.value.field, e.value.schedule_id) == ("qeue", "iv")
    with pytest.raises(ValidationError) as bad:
        s.update("iv", every=0)
    assert bad.value.field == "every"
    assert s.get("iv").every == 60  # nothing written
    with pytest.raises(ScheduleNotFound):
        s.update("missing", queue="x")


def test_trigger_returns_the_rq_job(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    s.cron("nightly", "0 3 * * *", "jobs.record", kwargs={"tag": "extra"}, queue="q1")
    job = s.trigger("nightly")
    assert isinstance(job, Job)
    fetched = Job.fetch(job.id, connection=redis)
    assert fetched.meta["hasched_schedule_id"] == "nightly"
    assert Queue("q1", connection=redis).job_ids == [job.id]
    SimpleWorker([Queue("q1", connection=redis)], connection=redis).work(burst=True)
    assert Job.fetch(job.id, connection=redis).get_status() == "finished"
    assert [(e["schedule_id"], e["job_id"], e["tag"]) for e in ledger(redis)] == [
        ("nightly", job.id, "extra")
    ]
