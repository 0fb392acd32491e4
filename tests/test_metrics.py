"""Metrics and endpoints scraped over real HTTP from running `hasched run` processes."""

from __future__ import annotations

import json
import signal
from collections import Counter

import pytest
from cluster import ClusterFactory
from helpers import all_recorded, ledger, redis_now, wait_for
from redis import Redis
from redis_server import RedisServer

from hasched import Scheduler, __version__

pytestmark = pytest.mark.slow

PUBLIC_METRICS = {
    "hasched_leader", "hasched_leader_epoch", "hasched_heartbeat_timestamp_seconds",
    "hasched_lease_renewals_total", "hasched_leader_transitions_total", "hasched_fires_enqueued_total",
    "hasched_fires_skipped_total", "hasched_fire_lag_seconds_bucket", "hasched_fire_lag_seconds_count",
    "hasched_tick_duration_seconds_count", "hasched_schedules", "hasched_next_fire_seconds",
    "hasched_instances", "hasched_redis_errors_total", "hasched_schedules_invalid_total",
    "hasched_build_info", "hasched_runs_in_flight",
}  # fmt: skip


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: dict, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def fired_under(redis: Redis, epoch: int, at_least: int) -> bool:
    return sum(e["epoch"] == epoch for e in ledger(redis)) >= at_least


def test_metrics_follow_a_failover_and_match_the_ledger(
    cluster_factory: ClusterFactory, redis: Redis
) -> None:
    cluster = cluster_factory(namespace="mt", lease_ttl=1.5)
    for name in ("a", "b", "c"):
        cluster.start_instance(name, metrics=True)
    cluster.start_worker()
    old, old_epoch = cluster.wait_leader()
    sched = Scheduler(redis, "mt")
    sched.every("fast", 0.2, "jobs.record", start=redis_now(redis), catchup="all", queue="default")
    wait_for(lambda: fired_under(redis, old_epoch, 3), timeout=15)
    cluster.instances[old].signal(signal.SIGKILL)
    new, new_epoch = cluster.wait_leader(exclude=old)
    wait_for(lambda: fired_under(redis, new_epoch, 3), timeout=15)
    sched.pause("fast")
    wait_for(lambda: redis.llen("rq:queue:default") == 0 and all_recorded(redis, "mt"), timeout=20)
    live = [n for n in ("a", "b", "c") if n != old]
    scrapes = {n: cluster.scrape(n) for n in live}
    for n, samples in scrapes.items():
        assert {name for name, _ in samples} >= PUBLIC_METRICS, n
        assert value(samples, "hasched_build_info", version=__version__) == 1
    assert [n for n in live if value(scrapes[n], "hasched_leader") == 1] == [new]
    assert new_epoch > old_epoch
    assert value(scrapes[new], "hasched_leader_epoch") == new_epoch
    assert value(scrapes[new], "hasched_leader_transitions_total", event="acquired") == 1
    by_epoch = Counter(e["epoch"] for e in ledger(redis))
    enqueued = value(scrapes[new], "hasched_fires_enqueued_total", queue="default")
    assert enqueued == by_epoch[new_epoch] > 0
    assert value(scrapes[new], "hasched_fire_lag_seconds_count") == enqueued
    follower = next(n for n in live if n != new)
    assert total(scrapes[follower], "hasched_fires_enqueued_total") == 0
    assert value(scrapes[follower], "hasched_instances") in (2.0, 3.0)  # the dead one ages out
    status_code, body = cluster.http(follower, "/status")
    assert status_code == 200 and json.loads(body)["leader"] == new


def test_healthz_turns_503_without_redis_and_back_to_200(
    private_redis: RedisServer, cluster_factory: ClusterFactory
) -> None:
    server = private_redis
    c = cluster_factory(server.url, namespace="mt", lease_ttl=1.0)
    c.start_instance("h", metrics=True)
    c.wait_leader()
    wait_for(lambda: c.http("h", "/healthz")[0] == 200, timeout=10)
    server.pause()  # Redis stops answering (SIGSTOP), connections hang
    wait_for(lambda: c.http("h", "/healthz")[0] == 503, timeout=10)
    _, body = c.http("h", "/healthz")
    assert json.loads(body)["redis_age_seconds"] > 1.0
    # scrapes still answer while Redis hangs, and the timeouts are counted
    wait_for(lambda: total(c.scrape("h"), "hasched_redis_errors_total") >= 1, timeout=10)
    server.resume()
    wait_for(lambda: c.http("h", "/healthz")[0] == 200, timeout=15)
    assert c.instances["h"].alive()
