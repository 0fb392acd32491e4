"""Unreadable stored schedules in a running cluster: skipped, counted, logged once; the rest fire."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from cluster import ClusterFactory
from helpers import ledger, wait_for
from redis import Redis

from hasched import Scheduler
from hasched._store import Store

pytestmark = pytest.mark.slow


def test_corrupt_records_are_skipped_and_every_other_schedule_keeps_firing(
    cluster_factory: ClusterFactory, redis: Redis
) -> None:
    sched = Scheduler(redis, "cr")
    keys = Store(redis, "cr").keys
    for i in range(5):
        sched.every(f"good{i}", 0.3, "jobs.record")
    good_record = json.loads(redis.hget(keys.defs, "good0"))
    corrupt = {
        "garbage": b"\x00\xff not json at all",
        "truncated": json.dumps({**good_record, "id": "truncated"})[:40].encode(),
        "newer": json.dumps({**good_record, "id": "newer", "v": 99}).encode(),
        "badqueue": json.dumps({**good_record, "id": "badqueue", "queue": "no spaces allowed"}).encode(),
    }
    for sid in corrupt:
        sched.every(sid, 0.3, "jobs.record")
    for sid, raw in corrupt.items():
        redis.hset(keys.defs, sid, raw)  # overwritten behind hasched's back
    c = cluster_factory(namespace="cr", lease_ttl=1.5)
    for name in ("a", "b"):
        c.start_instance(name, metrics=True)
    c.start_worker()
    leader, _ = c.wait_leader()
    # many passes over the corrupt records, each of which could have logged them again
    wait_for(lambda: all(n >= 6 for n in _fires_by_schedule(redis, 5).values()), timeout=20)
    samples = c.scrape(leader)
    assert samples[("hasched_schedules_invalid_total", ())] == 4
    logged = Counter(e["schedule_id"] for e in c.instances[leader].events()
                     if e["event"] == "hasched.schedule.invalid")  # fmt: skip
    assert logged == Counter(dict.fromkeys(corrupt, 1))  # each logged once, not every tick
    assert {e["schedule_id"] for e in ledger(redis)} == {f"good{i}" for i in range(5)}
    assert all(p.alive() for p in c.instances.values())
    assert sorted(m.decode() for m in redis.smembers(keys.invalid)) == sorted(corrupt)
    # `schedule list` still works and names the unreadable ones on stderr
    found, bad = sched.describe_all()
    assert len(found) == 5 and sorted(e.schedule_id for e in bad) == sorted(corrupt)
    # rewriting a schedule brings it back
    sched.every("newer", 0.3, "jobs.record")
    wait_for(lambda: any(e["schedule_id"] == "newer" for e in ledger(redis)), timeout=10)


def _fires_by_schedule(redis: Redis, n: int) -> dict[str, int]:
    counts = Counter(e["schedule_id"] for e in ledger(redis))
    return {f"good{i}": counts[f"good{i}"] for i in range(n)}
