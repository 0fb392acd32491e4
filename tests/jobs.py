"""Job functions that real `rq worker`s run in the tests: each records what ran to Redis."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC

from rq import get_current_job

LEDGER = "test:ledger"


def record(tag: str = "") -> str:
    """Append (schedule, fire time, epoch, job id, worker pid) to the ledger list."""
    job = get_current_job()
    assert job is not None
    entry = {
        "schedule_id": job.meta.get("hasched_schedule_id"),
        "fire_time": job.meta.get("hasched_fire_time"),
        "epoch": job.meta.get("hasched_epoch"),
        "job_id": job.id,
        "tag": tag,
        "pid": os.getpid(),
        "enqueued_at": job.enqueued_at.replace(tzinfo=UTC).isoformat() if job.enqueued_at else None,
    }
    job.connection.rpush(LEDGER, json.dumps(entry))
    return tag


async def record_async(tag: str = "") -> str:
    """The same, as a coroutine (RQ runs `async def` jobs)."""
    await asyncio.sleep(0)
    return record(tag)


def fail(message: str = "boom") -> None:
    raise RuntimeError(message)


def add(a: int, b: int) -> int:
    return a + b


def fail_deep(message: str = "deep trouble") -> None:
    """Fails with a multi-line exception text: the last line is what a run record keeps."""
    raise ValueError(f"first line\nsecond line\n{message}")


def wait_until_stopped(limit: float = 60.0) -> None:
    """Runs until RQ stops it (send_stop_job_command), or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(0.05)


def wait_for_key(key: str, limit: float = 60.0) -> str:
    """Runs until the test sets `key` in Redis (so a test decides when the job ends)."""
    job = get_current_job()
    assert job is not None
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if job.connection.exists(key):
            return "done"
        time.sleep(0.02)
    raise TimeoutError(f"{key} never set")
