"""Every retry policy, in one place (tenacity)."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import retry_if_exception_type, wait_exponential_jitter

# Transient Redis trouble: the instance waits and tries again, forever; it never exits for it.
TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError)
retry_transient = retry_if_exception_type(TRANSIENT)
# 0.1 s, 0.2 s, 0.4 s ... capped at 2 s, with jitter, so a herd of instances spreads out.
redis_backoff = wait_exponential_jitter(initial=0.1, max=2.0, jitter=0.2)
