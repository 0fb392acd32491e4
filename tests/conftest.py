"""Shared fixtures: a private redis-server per session, a clean database per test, and clusters of
real `hasched run` / `rq worker` processes that are stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cluster import Cluster, ClusterFactory
from redis import Redis
from redis_server import RedisServer, backend_summary, shared_server


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in backend_summary():
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = shared_server()  # a local redis-server; HASCHED_TEST_REDIS=docker for a container
    yield server
    server.stop()


@pytest.fixture()
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    client = redis_server.client()
    client.flushall()  # our own private server, never the machine's 6379
    yield client
    client.close()


@pytest.fixture()
def private_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, for tests that pause, kill or restart it."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture()
def cluster_factory(request: pytest.FixtureRequest) -> Iterator[ClusterFactory]:
    """Make clusters (on the shared Redis unless given a URL); each is stopped after the test and
    its processes' last log lines are printed (pytest shows them when the test fails)."""
    made: list[Cluster] = []

    def make(
        redis_url: str | None = None,
        *,
        namespace: str = "hasched",
        lease_ttl: float = 2.0,
        retry_period: float = 0.2,
        queues: tuple[str, ...] = ("default",),
    ) -> Cluster:
        url = redis_url or request.getfixturevalue("redis_server").url
        c = Cluster(url, namespace=namespace, lease_ttl=lease_ttl, retry_period=retry_period, queues=queues)
        made.append(c)
        return c

    yield make
    for c in made:
        print(c.report())
        c.stop()


@pytest.fixture()
def cluster(cluster_factory: ClusterFactory, redis: Redis) -> Cluster:
    """A cluster on the shared Redis (flushed first), namespace "hasched"; no process started yet."""
    return cluster_factory()
