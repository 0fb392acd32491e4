"""Sample job functions for `make demo`. Only the RQ worker imports this module."""

from __future__ import annotations

import asyncio
import json
import os
import time

from rq import get_current_job

RAN = "hasched-demo:ran"


def hello(name: str) -> str:
    """Record who ran which fire, for the demo's live view."""
    job = get_current_job()
    assert job is not None
    entry = {
        "schedule": job.meta.get("hasched_schedule_id"),
        "fire_time": job.meta.get("hasched_fire_time"),
        "epoch": job.meta.get("hasched_epoch"),
        "ran_at": time.time(),
        "worker_pid": os.getpid(),
        "name": name,
    }
    job.connection.lpush(RAN, json.dumps(entry))
    job.connection.ltrim(RAN, 0, 199)
    return f"hello {name}"


async def hello_async(name: str) -> str:
    """The same as a coroutine: RQ runs `async def` jobs too."""
    await asyncio.sleep(0.01)
    return hello(name)
