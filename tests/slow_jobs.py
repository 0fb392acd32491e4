"""A job that takes its time, for the shutdown tests. It writes its own lists, not the ledger
(the chaos verdicts read the ledger as the workload's fires only)."""

from __future__ import annotations

import time

from rq import get_current_job

STARTED = "test:slow:started"
DONE = "test:slow:done"


def slow(seconds: float) -> None:
    """Push the job id to STARTED, sleep `seconds`, then push it to DONE."""
    job = get_current_job()
    assert job is not None
    job.connection.rpush(STARTED, job.id)
    time.sleep(seconds)
    job.connection.rpush(DONE, job.id)
