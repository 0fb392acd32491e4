"""RQ jobs for fires, serialised by RQ's own code.

A `JobTemplate` is made once per schedule revision with `Job.create(...).to_dict()`, exactly as
`Queue.enqueue_job` would store it; each fire then changes only what differs between fires
(timestamps and `meta`). So RQ reads a hasched job as one it enqueued itself, and a burst of
fires costs one `Job.create` per schedule, not per fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from redis import Redis
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.utils import utcformat

from hasched._model import Schedule
from hasched._triggers import from_us

META_SCHEDULE = "hasched_schedule_id"
META_FIRE = "hasched_fire_time"
META_EPOCH = "hasched_epoch"


def queue_key(name: str) -> str:
    """RQ's key for a queue's list of job ids."""
    return f"{Queue.redis_queue_namespace_prefix}{name}"


def queues_set_key() -> str:
    """RQ's set of all queue keys."""
    key = Queue.redis_queues_keys
    return key.decode() if isinstance(key, bytes) else str(key)


def job_key(job_id: str) -> str:
    """RQ's key for a job's hash (older RQs return it as bytes)."""
    key = Job.key_for(job_id)
    return key.decode() if isinstance(key, bytes) else str(key)


def fire_meta(s: Schedule, fire_us: int, epoch: int) -> dict[str, Any]:
    """The job.meta of a fire: the user's meta plus hasched's three fields."""
    return {**s.meta, META_SCHEDULE: s.id, META_FIRE: iso_utc(fire_us), META_EPOCH: epoch}


def iso_utc(us: int) -> str:
    """ISO 8601 UTC text of a µs timestamp."""
    return from_us(us).isoformat()


def build_job(s: Schedule, job_id: str, connection: Redis, meta: Mapping[str, Any]) -> Job:
    """An RQ job for one run of `s`, ready for `Queue.enqueue_job` or `to_dict`."""
    return Job.create(
        func=s.func,
        args=tuple(s.args),
        kwargs=dict(s.kwargs),
        connection=connection,
        id=job_id,
        origin=s.queue,
        status=JobStatus.QUEUED,
        timeout=s.timeout if s.timeout is not None else Queue.DEFAULT_TIMEOUT,
        result_ttl=s.result_ttl,
        ttl=s.ttl,
        failure_ttl=s.failure_ttl,
        description=s.description,
        meta=dict(meta),
    )


class JobTemplate:
    """RQ's serialised job hash for one schedule, re-used across its fires."""

    __slots__ = ("_base", "_dumps", "_schedule", "queue_key", "ttl")

    def __init__(self, s: Schedule, connection: Redis) -> None:
        job = build_job(s, "template", connection, {})
        job.enqueued_at = job.created_at
        self._base: dict[str, Any] = job.to_dict()
        self._dumps = job.serializer.dumps
        self._schedule = s
        self.queue_key = queue_key(s.queue)
        self.ttl = s.ttl if s.ttl is not None and s.ttl > 0 else 0

    def render(self, fire_us: int, epoch: int, now: datetime) -> list[Any]:
        """The job hash of one fire as a flat [field, value, ...] list."""
        fields = dict(self._base)
        stamp = utcformat(now)
        fields["created_at"] = stamp
        fields["enqueued_at"] = stamp
        fields["meta"] = self._dumps(fire_meta(self._schedule, fire_us, epoch))
        flat: list[Any] = []
        for name, value in fields.items():
            flat.append(name)
            flat.append(value)
        return flat
