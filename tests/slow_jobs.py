"""A job that takes its time, for the shutdown tests: it marks when it starts, then records."""

from __future__ import annotations

import time

from jobs import record
from rq import get_current_job

STARTED = "test:slow:started"


def slow_record(seconds: float, tag: str = "") -> str:
    """Push the job id to STARTED, sleep `seconds`, then append to the ledger as `jobs.record`."""
    job = get_current_job()
    assert job is not None
    job.connection.rpush(STARTED, job.id)
    time.sleep(seconds)
    return record(tag)
