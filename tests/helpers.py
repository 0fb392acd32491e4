"""Small helpers shared by the integration tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from jobs import LEDGER
from redis import Redis

from hasched._clock import redis_now_us
from hasched._triggers import from_us


def ledger(redis: Redis) -> list[dict[str, Any]]:
    """Everything the workers recorded, in order."""
    return [json.loads(x) for x in redis.lrange(LEDGER, 0, -1)]


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
