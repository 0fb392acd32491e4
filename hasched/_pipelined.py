"""upsert_many.lua sent on a connection of its own without waiting for the reply, so `add_many`
plans the next chunk while Redis writes this one (one chunk in flight; its reply is read before
the next is sent, so a refused chunk still stops the rest)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis

from hasched._keys import Keys
from hasched._scripts import source, upsert_call, upsert_many_args
from hasched._store import UpsertArgs


class PipelinedUpserts:
    """Send a chunk (`send`), do something else, then read its outcome (`receive`: raises the
    script's ResponseError, "EXISTS <id>" or "CONFLICT <id>", as `Scripts.upsert_many` does)."""

    def __init__(self, redis: Redis, keys: Keys, connection: Any) -> None:
        self.keys = keys
        self._sha = str(redis.script_load(source("upsert_many")))
        self._conn = connection
        self.pending = False

    def send(self, items: list[UpsertArgs]) -> None:
        keys = upsert_call(self.keys, "", "", "", None, False, "")[0]
        args = upsert_many_args(self.keys.wake, items)
        self._conn.send_command("EVALSHA", self._sha, len(keys), *keys, *args)
        self.pending = True

    def receive(self) -> None:
        self.pending = False
        self._conn.read_response()


@contextmanager
def pipelined_upserts(redis: Redis, keys: Keys) -> Iterator[PipelinedUpserts | None]:
    """A sender on a connection taken from `redis`'s pool for the block; None for a client
    without one (then the caller writes each chunk and waits)."""
    pool = getattr(redis, "connection_pool", None)
    if pool is None or not isinstance(redis, Redis):
        yield None
        return
    try:
        conn = pool.get_connection()
    except TypeError:  # redis-py before 5.3 names the command
        conn = pool.get_connection("EVALSHA")
    sender: PipelinedUpserts | None = None
    try:
        sender = PipelinedUpserts(redis, keys, conn)
        yield sender
    finally:
        if sender is None or sender.pending:
            conn.disconnect()  # a reply never read: the connection cannot be reused as it is
        pool.release(conn)
