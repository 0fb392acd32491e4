"""Every Redis key name hasched uses, built in one place.

All keys of a namespace share the `{namespace}` hash tag, so they live in one Redis Cluster slot.
RQ's own keys (jobs, queues) are RQ's: they are named by RQ's classes, never here.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

from redis.utils import str_if_bytes

NAMESPACE_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# The marks are spread over this many small hashes, so each stays in Redis's compact listpack
# encoding (up to 128 fields by default): ~35 bytes a schedule instead of ~120 in one big hash.
# Part of the data format: a schedule's bucket must never change, so neither may this number.
MARK_BUCKETS = 1024
# How many lease grants `{ns}:leaders` keeps (the Cluster page's "Leadership changes").
LEADERS_KEPT = 50


@dataclass(frozen=True, slots=True)
class Keys:
    """The key names of one namespace."""

    namespace: str

    @property
    def _p(self) -> str:
        return "{" + self.namespace + "}"

    @property
    def defs(self) -> str:
        """HASH schedule id -> JSON definition (with schema version)."""
        return f"{self._p}:defs"

    @property
    def rev(self) -> str:
        """HASH schedule id -> revision, bumped by every client write; guards the leader's advance."""
        return f"{self._p}:rev"

    @property
    def rev_counter(self) -> str:
        """Counter that hands out revisions, so a revision is never reused, even after a delete."""
        return f"{self._p}:revseq"

    @property
    def state(self) -> str:
        """HASH schedule id -> JSON progress {"next": µs or null, "n": fires consumed (left out
        while 0)}."""
        return f"{self._p}:state"

    @property
    def due(self) -> str:
        """ZSET schedule id -> µs when the leader must act (next nominal fire plus jitter)."""
        return f"{self._p}:due"

    @property
    def fires(self) -> str:
        """HASH schedule id -> number of fires enqueued."""
        return f"{self._p}:fires"

    @property
    def last_job(self) -> str:
        """HASH schedule id -> RQ job id of its last enqueued fire (its previous job, for overlap)."""
        return f"{self._p}:last"

    @property
    def paused(self) -> str:
        """SET of paused schedule ids (so counts need no scan)."""
        return f"{self._p}:paused"

    @property
    def ids(self) -> str:
        """ZSET of every stored schedule id, all with score 0, so ZRANGEBYLEX pages through the
        ids in order from any id: a listing costs O(page), not O(schedules)."""
        return f"{self._p}:ids"

    @property
    def invalid(self) -> str:
        """SET of schedule ids whose record could not be read; they are out of `due` until fixed."""
        return f"{self._p}:invalid"

    def mark(self, schedule_id: str) -> str:
        """HASH schedule id -> µs of its latest fire committed in order (one of MARK_BUCKETS
        hashes, chosen by the id); a fire at or below it is never enqueued again."""
        return f"{self._p}:hwm:{zlib.crc32(schedule_id.encode()) % MARK_BUCKETS}"

    @property
    def mark_tombstones(self) -> str:
        """ZSET id of a deleted schedule -> µs after which its mark may be dropped."""
        return f"{self._p}:hwm_deleted"

    @property
    def out_of_order(self) -> str:
        """ZSET "id|fire" of a fire enqueued out of order ("id|t<µs>" for a manual trigger)
        -> µs after which the record may be dropped."""
        return f"{self._p}:ooo"

    @property
    def gaps(self) -> str:
        """ZSET, all scores 0, of "id|<last µs, 16 digits>|<first µs>": stretches at or below a
        schedule's mark in which no fire was enqueued (`hasched._dedupe`), found per schedule
        with ZRANGEBYLEX: one key for the namespace, none per schedule."""
        return f"{self._p}:gaps"

    def runs(self, schedule_id: str) -> str:
        """LIST of the schedule's run records, newest first, capped at its `history`
        (compact JSON, `hasched._runs`)."""
        return f"{self._p}:runs:{schedule_id}"

    def stats(self, schedule_id: str) -> str:
        """HASH of the schedule's run counters, `last_success` (µs), `last_failure` (JSON) and
        `note` (why it is paused)."""
        return f"{self._p}:stats:{schedule_id}"

    @property
    def in_flight(self) -> str:
        """HASH RQ job id -> JSON [schedule id, queue, pause on failure, its run record] of every
        run whose end has not been seen yet: what the leader's tracker reads each pass."""
        return f"{self._p}:inflight"

    def waiting(self, schedule_id: str) -> str:
        """LIST of the schedule's fires waiting for its previous job to end (overlap buffer
        policies), oldest first: "job id<TAB>queue key<TAB>msgpack" (overlap_lib.lua)."""
        return f"{self._p}:waiting:{schedule_id}"

    @property
    def waiting_set(self) -> str:
        """SET of the schedule ids with waiting fires: what the leader's overlap pass reads."""
        return f"{self._p}:waiting"

    @property
    def stopping(self) -> str:
        """HASH RQ job id -> second (Redis's clock) until which the leader repeats RQ's stop-job
        command for it (overlap terminate_other), until the job is seen ended."""
        return f"{self._p}:stopping"

    @property
    def pausing(self) -> str:
        """HASH schedule id -> note: pauses asked for by a failed run (pause_on_failure), applied
        by the leader as a client write."""
        return f"{self._p}:pausing"

    def legacy_claim(self, schedule_id: str, fire_us: int) -> str:
        """STRING marker hasched 0.1 wrote per fire (7-day TTL); still honoured, never written."""
        return f"{self._p}:claim:{schedule_id}:{fire_us}"

    @property
    def lease(self) -> str:
        """STRING "instance_id|epoch" with a TTL: who leads."""
        return f"{self._p}:lease"

    @property
    def epoch(self) -> str:
        """Counter of lease grants; only goes up."""
        return f"{self._p}:epoch"

    @property
    def leaders(self) -> str:
        """LIST of the latest lease grants, newest first, capped at LEADERS_KEPT:
        "instance_id|epoch|ms" (ms on Redis's clock), written by acquire.lua with the grant."""
        return f"{self._p}:leaders"

    @property
    def instances(self) -> str:
        """ZSET instance id -> last heartbeat (ms, Redis clock)."""
        return f"{self._p}:instances"

    @property
    def wake(self) -> str:
        """Pub/sub channel: a schedule changed ("schedule") or the lease was released ("lease")."""
        return f"{self._p}:wake"

    def job_id(self, schedule_id: str, fire_us: int) -> str:
        """The RQ job id of a fire: the same fire always gets the same id."""
        return f"hasched-{self.tag}-{schedule_id}-{fire_us}"

    def trigger_job_id(self, schedule_id: str, now_us: int) -> str:
        """The RQ job id of a manual trigger, apart from the schedule's own fires."""
        return f"hasched-{self.tag}-{schedule_id}-t{now_us}"

    @property
    def tag(self) -> str:
        """A short digest of the namespace, so two namespaces never share a job id."""
        return _tag(self.namespace)


@lru_cache(maxsize=64)
def _tag(namespace: str) -> str:
    return hashlib.sha1(namespace.encode()).hexdigest()[:8]  # once per namespace: every job id has it


def lease_value(instance_id: str, epoch: int) -> str:
    """The lease key's value: who holds it and with which epoch (acquire.lua writes the same)."""
    return f"{instance_id}|{epoch}"


def parse_lease(raw: bytes | str) -> tuple[str, int]:
    """(holder, epoch) from a lease key's value."""
    holder, _, epoch = str_if_bytes(raw).rpartition("|")
    return holder, int(epoch) if epoch.isdigit() else 0
