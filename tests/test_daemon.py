"""The daemon loop in-process against a real Redis: fencing, step-down, shutdown."""

from __future__ import annotations

import json

from redis import Redis
from rq import Queue
from structlog.testing import capture_logs

from hasched import Scheduler
from hasched._daemon import Daemon
from hasched._settings import Connection, RunSettings
from hasched._triggers import from_us

NS = "d"


def daemon(redis: Redis, name: str = "me") -> Daemon:
    settings = RunSettings(connection=Connection(namespace=NS), instance_id=name, lease_ttl=10)
    return Daemon(settings, redis)


def skipped(d: Daemon, reason: str) -> float:
    return d.metrics.registry.get_sample_value("hasched_fires_skipped_total", {"reason": reason}) or 0.0


def test_leader_whose_lease_was_taken_is_fenced_and_steps_down(redis: Redis) -> None:
    d = daemon(redis)
    d._iteration()
    assert d.lease.held and d.metrics.registry.get_sample_value("hasched_leader") == 1
    # While this leader "slept", its lease expired and another instance got a higher epoch.
    redis.set(d.store.keys.lease, f"other|{d.lease.epoch + 1}")
    Scheduler(redis, NS).at("x", from_us(d.store.now_us()), "jobs.record")
    with capture_logs() as logs:
        d._lead()
    assert Queue("default", connection=redis).count == 0
    assert skipped(d, "fenced") == 1
    assert not d.lease.held
    assert d.metrics.registry.get_sample_value("hasched_leader") == 0
    fenced = [e for e in logs if e["event"] == "hasched.lease.fenced"]
    assert fenced == [
        {"event": "hasched.lease.fenced", "instance_id": "me", "epoch": 1, "fires": 1, "log_level": "error"}
    ]
    lost = d.metrics.registry.get_sample_value("hasched_leader_transitions_total", {"event": "lost"})
    assert lost == 1


def test_graceful_stop_releases_the_lease_and_leaves_the_registry(redis: Redis) -> None:
    d = daemon(redis)
    d._iteration()
    assert redis.zscore(d.store.keys.instances, "me") is not None
    with capture_logs() as logs:
        d._shutdown()
    assert redis.get(d.store.keys.lease) is None
    assert redis.zscore(d.store.keys.instances, "me") is None
    released = {"event": "hasched.lease.released", "instance_id": "me", "epoch": 1, "log_level": "info"}
    assert released in logs


def test_follower_does_not_lead_and_epoch_only_goes_up(redis: Redis) -> None:
    a, b = daemon(redis, "a"), daemon(redis, "b")
    a._iteration()
    b._iteration()
    assert a.lease.held and not b.lease.held
    assert b.lease.epoch == a.lease.epoch == 1
    redis.flushall()  # Redis lost everything (restart without persistence) ...
    a.lease.step_down()
    b._next_acquire = 0.0
    b._iteration()
    assert b.lease.held and b.lease.epoch == 2  # ... yet the new epoch is above every one seen


def test_missed_fires_are_counted_and_logged_with_schedule_and_fire_time(redis: Redis) -> None:
    d = daemon(redis)
    d._iteration()
    now = d.store.now_us()
    Scheduler(redis, NS).every("late", 60, "jobs.record", catchup="skip", start=from_us(now - 600_000_000))
    # all instances were down for ten minutes: put the schedule's progress back that far
    first = now - 600_000_000 + 60_000_000
    redis.hset(d.store.keys.state, "late", json.dumps({"next": first, "n": 0}))
    redis.zadd(d.store.keys.due, {"late": first})
    with capture_logs() as logs:
        d._lead()
    assert skipped(d, "missed") == 9
    missed = [e for e in logs if e["event"] == "hasched.fire.missed"]
    assert missed == [{"event": "hasched.fire.missed", "instance_id": "me", "schedule_id": "late",
                       "fire_time": from_us(first).isoformat(), "count": 9, "log_level": "info"}]  # fmt: skip
