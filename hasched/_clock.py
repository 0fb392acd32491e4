"""Redis's clock: the only clock that decides what is due (hosts' clocks may be skewed)."""

from __future__ import annotations

from redis import Redis

from hasched._triggers import US


def redis_now_us(redis: Redis) -> int:
    """Redis's `TIME`, in integer microseconds since the Unix epoch."""
    sec, usec = redis.time()
    return int(sec) * US + int(usec)
