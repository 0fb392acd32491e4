"""Script calls sent one after another on one connection, each answer read later, so the caller
prepares the next call while Redis runs the one before: the leader's commits (`hasched._tick`)
and `add_many`'s chunks (`hasched._bulk`). Each call stays one atomic script run; answers come
back in the order sent."""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import Any

from redis import Redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError
from redis.utils import HIREDIS_AVAILABLE, str_if_bytes

if HIREDIS_AVAILABLE:  # redis-py packs with it too; called here without its per-argument checks
    import hiredis


class Pipelined:
    """Calls of one script without waiting for each answer. Use as a context manager: a
    connection left with answers unread (an error on the way) is closed, never reused. A reply
    that is an error (the script's `error_reply`) is raised by `receive`, as a direct call would."""

    def __init__(self, redis: Redis, script: Script) -> None:
        self._script = script
        self._pool = redis.connection_pool
        self._conn: Any = None
        self._sent: deque[tuple[list[str], list[Any]]] = deque()

    def __enter__(self) -> Pipelined:
        try:
            self._conn = self._pool.get_connection()
        except TypeError:  # redis-py before 5.3 wants the command's name
            self._conn = self._pool.get_connection("EVALSHA")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        if kind is not None or self._sent:
            self._conn.disconnect()
        self._pool.release(self._conn)

    @property
    def pending(self) -> int:
        """Calls sent whose answer was not read yet."""
        return len(self._sent)

    def send(self, keys: list[str], args: list[Any]) -> None:
        """Send one call (its KEYS and ARGV) without waiting for its answer."""
        command = ("EVALSHA", self._script.sha, len(keys), *keys, *args)
        packed = [hiredis.pack_command(command)] if HIREDIS_AVAILABLE else self._conn.pack_command(*command)
        self._conn.send_packed_command(packed)
        self._sent.append((keys, args))

    def receive(self) -> str:
        """The answer to the oldest call not read yet. One that found the script gone from Redis
        (a restart: nothing of it ran) is run again on its own, the script loaded first."""
        keys, args = self._sent[0]
        try:
            reply = self._conn.read_response()
        except NoScriptError:
            reply = self._script(keys=keys, args=args)  # `Script` loads it after NOSCRIPT
        finally:
            self._sent.popleft()
        return str(str_if_bytes(reply))
