"""Every retry policy, in one place (tenacity)."""

from __future__ import annotations

from collections.abc import Callable

from redis.exceptions import (
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    NoPermissionError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import retry_if_exception, wait_random_exponential

# Transient Redis trouble: the instance waits and tries again, forever; it never exits for it.
TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError)
# Exponential backoff with full jitter (up to 0.1 s, 0.2 s, 0.4 s ... capped at 2 s), so a herd
# of instances spreads out and a returning Redis is found within about 2 s.
redis_backoff = wait_random_exponential(multiplier=0.1, max=2.0)

# Redis refusing who we are, or what we may do. Not an outage: waiting does not fix a wrong
# password. AuthenticationError derives from ConnectionError, so it must be told apart from
# TRANSIENT before TRANSIENT is asked.
CREDENTIAL_ERRORS = (AuthenticationError, AuthenticationWrongNumberOfArgsError, NoPermissionError)
_CREDENTIAL_REPLIES = ("WRONGPASS", "NOAUTH", "NOPERM")


def is_credentials_error(exc: BaseException) -> bool:
    """True when Redis refused the password, the user, or the user's permissions."""
    if isinstance(exc, CREDENTIAL_ERRORS):
        return True
    return isinstance(exc, ResponseError) and str(exc).startswith(_CREDENTIAL_REPLIES)


def retry_redis(contacted: Callable[[], bool]) -> retry_if_exception:
    """The daemon loop's policy: transient trouble is always waited out; a credentials refusal
    only once Redis has accepted us before (a password rotated under a running instance).
    At first contact a refusal is a misconfiguration, and retrying would hide it."""

    def retryable(exc: BaseException) -> bool:
        if is_credentials_error(exc):
            return contacted()
        return isinstance(exc, TRANSIENT)

    return retry_if_exception(retryable)
