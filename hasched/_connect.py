"""Redis connections from settings: a URL (redis://, rediss://, unix://) or Sentinel."""

from __future__ import annotations

from typing import Any, cast

from redis import Redis
from redis.exceptions import NoPermissionError
from redis.sentinel import Sentinel

from hasched._settings import Connection
from hasched.errors import StartupError

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
        **_tls(conn),
    )


def _tls(conn: Connection) -> dict[str, Any]:
    """redis-py's TLS options for a rediss:// URL (ignored by redis://)."""
    if not conn.redis_url.startswith("rediss://"):
        return {}
    options: dict[str, Any] = {}
    if conn.tls_ca_file:
        options["ssl_ca_certs"] = conn.tls_ca_file
    if conn.tls_cert_file:
        options["ssl_certfile"] = conn.tls_cert_file
        options["ssl_keyfile"] = conn.tls_key_file
    return options


def check_eviction_policy(redis: Redis, log: Any) -> None:
    """An evicted lease or claim marker breaks exactly-once: refuse allkeys-*, warn on volatile-*."""
    try:
        policy = str(redis.info("memory").get("maxmemory_policy", ""))
    except NoPermissionError:
        log.warning("hasched.redis.policy_unknown", reason="INFO not permitted for this user")
        return
    if policy.startswith("allkeys-"):
        raise StartupError(f"Redis maxmemory-policy is {policy}: it may evict hasched's lease and "
                           "claim markers; set it to noeviction")  # fmt: skip
    if policy.startswith("volatile-"):
        advice = "keys with a TTL (lease, claim markers) may be evicted; use noeviction"
        log.warning("hasched.redis.eviction_risk", maxmemory_policy=policy, advice=advice)
