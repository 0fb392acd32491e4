"""RQ jobs for fires, serialised by RQ's own code.

A `JobTemplate` is made once per schedule revision with `Job.create(...).to_dict()`, exactly as
`Queue.enqueue_job` would store it; each fire then changes only what differs between fires
(timestamps and `meta`). So RQ reads a hasched job as one it enqueued itself, and a burst of
fires costs one `Job.create` per schedule, not per fire.
"""

from __future__ import annotations

import json
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
# Job hash fields that differ between fires; everything else comes from the template.
PER_FIRE_FIELDS = ("created_at", "enqueued_at", "meta")


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
    """RQ's serialised job hash for one payload (function, arguments, queue, job options).

    Made once with RQ's own `Job.create(...).to_dict()` and shared by every fire of every
    schedule with the same payload; only `created_at`, `enqueued_at` and `meta` differ per fire
    and are written next to these fields by the commit script.
    """

    __slots__ = ("_dumps", "fields", "queue_key", "ttl")

    def __init__(self, s: Schedule, connection: Redis) -> None:
        job = build_job(s, "template", connection, {})
        base = job.to_dict()
        for per_fire in PER_FIRE_FIELDS:
            base.pop(per_fire, None)
        self.fields: list[Any] = [item for pair in base.items() for item in pair]
        self._dumps = job.serializer.dumps
        self.queue_key = queue_key(s.queue)
        self.ttl = s.ttl if s.ttl is not None and s.ttl > 0 else 0

    @staticmethod
    def key(s: Schedule) -> str:
        """What makes two schedules' jobs identical but for their per-fire fields."""
        payload = [s.func, list(s.args), dict(s.kwargs), s.queue, s.timeout, s.result_ttl, s.ttl,
                   s.failure_ttl, s.description]  # fmt: skip
        return json.dumps(payload, sort_keys=True, separators=(",", ":"))

    def meta(self, s: Schedule, fire_us: int, epoch: int) -> bytes:
        """The serialised `job.meta` of one fire (RQ's serializer, as `Job.save` writes it)."""
        return bytes(self._dumps(fire_meta(s, fire_us, epoch)))


def stamp(now: datetime) -> str:
    """RQ's text form of a timestamp (`created_at`, `enqueued_at`)."""
    return str(utcformat(now))
