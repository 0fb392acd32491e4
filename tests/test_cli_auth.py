"""A Redis that refuses hasched's credentials: a misconfiguration at start, an alert later."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster import Cluster
from helpers import redis_now, run_cli, wait_for
from redis.exceptions import (
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    NoPermissionError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis_server import RedisServer

from hasched._keys import Keys
from hasched._retry import is_credentials_error
from hasched._triggers import to_us

PASSWORD = "right-password"


@pytest.fixture()
def secured() -> Iterator[RedisServer]:
    server = RedisServer(password=PASSWORD).start()
    yield server
    server.stop()


@pytest.mark.parametrize("auth", [":wrong-password@", ""], ids=["wrong-password", "no-password"])
def test_refused_at_first_contact_stops_with_one_error_line(secured: RedisServer, auth: str) -> None:
    url = f"redis://{auth}127.0.0.1:{secured.port}/0"
    r = run_cli("run", "--metrics-addr", "", "--lease-ttl", "2", redis_url=url)
    assert r.returncode == 1, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and "redis refused the credentials" in errors[0], r.stderr
    assert "AuthenticationError" in errors[0] and "Traceback" not in r.stderr
    assert "wrong-password" not in r.stderr


def test_a_user_without_the_needed_permissions_stops_at_first_contact(secured: RedisServer) -> None:
    secured.client().acl_setuser("reader", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@read"])
    r = run_cli("run", "--metrics-addr", "", redis_url=f"redis://reader:pw@127.0.0.1:{secured.port}/0")
    assert r.returncode == 1, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "NoPermissionError" in errors[0] and "Traceback" not in r.stderr


def test_refused_later_is_logged_at_error_level_and_retried(secured: RedisServer) -> None:
    cluster = Cluster(secured.url, namespace="auth", lease_ttl=2.0)
    try:
        proc = cluster.start_instance("a")
        cluster.wait_leader()
        admin = secured.client()
        admin.config_set("requirepass", "rotated")
        admin.client_kill_filter(_type="normal", skipme=True)  # make it log in again
        admin.client_kill_filter(_type="pubsub")

        def auth_failures() -> list[dict[str, object]]:
            return [e for e in proc.events() if e["event"] == "hasched.redis.auth_failed"]

        failures = wait_for(lambda: len(auth_failures()) >= 2 and auth_failures(), timeout=20)
        first = failures[0]
        assert first["level"] == "error" and first["error"] == "AuthenticationError"
        assert "invalid username-password pair" in str(first["message"]), first
        assert proc.alive()  # still retrying: a rotated password must not take the scheduler down
        admin.config_set("requirepass", PASSWORD)  # put back: it recovers by itself
        restored_ms = to_us(redis_now(admin)) // 1000
        beat = Keys("auth").instances
        wait_for(lambda: (admin.zscore(beat, "a") or 0) > restored_ms, timeout=20)  # heartbeats again
        assert proc.stop() == 0
    finally:
        cluster.stop()


@pytest.mark.parametrize(("exc", "refused"), [
    (AuthenticationError("invalid username-password pair or user is disabled."), True),
    (AuthenticationWrongNumberOfArgsError("wrong number of arguments for 'auth' command"), True),
    (NoPermissionError("this user has no permissions to run the 'evalsha' command"), True),
    (ResponseError("WRONGPASS invalid username-password pair"), True),
    (ResponseError("NOAUTH Authentication required."), True),
    (ResponseError("ERR unknown command"), False),
    (RedisConnectionError("Connection refused"), False),
    (RedisTimeoutError("Timeout reading from socket"), False),
])  # fmt: skip
def test_which_errors_are_refusals(exc: Exception, refused: bool) -> None:
    assert is_credentials_error(exc) is refused
