"""The leader's overlap pass: enqueue waiting fires whose previous job ended, repeat stops.

Fires of the buffer policies wait on a per-schedule list (overlap_lib.lua). Each pass, while any
wait, the leader reads the head of each such schedule's list and its previous job's status in
one pipeline; for those whose previous job is no longer queued or started, release_waiting.lua
checks it all again and pops and enqueues the head in one fenced, atomic step. So a waiting fire
is enqueued exactly once, whoever leads, and within one pass (OVERLAP_INTERVAL) of the previous
job's end. terminate_other's stop requests are repeated from the stopping hash with RQ's own
`send_command` until the job is seen ended (or the request's deadline passes): a worker that
took the job but had not started it yet ignores the first one. Cost: O(schedules with waiting
fires + jobs being stopped) per pass, at most READ_BATCH of each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from redis.utils import str_if_bytes
from rq.command import send_command

from hasched._jobs import job_key, queue_key, queues_set_key
from hasched._metrics import Metrics
from hasched._store import Store

OVERLAP_INTERVAL = 0.25  # seconds between passes at most while fires wait or jobs are being stopped
IDLE_CHECK = 1.0  # seconds between looks while nothing waited at the last one (a new leader looks at once)
READ_BATCH = 1000
_BUSY = (b"queued", b"started")
_ENDED = (b"finished", b"failed", b"stopped", b"canceled")


@dataclass(slots=True)
class ReleaseReport:
    """What one overlap pass did, for metrics and logs."""

    fenced: bool = False
    released: list[tuple[str, str, str]] = field(default_factory=list)  # (schedule id, queue, job id)
    waiting: int = 0  # schedules with waiting fires seen (some may have gone since)
    stopping: int = 0  # jobs being stopped seen (likewise)
    stops_sent: list[str] = field(default_factory=list)  # job ids the stop command went to

    @property
    def busy(self) -> bool:
        """Something may be left for the next pass (a pass that finds nothing says no)."""
        return self.waiting > 0 or self.stopping > 0


@dataclass(frozen=True, slots=True)
class _Head:
    sid: str
    entry: bytes
    job_id: str
    queue_key: str
    prev_id: str  # '' none


class Releaser:
    """Runs the overlap pass for the leader. Holds only when to look next; Redis holds the state."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._busy = False
        self._next = 0.0  # monotonic time of the next look while idle

    def run(self, lease_value: str, *, hint: bool = False) -> ReleaseReport:
        """One pass: release what can go, repeat pending stops. While the last look found
        nothing and `hint` (this pass's commit made fires wait) is false, it looks only every
        IDLE_CHECK seconds, in one round trip: the leader's usual pass costs nothing more."""
        now = time.monotonic()
        if not (hint or self._busy or now >= self._next):
            return ReleaseReport()
        self._next = now + IDLE_CHECK
        report = self._pass(lease_value)
        self._busy = report.busy and not report.fenced
        return report

    def _pass(self, lease_value: str) -> ReleaseReport:
        k, redis = self._store.keys, self._store.redis
        pipe = redis.pipeline(transaction=False)
        pipe.srandmember(k.waiting_set, READ_BATCH)
        pipe.hscan(k.stopping, 0, count=READ_BATCH)
        pipe.time()
        sids, (_, stopping), (secs, _) = pipe.execute()
        report = ReleaseReport(waiting=len(sids), stopping=len(stopping))
        if sids:
            heads = self._heads(sorted(str_if_bytes(s) for s in sids))
            if heads and not self._release(lease_value, heads, report):
                report.fenced = True
                return report
        if stopping:
            self._stops(stopping, int(secs), report)
        return report

    def _heads(self, sids: list[str]) -> list[_Head]:
        """The head entry and previous job of each schedule, keeping those whose previous job
        is not busy (or whose list is empty: the script takes it out of the set)."""
        k, pipe = self._store.keys, self._store.redis.pipeline(transaction=False)
        for sid in sids:
            pipe.lindex(k.waiting(sid), 0)
            pipe.hget(k.last_job, sid)
        replies = pipe.execute()
        heads = []
        for n, sid in enumerate(sids):
            entry, prev = replies[2 * n], replies[2 * n + 1]
            job_id, queue_key = "", ""
            if entry is not None:
                job_id, queue_key, _ = (str_if_bytes(x) for x in entry.split(b"\t", 2))
            heads.append(_Head(sid, entry or b"", job_id, queue_key, str_if_bytes(prev) if prev else ""))
        for h in heads:
            if h.prev_id:
                pipe.hget(job_key(h.prev_id), "status")
            else:
                pipe.echo("")
        statuses = pipe.execute()
        return [h for h, st in zip(heads, statuses, strict=True) if not h.entry or st not in _BUSY]

    def _release(self, lease_value: str, heads: list[_Head], report: ReleaseReport) -> bool:
        k = self._store.keys
        keys: list[str] = [k.lease, k.waiting_set, k.in_flight, k.last_job, k.fires, queues_set_key(), k.defs,
                           k.paused]  # fmt: skip
        args: list[Any] = [lease_value, len(heads)]
        for h in heads:
            # an empty list's head: any key names do, the script only takes it out of the set
            job = job_key(h.job_id) if h.job_id else k.waiting(h.sid)
            keys += [k.waiting(h.sid), k.runs(h.sid), k.stats(h.sid), job, h.queue_key or k.waiting(h.sid)]
        for h in heads:
            prev_at = 0
            if h.prev_id:
                keys.append(job_key(h.prev_id))
                prev_at = len(keys)
            args += [h.sid, h.entry, h.prev_id, prev_at]
        reply = self._store.scripts.release_waiting(keys, args)
        if reply == "F":
            return False
        prefix = len(queue_key(""))
        report.released = [(h.sid, h.queue_key[prefix:], h.job_id)
                           for h, letter in zip(heads, reply, strict=True) if letter == "R"]  # fmt: skip
        return True

    def _stops(self, stopping: dict[bytes, bytes], now_s: int, report: ReleaseReport) -> None:
        """Send RQ's stop-job command again to each job still started; forget ended ones."""
        redis, k = self._store.redis, self._store.keys
        ids = [str_if_bytes(j) for j in list(stopping)[:READ_BATCH]]
        pipe = redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hmget(job_key(job_id), ["status", "worker_name"])
        done = []
        for job_id, (status, worker) in zip(ids, pipe.execute(), strict=True):
            if status is None or status in _ENDED or now_s > int(stopping[job_id.encode()]):
                done.append(job_id)
            elif status == b"started" and worker:
                send_command(redis, str_if_bytes(worker), "stop-job", job_id=job_id)
                report.stops_sent.append(job_id)
        if done:
            redis.hdel(k.stopping, *done)


def report_release(report: ReleaseReport, metrics: Metrics, log: Any) -> None:
    """A pass's releases into the enqueue metrics and logs."""
    for sid, queue, job_id in report.released:
        metrics.fires_enqueued.labels(queue=queue).inc()
        log.info("hasched.fire.released", schedule_id=sid, job_id=job_id)
    for job_id in report.stops_sent:
        log.info("hasched.job.stop_sent", job_id=job_id)
    if report.fenced:
        log.error("hasched.lease.fenced", step="release")
