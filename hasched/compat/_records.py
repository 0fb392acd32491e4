"""What rq-scheduler's users do beyond its Scheduler's methods: fetch a scheduled job by id, and
run the scheduler process itself.

rq-scheduler stores each scheduled job as an RQ job hash, so `Job.fetch(job.id)` finds it. The
drop-in keeps such a record too: the schedule's RQ job (function, arguments, options, meta) under
the schedule's id, with status "scheduled", in no queue. Each fire is a new RQ job with an id of
its own (`job.meta["hasched_schedule_id"]` names the schedule). A one-off's record expires a day
after its time; cancelling removes it.
"""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from typing import Any

from redis import Redis
from rq.job import JobStatus

from hasched import embedded
from hasched._jobs import META_SCHEDULE, build_job, job_key
from hasched._model import Schedule

KEEP_ONE_OFF = timedelta(days=1)


def save_record(connection: Redis, s: Schedule, meta: dict[str, Any]) -> None:
    """Store (or replace) the RQ job record of schedule `s`."""
    job = build_job(s, s.id, connection, {**meta, META_SCHEDULE: s.id})
    pipe = connection.pipeline(transaction=True)
    pipe.delete(job.key)
    job.save(pipeline=pipe)
    job.set_status(JobStatus.SCHEDULED, pipeline=pipe)
    if s.at is not None:
        pipe.expireat(job.key, s.at + KEEP_ONE_OFF)
    pipe.execute()


def drop_record(connection: Redis, sid: str) -> None:
    connection.delete(job_key(sid))


def run_instance(connection: Redis, namespace: str, *, burst: bool) -> None:
    """A hasched instance in the calling thread: until SIGINT/SIGTERM, or one pass (`burst`)."""
    daemon = embedded.instance(connection, namespace)
    if burst:
        daemon.run_once()
        return
    previous = {}
    if threading.current_thread() is threading.main_thread():  # as rqscheduler: the process's own
        previous = {sig: signal.signal(sig, lambda *_: daemon.request_stop())
                    for sig in (signal.SIGINT, signal.SIGTERM)}  # fmt: skip
    try:
        daemon.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
