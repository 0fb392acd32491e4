"""Redis connections from settings: a URL (redis://, rediss://, unix://) or Sentinel."""

from __future__ import annotations

from typing import cast

from redis import Redis
from redis.sentinel import Sentinel

from hasched._settings import Connection

SOCKET_TIMEOUT = 5.0


def connect(conn: Connection, timeout: float = SOCKET_TIMEOUT) -> Redis:
    """A Redis client for `conn`; with Sentinel it follows the primary across failovers.

    `timeout` bounds every socket wait: a Redis that stops answering must surface as an error the
    loop can count and retry, not as a call that hangs past the lease.
    """
    if conn.sentinel:
        sentinel = Sentinel(list(conn.sentinel), socket_timeout=timeout)  # type: ignore[no-untyped-call]
        master = sentinel.master_for(  # type: ignore[no-untyped-call]
            conn.sentinel_master or "mymaster", socket_timeout=timeout
        )
        return cast(Redis, master)
    return Redis.from_url(
        conn.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )
