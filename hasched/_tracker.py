"""The leader's run tracker: what became of the jobs it enqueued, read from Redis.

Plain `rq worker`s run the jobs; nothing of hasched runs there. Each enqueue (commit.lua,
trigger_run.lua) also adds its run to an in-flight hash. Each pass the leader reads that hash (a
bounded slice of it), then the in-flight jobs' RQ hashes in one pipeline; a job whose hash is gone
(RQ's `result_ttl`, `failure_ttl` or `ttl` ran out) is looked up in RQ's registries, which keep
ids until RQ's own cleanup, before it is called `unknown`. The new records, counters and last
outcomes are written by track.lua in one step per batch, fenced by the lease like a commit, so a
new leader simply carries on from the hash. Cost: O(runs in flight) per pass, never O(schedules).
"""

from __future__ import annotations

import json
import zlib
from base64 import b64decode
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.utils import str_if_bytes
from rq.registry import CanceledJobRegistry, FailedJobRegistry, FinishedJobRegistry
from rq.results import Result
from rq.utils import utcparse

from hasched._jobs import job_key
from hasched._metrics import Metrics
from hasched._runs import ENDED, JobSeen, Run, decode, iso, observe
from hasched._store import Store
from hasched._triggers import US, to_us

READ_BATCH = 1000  # in-flight entries looked at per pass
BUSY_READ_BATCH = 200  # the same while fires are being enqueued: a pass then holds them up less
TRACK_INTERVAL = 2.0  # seconds between passes at most while runs are in flight
TRACK_GAP = 0.25  # seconds between passes at least: a leader woken for fires every ms tracks less often
_REGISTRIES = (
    ("finished", FinishedJobRegistry),
    ("failed", FailedJobRegistry),
    ("canceled", CanceledJobRegistry),
)
_JOB_FIELDS = ("status", "started_at", "ended_at", "exc_info")


@dataclass(frozen=True, slots=True)
class InFlight:
    """One in-flight entry: the run and what the tracker needs besides (see `Keys.in_flight`)."""

    job_id: str
    schedule_id: str
    queue: str
    pause_on_failure: bool
    record: str  # the run record's text, as in the history list
    raw: str  # the whole entry, as read: the update applies only while it is unchanged
    run: Run

    @classmethod
    def parse(cls, job_id: str, raw: str) -> InFlight:
        sid, queue, pause, record = raw.split("\t", 3)
        run = decode(record)
        assert isinstance(run, Run)
        return cls(job_id, sid, queue, pause == "1", record, raw, run)

    def after(self, run: Run) -> str:
        """The entry once `run` replaced the record ('' once it ended: the entry goes)."""
        return "" if run.ended else self.raw[: len(self.raw) - len(self.record)] + run.encode()


@dataclass(slots=True)
class TrackReport:
    """What one pass saw, for metrics and logs."""

    fenced: bool = False
    in_flight: int = 0
    changed: list[tuple[InFlight, Run]] = field(default_factory=list)  # (before, after), applied
    paused: list[tuple[str, str]] = field(default_factory=list)  # (schedule id, note)


class Tracker:
    """Follows the runs in flight for the leader. Holds only a scan cursor; Redis holds the state."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cursor = 0
        self._parsed: dict[tuple[str, str], InFlight] = {}  # entries read last pass, by their text

    def track(self, lease_value: str, batch: int = READ_BATCH) -> TrackReport:
        """One pass: read (about `batch` of) the in-flight runs, write what changed, apply pauses
        asked for."""
        k, redis = self._store.keys, self._store.redis
        pipe = redis.pipeline(transaction=False)
        pipe.hscan(k.in_flight, self._cursor, count=batch)
        pipe.hlen(k.in_flight)
        pipe.hgetall(k.pausing)
        (self._cursor, raw), total, pausing = pipe.execute()
        report = TrackReport(in_flight=int(total))
        entries = self._parse(raw)
        seen = self._look(entries)
        for entry, job in zip(entries, seen, strict=True):
            run = observe(entry.run, job)
            if run != entry.run:
                report.changed.append((entry, run))
        if report.changed and not self._write(lease_value, report):
            report.fenced = True
            return report
        report.in_flight -= sum(1 for _, run in report.changed if run.ended)
        asked = {e.schedule_id: _outcome(e, run)[3] for e, run in report.changed}  # this pass's, too
        waiting = {str_if_bytes(sid): str_if_bytes(note) for sid, note in pausing.items()}
        self._pause({**waiting, **{sid: note for sid, note in asked.items() if note}}, report)
        return report

    def _parse(self, raw: dict[Any, Any]) -> list[InFlight]:
        """The entries read; one that cannot be read (written by a newer version?) is dropped."""
        entries, bad, parsed = [], [], {}
        for job_id, value in raw.items():
            key = (str_if_bytes(job_id), str_if_bytes(value))
            try:
                entry = self._parsed.get(key) or InFlight.parse(*key)
            except (ValueError, KeyError, TypeError, AssertionError):
                bad.append(job_id)
                continue
            entries.append(entry)
            parsed[key] = entry
        self._parsed = parsed  # an idle pass decodes nothing it decoded before
        if bad:
            self._store.redis.hdel(self._store.keys.in_flight, *bad)
        return entries

    def _look(self, entries: list[InFlight]) -> list[JobSeen]:
        """What RQ shows of each entry's job (two pipelined reads at most)."""
        if not entries:
            return []
        pipe = self._store.redis.pipeline(transaction=False)
        for e in entries:
            pipe.hmget(job_key(e.job_id), _JOB_FIELDS)
        hashes = pipe.execute()
        more = [i for i, (e, h) in enumerate(zip(entries, hashes, strict=True)) if _needs_more(h)]
        extra: dict[int, list[Any]] = {}
        if more:
            for i in more:
                e = entries[i]
                for _, registry in _REGISTRIES:
                    pipe.zscore(registry.key_template.format(e.queue), e.job_id)
                pipe.xrevrange(_results_key(e.job_id), count=1)
            answers = pipe.execute()
            extra = {i: answers[n * 4 : n * 4 + 4] for n, i in enumerate(more)}
        return [_seen(h, extra.get(i)) for i, h in enumerate(hashes)]

    def _write(self, lease_value: str, report: TrackReport) -> bool:
        """Write every change in one fenced step; False when the lease is no longer ours."""
        k = self._store.keys
        keys: list[str] = [k.lease, k.in_flight, k.pausing, k.defs]
        args: list[Any] = [lease_value, len(report.changed)]
        for entry, run in report.changed:
            keys += [k.runs(entry.schedule_id), k.stats(entry.schedule_id)]
            counter, last, value, note = _outcome(entry, run)
            args += [entry.job_id, entry.schedule_id, entry.raw, entry.after(run), entry.record,
                     run.encode(), counter, last, value, note]  # fmt: skip
        reply = self._store.scripts.track(keys, args)
        if reply == "F":
            return False
        report.changed = [c for c, letter in zip(report.changed, reply, strict=True) if letter == "U"]
        return True

    def _pause(self, pausing: dict[str, str], report: TrackReport) -> None:
        """Pause the schedules a failed run asked to pause (pause_on_failure), as client writes;
        the request stays in Redis until done, so a new leader does what this one could not."""
        for sid, note in pausing.items():
            self._store.pause_for(sid, note)
            self._store.redis.hdel(self._store.keys.pausing, sid)
            report.paused.append((sid, note))


def report_runs(report: TrackReport, metrics: Metrics, log: Any) -> None:
    """A pass's changes into the run metrics and logs."""
    metrics.runs_in_flight.set(report.in_flight)
    for before, run in report.changed:
        q = before.queue
        if before.run.started_us is None and run.started_us is not None and run.enqueued_us is not None:
            metrics.run_wait.labels(queue=q).observe(max(0, run.started_us - run.enqueued_us) / US)
        if not run.ended:
            continue
        metrics.runs.labels(queue=q, status=run.status).inc()
        if run.started_us is not None and run.ended_us is not None:
            metrics.run_duration.labels(queue=q).observe(max(0, run.ended_us - run.started_us) / US)
        log.info("hasched.run.ended", schedule_id=before.schedule_id, job_id=before.job_id,
                 status=run.status, error=run.error)  # fmt: skip
    for sid, note in report.paused:
        log.warning("hasched.schedule.paused_on_failure", schedule_id=sid, note=note)
    if report.fenced:
        log.error("hasched.lease.fenced", step="track")


def _outcome(entry: InFlight, run: Run) -> tuple[str, str, str, str]:
    """(counter to bump, last_* field, its value, pause note) for a run's change."""
    when = run.ended_us or run.started_us or run.enqueued_us or run.fire_us  # as near its end as known
    if run.status == "finished":
        return "finished", "last_success", str(when), ""
    if run.status != "failed":
        return "", "", "", ""
    failure = {"time": iso(when), "error": run.error, "job_id": entry.job_id}
    note = f"paused on failure of job {entry.job_id}" if entry.pause_on_failure else ""
    return "failed", "last_failure", json.dumps(failure, separators=(",", ":")), note


def _results_key(job_id: str) -> str:
    """RQ's stream of a job's results (RQ 2 and 3)."""
    key: str = Result.get_key(job_id)  # type: ignore[no-untyped-call]
    return key


def _needs_more(job: list[Any]) -> bool:
    """The hash is gone (look in the registries), or the job ended without its end time (a
    stopped job) or its failure's text in the hash: RQ's result stream has them."""
    status, _, ended, exc_info = job
    if status is None:
        return True
    status = str_if_bytes(status)
    return (status in ENDED and not ended) or (status == "failed" and not exc_info)


def _seen(job: list[Any], extra: list[Any] | None) -> JobSeen:
    status, started, ended, exc_info = job
    exc, result_ended = _result(extra[3]) if extra else (None, None)
    if exc_info:
        exc = _text(exc_info)
    if status is None:
        found = [name for (name, _), at in zip(_REGISTRIES, extra or [], strict=False) if at is not None]
        return JobSeen(None, None, result_ended, exc, found[0] if found else None)
    return JobSeen(str_if_bytes(status), _time(started), _time(ended) or result_ended, exc)


def _result(stream: list[Any]) -> tuple[str | None, int | None]:
    """The exception text and end time (µs) of a job's latest result in RQ's result stream."""
    if not stream:
        return None, None
    entry_id, fields = stream[0]
    ended = int(str_if_bytes(entry_id).split("-")[0]) * 1000  # the stream id is its ms time
    raw = fields.get(b"exc_string") or fields.get("exc_string")
    if not raw:
        return None, ended
    try:
        return zlib.decompress(b64decode(raw)).decode(errors="replace"), ended
    except (ValueError, zlib.error):
        return None, ended


def _text(exc_info: bytes) -> str:
    """RQ stores `exc_info` zlib-compressed (older versions as plain text)."""
    try:
        return zlib.decompress(exc_info).decode(errors="replace")
    except zlib.error:
        return exc_info.decode(errors="replace")


def _time(raw: bytes | None) -> int | None:
    """µs from RQ's timestamp text ('' or unreadable: None)."""
    if not raw:
        return None
    try:
        parsed: datetime = utcparse(str_if_bytes(raw))
    except ValueError:
        return None
    return to_us(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))  # RQ 2.0 gives it naive
