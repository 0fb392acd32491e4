"""Wake-ups over Redis pub/sub: a changed schedule wakes the leader, a released lease the followers."""

from __future__ import annotations

import threading
from collections.abc import Callable

from redis import Redis

from hasched._retry import CREDENTIAL_ERRORS, TRANSIENT


class Waker(threading.Thread):
    """Listens on the namespace's wake channel and calls `on_message(kind)` for each message."""

    def __init__(self, redis: Redis, channel: str, on_message: Callable[[str], None]) -> None:
        super().__init__(name="hasched-waker", daemon=True)
        self._redis = redis
        self._channel = channel
        self._on_message = on_message
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except TRANSIENT + CREDENTIAL_ERRORS:
                # The main loop reports Redis trouble (and stops for refused credentials at
                # start); here we only wait and listen again.
                # A wake-up lost meanwhile costs latency, never a fire: the loop re-reads Redis.
                self._stop.wait(0.5)

    def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(self._channel)
            self._on_message("resubscribed")
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message is not None:
                    data = message.get("data")
                    self._on_message(data.decode() if isinstance(data, bytes) else str(data))
        finally:
            pubsub.close()
