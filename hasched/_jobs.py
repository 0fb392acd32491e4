"""RQ jobs for fires, serialised by RQ's own code.

A `JobTemplate` holds the job hash `Job.create(...).to_dict()` gives, exactly as
`Queue.enqueue_job` would store it; each fire then changes only what differs between fires
(timestamps and `meta`). So RQ reads a hasched job as one it enqueued itself. The leader's
`Templates` make one `Job.create` per shape (function, queue, job options) and, per distinct
call, only what RQ derives from the arguments (`data`, the default `description`).
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from redis import Redis
from rq.command import PUBSUB_CHANNEL_TEMPLATE
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.registry import CanceledJobRegistry
from rq.utils import utcformat

from hasched._model import Schedule
from hasched._triggers import from_us

K = TypeVar("K")
V = TypeVar("V")
Dumps = Callable[[Any], bytes]
META_SCHEDULE = "hasched_schedule_id"
META_FIRE = "hasched_fire_time"
META_EPOCH = "hasched_epoch"
# Job hash fields that differ between fires; everything else comes from the template.
PER_FIRE_FIELDS = ("created_at", "enqueued_at", "meta")
# Job hash fields RQ derives from the call's arguments; the rest depends only on the shape.
CALL_FIELDS = ("data", "description")


def queue_key(name: str) -> str:
    """RQ's key for a queue's list of job ids."""
    return f"{Queue.redis_queue_namespace_prefix}{name}"


def queues_set_key() -> str:
    """RQ's set of all queue keys."""
    key = Queue.redis_queues_keys
    return key.decode() if isinstance(key, bytes) else str(key)


def rq_prefixes() -> list[str]:
    """RQ's prefixes of job keys, queue keys, canceled registry keys and worker command channels
    (overlap_lib.lua cancels and stops jobs as RQ does, under RQ's own names)."""
    canceled = CanceledJobRegistry.key_template.format("")
    return [job_key(""), queue_key(""), str(canceled), str(PUBSUB_CHANNEL_TEMPLATE % "")]


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

    Made with RQ's own `Job.create(...).to_dict()` (or by `Templates`) and shared by every fire
    of every schedule with the same payload. It is split in two: `call`, the fields RQ derives
    from the call's arguments (`data`, `description`), and `fields`, the rest, one list object
    shared by every template of the same shape so that a commit sends it once. Only
    `created_at`, `enqueued_at` and `meta` differ per fire and are written by the commit script.
    """

    __slots__ = ("_dumps", "call", "fields", "queue_key", "ttl")

    def __init__(self, s: Schedule, connection: Redis) -> None:
        job = build_job(s, "template", connection, {})
        self._set(s, *split_hash(job.to_dict()), job.serializer.dumps)

    @classmethod
    def made(cls, s: Schedule, fields: list[Any], call: list[Any], dumps: Dumps) -> JobTemplate:
        """A template from parts already made (by `Templates`)."""
        template = cls.__new__(cls)
        template._set(s, fields, call, dumps)
        return template

    def _set(self, s: Schedule, fields: list[Any], call: list[Any], dumps: Dumps) -> None:
        self.fields, self.call, self._dumps = fields, call, dumps
        self.queue_key = queue_key(s.queue)
        self.ttl = s.ttl if s.ttl is not None and s.ttl > 0 else 0

    def meta(self, s: Schedule, fire_us: int, epoch: int) -> bytes:
        """The serialised `job.meta` of one fire (RQ's serializer, as `Job.save` writes it)."""
        return bytes(self._dumps(fire_meta(s, fire_us, epoch)))


def split_hash(job_hash: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    """A job hash as (shape fields, call fields), each flat [name, value, ...], without the
    per-fire fields."""
    shape: list[Any] = []
    call: list[Any] = []
    for name, value in job_hash.items():
        if name not in PER_FIRE_FIELDS:
            (call if name in CALL_FIELDS else shape).extend((name, value))
    return shape, call


Shape = tuple[str, str, int | None, int | None, int | None, int | None, str | None]


def shape_of(s: Schedule) -> Shape:
    """Everything in a job hash but the call's arguments."""
    return (s.func, s.queue, s.timeout, s.result_ttl, s.ttl, s.failure_ttl, s.description)


class _ShapeJob:
    """One RQ job per shape, re-pointed at each payload's arguments: RQ's own setters, `data`
    and `get_call_string` give the two fields that depend on them, so a new payload costs a
    pickle and a compress instead of a whole `Job.create` and `to_dict`."""

    def __init__(self, s: Schedule, connection: Redis) -> None:
        self._job = build_job(s, "shape", connection, {})
        self._fields, self._call = split_hash(self._job.to_dict())
        names = self._call[::2]  # where each payload's values go: after their names
        self._data_at = 2 * names.index("data") + 1
        self._described = bool(s.description)  # RQ: `description or job.get_call_string()`
        self._description_at = -1 if self._described else 2 * names.index("description") + 1

    def data(self, s: Schedule) -> bytes:
        """The pickled call of `s` (RQ's `Job.data`), which also identifies its payload."""
        self._job.args, self._job.kwargs = tuple(s.args), dict(s.kwargs)
        return bytes(self._job.data)

    def template(self, s: Schedule, data: bytes) -> JobTemplate:
        """The template of `s`, whose `data` was just computed by `self.data(s)`."""
        call = list(self._call)
        call[self._data_at] = zlib.compress(data)  # as `Job.to_dict` stores `data`
        if not self._described:
            call[self._description_at] = self._job.get_call_string()
        return JobTemplate.made(s, self._fields, call, self._job.serializer.dumps)


class Templates:
    """The leader's job templates, one per distinct payload, the least recently used dropped
    beyond `size`. A burst of one-offs calling the same function with the same arguments costs
    one template; distinct arguments cost one pickle and compress each."""

    def __init__(self, connection: Redis, size: int = 20_000) -> None:
        self._connection = connection
        self._size = size
        self._shapes: OrderedDict[Shape, _ShapeJob] = OrderedDict()
        self._templates: OrderedDict[tuple[Shape, bytes], JobTemplate] = OrderedDict()

    def get(self, s: Schedule) -> JobTemplate:
        """The template for the jobs of `s`."""
        shape = shape_of(s)
        job = _cached(self._shapes, shape)
        if job is None:
            job = _store(self._shapes, shape, _ShapeJob(s, self._connection), self._size)
        data = job.data(s)
        template = _cached(self._templates, (shape, data))
        if template is None:
            template = _store(self._templates, (shape, data), job.template(s, data), self._size)
        return template


def _cached(cache: OrderedDict[K, V], key: K) -> V | None:
    value = cache.get(key)
    if value is not None:
        cache.move_to_end(key)
    return value


def _store(cache: OrderedDict[K, V], key: K, value: V, size: int) -> V:
    cache[key] = value
    if len(cache) > size:
        cache.popitem(last=False)
    return value


def stamp(now: datetime) -> str:
    """RQ's text form of a timestamp (`created_at`, `enqueued_at`)."""
    return str(utcformat(now))
