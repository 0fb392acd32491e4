"""Import rq-scheduler's scheduled jobs as hasched schedules (`hasched import-rq-scheduler`).

rq-scheduler keeps a sorted set `rq:scheduler:scheduled_jobs` (job id -> unix second of the
next run) and an RQ job hash per job, whose `meta` says how it repeats. Each job becomes a
schedule with the deterministic id `rqs-<job id>` (source `rq-scheduler`), so importing again
replaces the same schedules and keeps their progress:

- `meta['interval']` -> `every` starting at the stored next run, so the fire times stay;
- `meta['cron_string']` -> `cron` in the time zone in which the stored next run is a cron time
  (rq-scheduler 0.14 uses the host's local time even without `use_local_timezone`);
- neither -> `at` the stored next run;
- `meta['repeat']` -> `repeat` = the runs left (see `fires_of_repeat`).

A recurring job whose next run is already due when first seen (rq-scheduler polls only every
`--interval` seconds) keeps that run as the one-off `rqsdue-<id>`, and its schedule continues
after it, so the cut-over loses no run. What hasched cannot run the same way (a method of a
pickled instance, arguments JSON would change, dependencies, callbacks, `at_front`, a custom
queue class, a cron string hasched reads differently) is reported and left to rq-scheduler.

With `remove_source`, the import holds rq-scheduler's own lock (`rq:scheduler_lock`) from before
it reads until after it removes: a running `rqscheduler` skips its polls meanwhile, so each run
is enqueued by rq-scheduler (before the import) or by hasched (after), never by both.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.utils import str_if_bytes
from rq.exceptions import DeserializationError, NoSuchJobError
from rq.job import Job, JobStatus

from hasched._bulk import Progress
from hasched._clock import redis_now_us
from hasched._jobs import job_key
from hasched._model import DEFAULT_CATCHUP_WINDOW, Schedule
from hasched._triggers import US, from_us
from hasched.api import Scheduler, make, next_fire_times
from hasched.compat._dialect import check_exact_json, fires_of_repeat, host_timezone, to_hasched_cron
from hasched.errors import HaschedError, ValidationError

SCHEDULED_JOBS_KEY = "rq:scheduler:scheduled_jobs"
LOCK_KEY = "rq:scheduler_lock"
SOURCE = "rq-scheduler"
DAY = 86400
LOCK_TTL = 300  # seconds; the import renews nothing, so this bounds one run of it
FETCH_BATCH = 500  # rq job hashes read in one round trip
LOCK_WAIT = 15.0  # rqscheduler holds its lock only while it enqueues
# A recurring job whose next run is this close counts as due: the run is kept as a one-off, so
# no time passes between reading "now" and storing a schedule whose first fire is after now.
# All jobs are converted, then written at once: the margin grows by PER_JOB_US for each job
# (converting and writing one takes about 50 µs), so it covers the whole import.
DUE_MARGIN_US = 2 * US
PER_JOB_US = 200
_RQS_META = ("interval", "cron_string", "use_local_timezone", "repeat")
_CALLBACKS = ("_success_callback_name", "_failure_callback_name", "_stopped_callback_name")
# A run of a recurring job is in a queue or a worker under the job's own id: keep that hash.
_IN_FLIGHT = {JobStatus.QUEUED.value, JobStatus.STARTED.value, JobStatus.DEFERRED.value}
_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


class MigrationError(HaschedError):
    """The import cannot start: rq-scheduler's lock `lock_key` stayed taken for `waited` seconds."""

    def __init__(self, lock_key: str, waited: float) -> None:
        self.lock_key = lock_key
        self.waited = waited
        super().__init__(f"rq-scheduler's lock {lock_key} stayed taken for {waited:g}s; try again")


class CannotImport(HaschedError):
    """One rq-scheduler job cannot be carried over; `reason` says why. The import reports it as
    skipped and goes on with the other jobs."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Created:
    """A schedule made from an rq-scheduler job (or that would be, in a dry run)."""

    rq_job_id: str
    schedule_id: str
    trigger: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Skipped:
    """An rq-scheduler job left where it is, and why."""

    rq_job_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What an import did (or, with `dry_run`, would do). `removed` lists the rq job ids taken
    out of rq-scheduler. `dataclasses.asdict` gives its JSON form."""

    dry_run: bool
    created: tuple[Created, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    removed: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """One line per action, then a count, for the CLI."""
        would = "would " if self.dry_run else ""
        out = [f"{would}import {c.rq_job_id} as {c.schedule_id}: {c.trigger}" for c in self.created]
        out += [f"  note ({c.schedule_id}): {c.note}" for c in self.created if c.note]
        out += [f"skip {s.rq_job_id}: {s.reason}" for s in self.skipped]
        out += [f"{would}remove {rid} from rq-scheduler" for rid in self.removed]
        out.append(f"{len(self.created)} schedules, {len(self.skipped)} skipped, {len(self.removed)} removed")
        return out


@dataclass(slots=True)
class _Run:
    """One import in progress: its settings and what it found so far."""

    redis: Redis
    scheduler: Scheduler
    dry_run: bool
    remove_source: bool
    queue_default: str
    local_zone: str | None
    now_us: int = 0  # Redis's clock, read once all jobs are fetched, just before converting
    due_before_us: int = 0  # a recurring job's next run before this is kept as a one-off
    existing: frozenset[str] = frozenset()  # the candidate schedule ids stored already
    created: list[Created] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def import_rq_scheduler(redis: Redis, scheduler: Scheduler, *, dry_run: bool, remove_source: bool,
                        queue_default: str = "default", local_timezone: str | None = None,
                        lock_wait: float = LOCK_WAIT, progress: Progress | None = None,
                        ) -> MigrationReport:  # fmt: skip
    """Create a hasched schedule for each job rq-scheduler has scheduled in `redis`.

    `dry_run` writes nothing. `remove_source` cancels each imported job in rq-scheduler (ZREM from
    its sorted set, as `rq_scheduler.Scheduler.cancel` does) and deletes its job hash, holding
    rq-scheduler's lock meanwhile (MigrationError if it stays taken for `lock_wait` seconds).
    `queue_default` is the queue of a job without one; `local_timezone` (default: this host's)
    is the zone tried for cron jobs besides UTC. Importing twice changes nothing.

    Every job is read and converted first, then all the schedules are written with
    `Scheduler.add_many` (atomic chunks; `progress(done, total)` after each), then the imported
    jobs are removed from rq-scheduler.
    """
    run = _Run(redis, scheduler, dry_run, remove_source, queue_default,
               local_timezone if local_timezone is not None else host_timezone())  # fmt: skip
    hold: AbstractContextManager[None] = nullcontext()
    if remove_source and not dry_run:
        hold = holding_rq_scheduler_lock(redis, lock_wait)
    with hold:
        scheduled = _scheduled(redis)
        jobs = _fetch_all(run, [job_id for job_id, _ in scheduled])
        fetched = [(job_id, job, next_us) for (job_id, next_us), job in zip(scheduled, jobs, strict=True)]
        sids = [schedule_id(job_id) for job_id, _, _ in fetched]
        run.existing = frozenset(scheduler._store.existing([*sids, *map(due_id, sids)]))
        run.now_us = redis_now_us(redis)  # after the slow part (fetching), before converting
        run.due_before_us = run.now_us + DUE_MARGIN_US + PER_JOB_US * len(fetched)
        made = [(job, _import_one(run, job, next_us)) for _, job, next_us in fetched if job is not None]
        if not dry_run:
            scheduler.add_many([s for _, ss in made for s in ss], replace=True, progress=progress)
        for job, schedules in made:
            if schedules and remove_source:
                if not dry_run:
                    _remove(redis, job)
                run.removed.append(job.id)
    return MigrationReport(dry_run, tuple(run.created), tuple(run.skipped), tuple(run.removed))


def _try_fetch(run: _Run, job_id: str, fetch: Callable[[str], Job]) -> Job | None:
    try:
        return fetch(job_id)
    except CannotImport as e:
        run.skipped.append(Skipped(job_id, e.reason))
        return None


def _import_one(run: _Run, job: Job, next_us: int) -> list[Schedule]:
    """The schedules that carry `job` over (recorded as created), or none (recorded as skipped)."""
    try:
        made = _convert(run, job, next_us)
    except (CannotImport, ValidationError) as e:
        reason = e.reason if isinstance(e, CannotImport) else f"{e.field}: {e.message}"
        run.skipped.append(Skipped(job.id, reason))
        return []
    run.created += [Created(job.id, s.id, trigger_summary(s), note) for s, note in made]
    return [s for s, _ in made]


def _scheduled(redis: Redis) -> list[tuple[str, int]]:
    """rq-scheduler's scheduled job ids with their next run in µs, soonest first."""
    entries: list[Any] = redis.zrange(SCHEDULED_JOBS_KEY, 0, -1, withscores=True)
    return [(str_if_bytes(entry[0]), round(float(entry[1]) * US)) for entry in entries]


def _fetch(redis: Redis, job_id: str) -> Job:
    """The job with its function and arguments unpickled (which may import their classes)."""
    try:
        job = Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        raise CannotImport(f"its job hash {job_key(job_id)} is missing") from None
    except Exception as e:  # a corrupt hash: report it, import the others
        raise CannotImport(f"its job hash cannot be read ({e!r})") from None
    return _unpickled(job_id, job)


def _unpickled(job_id: str, job: Job | None) -> Job:
    if job is None:
        raise CannotImport(f"its job hash {job_key(job_id)} is missing")
    try:
        job.func_name  # noqa: B018 - unpickles now, so a failure is reported here
    except DeserializationError as e:
        raise CannotImport(f"its pickled call cannot be read here ({e.__cause__!r})") from None
    except Exception as e:  # a corrupt hash: report it, import the others
        raise CannotImport(f"its job hash cannot be read ({e!r})") from None
    return job


def _fetch_all(run: _Run, job_ids: list[str]) -> list[Job | None]:
    """Every job (None for one that cannot be imported, recorded as skipped), read
    FETCH_BATCH at a time in one round trip; a batch that fails is read again job by job."""
    out: list[Job | None] = []
    for lo in range(0, len(job_ids), FETCH_BATCH):
        batch = job_ids[lo : lo + FETCH_BATCH]
        try:
            jobs = Job.fetch_many(batch, connection=run.redis)
        except Exception:  # one unreadable hash: find it (and read the others) one by one
            out += [_try_fetch(run, job_id, lambda x: _fetch(run.redis, x)) for job_id in batch]
            continue
        out += [_try_fetch(run, x, partial(_unpickled, job=job)) for x, job in zip(batch, jobs, strict=True)]
    return out


# -- mapping ------------------------------------------------------------------------------------


def _convert(run: _Run, job: Job, next_us: int) -> list[tuple[Schedule, str]]:
    """The schedules (with a note each) that carry `job` over; CannotImport if none can."""
    _check_supported(job)
    sid = schedule_id(job.id)
    base = _job_fields(job, run.queue_default)
    if job.meta.get("interval"):  # rq-scheduler's order: an interval wins over a cron string
        return _recurring(run, sid, base, _every(job.meta), next_us, "")
    if job.meta.get("cron_string"):
        trigger, note = _cron(job.meta, next_us, run.local_zone)
        return _recurring(run, sid, base, trigger, next_us, note)
    return [(make(id=sid, **base, **_at(next_us, run.now_us)), "")]


def _check_supported(job: Job) -> None:
    if job.instance is not None:
        raise CannotImport(f"{job.func_name} is called on a pickled instance (a method or callable object)")
    if getattr(job, "_dependency_ids", None):  # RQ keeps depends_on here until enqueued
        raise CannotImport("it depends on other jobs (depends_on)")
    if any(getattr(job, name, None) for name in _CALLBACKS):
        raise CannotImport("it has on_success/on_failure/on_stopped callbacks")
    if job.enqueue_at_front:
        raise CannotImport("it is enqueued at the front of its queue (at_front)")
    if job.meta.get("queue_class_name"):
        raise CannotImport(f"it uses the queue class {job.meta['queue_class_name']}")


def _job_fields(job: Job, queue_default: str) -> dict[str, Any]:
    """What to run and how, as Schedule fields; ValidationError names what JSON cannot hold."""
    args, kwargs = list(job.args), dict(job.kwargs)
    meta = {k: v for k, v in job.meta.items() if k not in _RQS_META}
    check_exact_json("args", args)
    check_exact_json("kwargs", kwargs)
    check_exact_json("meta", meta)
    # RQ fills an empty description with the call string; only a chosen one is kept.
    description = job.description if job.description != job.get_call_string() else None
    return {
        "func": job.func_name,
        "args": args,
        "kwargs": kwargs,
        "queue": job.origin or queue_default,
        "timeout": job.timeout,
        "result_ttl": job.result_ttl,
        "ttl": job.ttl,
        "failure_ttl": job.failure_ttl,
        "description": description,
        "meta": meta,
        "source": SOURCE,
    }


def _every(meta: dict[str, Any]) -> dict[str, Any]:
    interval = meta["interval"]
    if not isinstance(interval, int | float) or isinstance(interval, bool) or interval < 0:
        raise CannotImport(f"its interval {interval!r} is not a number of seconds")
    return {"every": float(interval), "repeat": fires_of_repeat(meta.get("repeat"))}


def _cron(meta: dict[str, Any], next_us: int, local_zone: str | None) -> tuple[dict[str, Any], str]:
    """The cron trigger, in the zone where rq-scheduler's stored next run is a cron time.

    UTC is tried first unless `use_local_timezone`; the other zone only breaks a tie in a note.
    """
    expr = to_hasched_cron(meta["cron_string"])
    order = [local_zone, "UTC"] if meta.get("use_local_timezone") else ["UTC", local_zone]
    zones = list(dict.fromkeys(z for z in order if z is not None))
    matching = [z for z in zones if _is_cron_time(expr, z, next_us)]
    if not matching:
        when = from_us(next_us).isoformat()
        raise CannotImport(
            f"its next run {when} is not a time of {expr!r} in {' or '.join(zones)}: "
            "cannot tell which time zone rq-scheduler uses (see local_timezone)"
        )
    note = f"its next run is also a time of the cron in {matching[1]}" if len(matching) > 1 else ""
    trigger = {"cron": expr, "timezone": matching[0], "repeat": fires_of_repeat(meta.get("repeat"))}
    return trigger, note


def _is_cron_time(expr: str, zone: str, at_us: int) -> bool:
    probe = make(id="probe", func="probe.probe", cron=expr, timezone=zone)
    return next_fire_times(probe, 1, from_us(at_us - 1)) == [from_us(at_us)]


def _recurring(run: _Run, sid: str, base: dict[str, Any], trigger: dict[str, Any], next_us: int,
               note: str) -> list[tuple[Schedule, str]]:  # fmt: skip
    """The recurring schedule from rq-scheduler's next run on, or, when that run is already due,
    the one-off `due_id(sid)` for it and the schedule from the run after it."""
    if not _keeps_due_run(run, sid, next_us):
        return [(make(id=sid, **base, **trigger, start=from_us(next_us)), note)]
    due = make(id=due_id(sid), **base, **_at(next_us, run.now_us))
    out = [(due, "the run rq-scheduler had due but not yet enqueued")]
    total = trigger["repeat"]
    if total != 1:
        # cron times are whole seconds: from one second on, the next is the run after it
        after = next_us + (round(trigger["every"] * US) if "every" in trigger else US)
        rest = {**trigger, "repeat": None if total is None else total - 1, "start": from_us(after)}
        rest_note = "; ".join(filter(None, [f"continues after {due.id}", note]))
        out.append((make(id=sid, **base, **rest), rest_note))
    return out


def _keeps_due_run(run: _Run, sid: str, next_us: int) -> bool:
    """Whether rq-scheduler's next run becomes a one-off: when it is due at the first import.

    Later imports keep that choice: the one-off's existence says it was made, and a schedule
    imported without one already owns the run.
    """
    if due_id(sid) in run.existing:
        return True
    return next_us < run.due_before_us and sid not in run.existing


def _at(next_us: int, now_us: int) -> dict[str, Any]:
    """A one-off at rq-scheduler's next run. One overdue by more than the catch-up window gets a
    window of whole days that covers it (stable across imports), so it runs, as in rq-scheduler."""
    late = (now_us - next_us) / US
    if late <= DEFAULT_CATCHUP_WINDOW - 3600:
        return {"at": from_us(next_us)}
    return {"at": from_us(next_us), "catchup_window": float(math.ceil((late + 3600) / DAY) * DAY)}


def schedule_id(rq_job_id: str) -> str:
    """The hasched id of an rq job id: `rqs-<id>`, with a digest if the id had to be changed."""
    clean = _ID_CHARS.sub("_", rq_job_id)
    if clean == rq_job_id and len(clean) <= 100:
        return f"rqs-{clean}"
    digest = hashlib.sha256(rq_job_id.encode()).hexdigest()[:12]
    return f"rqs-{clean[:87]}-{digest}"


def due_id(sid: str) -> str:
    """The id of the one-off that carries a recurring job's due run: `rqsdue-<id>`, a prefix no
    `schedule_id` starts with, whatever the rq job ids are."""
    return "rqsdue-" + sid.removeprefix("rqs-")


def trigger_summary(s: Schedule) -> str:
    """A schedule's trigger in a few words, for the report."""
    runs = "" if s.repeat is None else f", {s.repeat} run{'s' if s.repeat != 1 else ''}"
    if s.at is not None:
        return f"at {s.at.isoformat()}"
    start = s.start.isoformat() if s.start is not None else "creation"
    if s.every is not None:
        return f"every {s.every:g}s from {start}{runs}"
    return f"cron {s.cron!r} in {s.timezone} from {start}{runs}"


# -- rq-scheduler's side --------------------------------------------------------------------------


@contextmanager
def holding_rq_scheduler_lock(redis: Redis, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold the lock every rqscheduler takes before it enqueues; while held, none enqueues."""
    token = f"hasched-import-{uuid.uuid4().hex}"
    deadline = time.monotonic() + wait
    while not redis.set(LOCK_KEY, token, nx=True, ex=LOCK_TTL):
        if time.monotonic() > deadline:
            raise MigrationError(LOCK_KEY, wait)
        time.sleep(0.05)
    try:
        yield
    finally:
        _release(redis, token)


def _release(redis: Redis, token: str) -> None:
    """Delete the lock if it is still ours (it may have expired and been taken since)."""

    def release(pipe: Pipeline) -> None:
        if str_if_bytes(pipe.get(LOCK_KEY) or b"") == token:
            pipe.multi()
            pipe.delete(LOCK_KEY)

    redis.transaction(release, LOCK_KEY)


def _remove(redis: Redis, job: Job) -> None:
    """Cancel `job` as `rq_scheduler.Scheduler.cancel` does (ZREM) and delete its hash, unless a
    run of it is queued or running under that hash right now."""

    def remove(pipe: Pipeline) -> None:
        status = str_if_bytes(pipe.hget(job.key, "status") or b"")
        pipe.multi()
        pipe.zrem(SCHEDULED_JOBS_KEY, job.id)
        if status not in _IN_FLIGHT:
            job.delete(pipeline=pipe, remove_from_queue=False)

    redis.transaction(remove, job.key)
