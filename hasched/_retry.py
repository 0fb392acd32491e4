"""Every retry policy, in one place (tenacity)."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import retry_if_exception_type, wait_random_exponential

# Transient Redis trouble: the instance waits and tries again, forever; it never exits for it.
TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError)
retry_transient = retry_if_exception_type(TRANSIENT)
# Exponential backoff with full jitter (up to 0.1 s, 0.2 s, 0.4 s ... capped at 2 s), so a herd
# of instances spreads out and a returning Redis is found within about 2 s.
redis_backoff = wait_random_exponential(multiplier=0.1, max=2.0)
