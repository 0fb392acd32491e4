"""Redis connections from settings: a URL (redis://, rediss://, unix://) or Sentinel."""

from __future__ import annotations

from typing import Any, cast

from redis import Redis
from redis.exceptions import NoPermissionError
from redis.sentinel import Sentinel

from hasched._settings import Connection, url_auth
from hasched.errors import StartupError

SOCKET_TIMEOUT = 5.0


def connect(conn: Connection, timeout: float = SOCKET_TIMEOUT) -> Redis:
    """A Redis client for `conn`; with Sentinel it follows the primary across failovers.

    `timeout` bounds every socket wait: a Redis that stops answering must surface as an error the
    loop can count and retry, not as a call that hangs past the lease.
    """
    if conn.sentinel:
        return _through_sentinel(conn, timeout)
    return Redis.from_url(conn.redis_url, health_check_interval=30, **_timeouts(timeout), **_tls(conn))


def _through_sentinel(conn: Connection, timeout: float) -> Redis:
    """The primary the sentinels name, with the URL's user, password, db and TLS.

    redis-py gives the sentinels only the socket options unless told otherwise, so their own
    credentials and TLS go in `sentinel_kwargs`; the primary's go to `master_for`.
    """
    tls = {"ssl": True, **_tls(conn)} if conn.tls else {}
    sentinel_auth = {"username": conn.sentinel_username, "password": conn.sentinel_password}
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(conn.sentinel), sentinel_kwargs={**_timeouts(timeout), **tls, **sentinel_auth}
    )
    auth = url_auth(conn.redis_url)
    master = sentinel.master_for(  # type: ignore[no-untyped-call]
        conn.sentinel_master or "mymaster",
        username=auth.username,
        password=auth.password,
        db=auth.db,
        health_check_interval=30,
        **_timeouts(timeout),
        **tls,
    )
    return cast(Redis, master)


def _timeouts(timeout: float) -> dict[str, float]:
    """Connecting and every read or write wait at most `timeout` seconds."""
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout}


def _tls(conn: Connection) -> dict[str, Any]:
    """redis-py's TLS options for a rediss:// URL (none for redis://)."""
    if not conn.tls:
        return {}
    options: dict[str, Any] = {}
    if conn.tls_ca_file:
        options["ssl_ca_certs"] = conn.tls_ca_file
    if conn.tls_cert_file:
        options["ssl_certfile"] = conn.tls_cert_file
        options["ssl_keyfile"] = conn.tls_key_file
    return options


def check_eviction_policy(redis: Redis, log: Any) -> None:
    """An evicted lease or dedupe mark breaks exactly-once: refuse allkeys-*, warn on volatile-*."""
    try:
        policy = str(redis.info("memory").get("maxmemory_policy", ""))
    except NoPermissionError:
        log.warning("hasched.redis.policy_unknown", reason="INFO not permitted for this user")
        return
    if policy.startswith("allkeys-"):
        raise StartupError(f"Redis maxmemory-policy is {policy}: it may evict hasched's lease and "
                           "exactly-once marks; set it to noeviction")  # fmt: skip
    if policy.startswith("volatile-"):
        advice = "keys with a TTL (the lease) may be evicted; use noeviction"
        log.warning("hasched.redis.eviction_risk", maxmemory_policy=policy, advice=advice)
