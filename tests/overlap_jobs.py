"""A job that takes longer than its schedule's interval, for the overlap tests. It writes its own
ledger (start and end of each run, on Redis's clock), not the chaos ledger."""

from __future__ import annotations

import json
import time

from rq import get_current_job
from rq.job import Job

LEDGER = "test:overlap:ledger"


def work(seconds: float) -> None:
    """Push a start entry, sleep `seconds`, push an end entry (none when RQ stops the job)."""
    job = get_current_job()
    assert job is not None
    _push(job, "start")
    time.sleep(seconds)
    _push(job, "end")


def _push(job: Job, event: str) -> None:
    secs, usec = job.connection.time()
    entry = {"event": event, "job_id": job.id, "fire_time": job.meta.get("hasched_fire_time"),
             "t": secs + usec / 1e6}  # fmt: skip
    job.connection.rpush(LEDGER, json.dumps(entry))
