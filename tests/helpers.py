"""Small helpers shared by the integration tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from jobs import LEDGER
from redis import Redis

from hasched._clock import redis_now_us
from hasched._keys import Keys
from hasched._triggers import from_us


def ledger(redis: Redis) -> list[dict[str, Any]]:
    """Everything the workers recorded, in order."""
    return [json.loads(x) for x in redis.lrange(LEDGER, 0, -1)]


def fires_enqueued(redis: Redis, namespace: str) -> int:
    """How many fires the leaders of `namespace` have enqueued so far, by Redis's own count."""
    return sum(int(n) for n in redis.hvals(Keys(namespace).fires))


def all_recorded(redis: Redis, namespace: str) -> bool:
    """Every fire enqueued so far has run: the workers' ledger holds (at least) as many entries."""
    return len(ledger(redis)) >= fires_enqueued(redis, namespace)


def redis_now(redis: Redis) -> datetime:
    """Redis's clock, the one that decides what is due, as an aware UTC datetime."""
    return from_us(redis_now_us(redis))


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll until `predicate()` is truthy; fail the test with a clear message after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)


def run_cli(
    *args: str, redis_url: str | None = None, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run `python -m hasched *args` as a user would; `redis_url` goes in through HASCHED_REDIS_URL."""
    full_env = dict(os.environ)
    if redis_url is not None:
        full_env["HASCHED_REDIS_URL"] = redis_url
    full_env.update(env or {})  # an explicit env wins, so a test can give a bad HASCHED_REDIS_URL
    return subprocess.run(
        [sys.executable, "-m", "hasched", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
