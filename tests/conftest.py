"""Shared fixtures: a private redis-server per test module, a clean database per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

sys.path.insert(0, str(Path(__file__).parent))

from redis_server import RedisServer, shared_server


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
