"""Run records against a real Redis and real RQ jobs: written with the enqueue, moved on by the
tracker from what RQ shows, missed and skipped fires explained, counters and last outcomes."""

from __future__ import annotations

from typing import Any

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job

from hasched import Scheduler
from hasched._jobs import job_key
from hasched._lease import Lease
from hasched._plan import State
from hasched._records import encode_state
from hasched._store import Store
from hasched._tick import Ticker
from hasched._tracker import Tracker
from hasched._triggers import US, from_us
from hasched.errors import ScheduleNotFound, ValidationError

NS = "runs"
RUN_KEYS = {
    "fire_time",
    "kind",
    "job_id",
    "epoch",
    "enqueued_at",
    "status",
    "started_at",
    "ended_at",
    "error",
}
MISSED_KEYS = {"kind", "status", "first_fire_time", "last_fire_time", "count", "reason"}


class Leader:
    """A leader's two steps, driven by the test: tick (enqueue) and track (follow the runs)."""

    def __init__(self, redis: Redis, name: str = "a") -> None:
        self.store = Store(redis, NS)
        self.lease = Lease(self.store.scripts, name, 30)
        assert self.lease.try_acquire()
        self.ticker = Ticker(self.store, redis)
        self.tracker = Tracker(self.store)

    def tick(self, at_us: int | None = None) -> Any:
        return self.ticker.tick(self.lease.value, self.lease.epoch, at_us or self.store.now_us())

    def track(self) -> Any:
        return self.tracker.track(self.lease.value)


def work(redis: Redis) -> None:
    SimpleWorker([Queue("default", connection=redis)], connection=redis).work(burst=True)


def test_a_fire_is_recorded_queued_with_its_enqueue_then_finished(redis: Redis) -> None:
    sched, lead = Scheduler(redis, NS), Leader(redis)
    now = lead.store.now_us()
    sched.at("once", from_us(now), "jobs.add", args=[1, 2])
    job_id = lead.tick().outcome.enqueued[0].job_id
    [queued] = sched.history("once")
    assert set(queued) == RUN_KEYS
    assert queued == {"fire_time": from_us(now).isoformat(), "kind": "scheduled", "job_id": job_id,
                      "epoch": lead.lease.epoch, "enqueued_at": queued["enqueued_at"], "status": "queued",
                      "started_at": None, "ended_at": None, "error": None}  # fmt: skip
    assert lead.track().in_flight == 1 and not lead.track().changed  # nothing moved: nothing written
    work(redis)
    report = lead.track()
    assert [run.status for _, run in report.changed] == ["finished"] and report.in_flight == 0
    [done] = sched.history("once")
    job = Job.fetch(job_id, connection=redis)
    assert done["status"] == "finished" and done["error"] is None
    assert done["started_at"] == job.started_at.replace(microsecond=job.started_at.microsecond).isoformat()
    assert done["enqueued_at"] <= done["started_at"] <= done["ended_at"]
    d = sched.describe("once")
    assert d["counters"] == {"enqueued": 1, "finished": 1, "failed": 0, "missed": 0, "skipped": 0,
                             "triggered": 0}  # fmt: skip
    assert d["last_success"] == done["ended_at"] and d["last_failure"] is None
    assert d["recent"] == [done] and d["upcoming"] == [] and d["pause_note"] is None
    assert redis.hlen(lead.store.keys.in_flight) == 0


def test_a_failure_keeps_the_last_line_and_pause_on_failure_pauses_with_a_note(redis: Redis) -> None:
    sched, lead = Scheduler(redis, NS), Leader(redis)
    start = lead.store.now_us() + US
    sched.every(
        "flaky", 3600, "jobs.fail_deep", args=["disk full"], start=from_us(start), pause_on_failure=True
    )
    job_id = lead.tick(start).outcome.enqueued[0].job_id
    work(redis)
    lead.track()
    [run] = sched.history("flaky")
    assert (run["status"], run["error"]) == ("failed", "disk full")  # the last line of the text
    d = sched.describe("flaky")
    assert d["last_failure"] == {"time": run["ended_at"], "error": "disk full", "job_id": job_id}
    assert d["counters"]["failed"] == 1 and d["paused"] is True
    assert d["pause_note"] == f"paused on failure of job {job_id}"
    assert d["upcoming"] == [] and d["next_fire"] is None
    sched.resume("flaky")
    assert sched.describe("flaky")["pause_note"] is None


def test_a_job_gone_before_it_was_seen_ending_is_found_in_rqs_registries(redis: Redis) -> None:
    sched, lead = Scheduler(redis, NS), Leader(redis)
    now = from_us(lead.store.now_us())
    sched.at("ok", now, "jobs.add", args=[1, 1], result_ttl=600)
    sched.at("bad", now, "jobs.fail", args=["gone wrong"])
    sched.at("lost", now, "jobs.add", args=[2, 2])
    ids = {f.schedule_id: f.job_id for f in lead.tick().outcome.enqueued}
    redis.delete(job_key(ids["lost"]))  # vanished while queued: RQ never ran it (its ttl, say)
    Queue("default", connection=redis).remove(ids["lost"])
    work(redis)
    for sid in ("ok", "bad"):
        redis.delete(job_key(ids[sid]))  # what RQ's result_ttl / failure_ttl expiry does
    lead.track()
    status = {sid: sched.history(sid)[0] for sid in ids}
    assert {sid: r["status"] for sid, r in status.items()} == {
        "ok": "finished",
        "bad": "failed",
        "lost": "unknown",
    }
    assert status["bad"]["error"] == "RuntimeError: gone wrong"  # from RQ's result stream
    assert status["ok"]["ended_at"] is not None


def test_overlap_skips_and_missed_fires_are_recorded(redis: Redis) -> None:
    sched, lead = Scheduler(redis, NS), Leader(redis)
    t0 = lead.store.now_us() + US
    sched.every("busy", 10, "jobs.add", args=[0, 0], start=from_us(t0), overlap="skip", catchup="skip")
    lead.tick(t0)
    lead.tick(t0 + 10 * US)  # the first job is still queued: skipped
    lead.tick(t0 + 65 * US)  # 40 s late for 20, 30, 40, 50 and 60: missed by the policy (skip)
    lead.tick(t0 + 126 * US)  # 70 .. 120 more: the same stretch, nothing ran between
    records = sched.history("busy")
    assert [r["status"] for r in records] == ["missed", "skipped", "queued"]
    missed = records[0]
    assert set(missed) == MISSED_KEYS
    assert missed == {"kind": "missed", "status": "missed", "count": 11, "reason": "catchup_policy",
                      "first_fire_time": from_us(t0 + 20 * US).isoformat(),
                      "last_fire_time": from_us(t0 + 120 * US).isoformat()}  # fmt: skip
    assert records[1]["job_id"] is None and records[1]["fire_time"] == from_us(t0 + 10 * US).isoformat()
    counters = sched.describe("busy")["counters"]
    assert (counters["missed"], counters["skipped"], counters["enqueued"]) == (11, 1, 1)


def test_fires_older_than_the_window_are_missed_for_the_window(redis: Redis) -> None:
    sched, lead = Scheduler(redis, NS), Leader(redis)
    t0 = lead.store.now_us() + US
    sched.every("short", 1, "jobs.add", args=[0, 0], start=from_us(t0), catchup="all", catchup_window=2)
    lead.tick(t0 + 10 * US)  # 0 .. 7 are older than 2 s; 8, 9, 10 are caught up
    records = sched.history("short")
    assert [r["status"] for r in records] == ["queued"] * 3 + ["missed"]
    assert (records[-1]["reason"], records[-1]["count"]) == ("catchup_window", 8)
    assert records[-1]["last_fire_time"] == from_us(t0 + 7 * US).isoformat()


def test_a_pause_note_and_the_fires_missed_while_paused(redis: Redis) -> None:
    sched, lead = Scheduler(redis, NS), Leader(redis)
    t0 = lead.store.now_us()
    sched.every("p", 0.01, "jobs.add", args=[0, 0], start=from_us(t0 + 3600 * US))
    sched.pause("p", note="ana: migrating the db")
    assert sched.describe("p")["pause_note"] == "ana: migrating the db"
    sched.pause("p", note="ana: still migrating")  # a paused one: only the note changes
    assert sched.describe("p")["pause_note"] == "ana: still migrating"
    assert sched.history("p") == []  # nothing fell due
    store = lead.store
    store.redis.hset(store.keys.state, "p", encode_state(State(t0 - 5 * US)))  # it was due 5 s ago
    sched.resume("p")
    [missed] = sched.history("p")
    assert (missed["reason"], missed["first_fire_time"]) == ("paused", from_us(t0 - 5 * US).isoformat())
    assert missed["count"] >= 500  # every 10 ms from 5 s ago up to the resume
    assert sched.describe("p")["pause_note"] is None
    with pytest.raises(ValidationError):
        sched.pause("p", note="x" * 1025)


def test_a_trigger_is_recorded_with_its_enqueue_and_tracked(redis: Redis) -> None:
    sched, lead = Scheduler(redis, NS), Leader(redis)
    sched.cron("manual", "0 3 * * *", "jobs.add", args=[3, 4])
    job = sched.trigger("manual")
    [run] = sched.history("manual")
    assert (run["kind"], run["job_id"], run["status"], run["epoch"]) == ("trigger", job.id, "queued", 0)
    work(redis)
    lead.track()
    assert sched.history("manual")[0]["status"] == "finished"
    counters = sched.describe("manual")["counters"]
    assert (counters["enqueued"], counters["triggered"], counters["finished"]) == (1, 1, 1)
    assert len(sched.describe("manual")["upcoming"]) == 10


def test_history_is_capped_and_goes_with_the_schedule(redis: Redis) -> None:
    sched, lead = Scheduler(redis, NS), Leader(redis)
    t0 = lead.store.now_us() + US
    sched.every("capped", 1, "jobs.add", args=[0, 0], start=from_us(t0), catchup="all", history=3)
    lead.tick(t0 + 9 * US)
    records = sched.history("capped", n=100)
    assert [r["fire_time"] for r in records] == [from_us(t0 + k * US).isoformat() for k in (9, 8, 7)]
    assert len(sched.history("capped", n=2)) == 2
    work(redis)
    lead.track()  # runs trimmed out of the history still count
    assert sched.describe("capped")["counters"]["finished"] == 10
    sched.cancel("capped")
    with pytest.raises(ScheduleNotFound):
        sched.history("capped")
    assert not redis.exists(lead.store.keys.runs("capped"), lead.store.keys.stats("capped"))
    with pytest.raises(ValidationError):
        sched.history("x", n=0)


def test_a_fenced_tracker_writes_nothing_and_the_new_leader_carries_on(redis: Redis) -> None:
    sched, old = Scheduler(redis, NS), Leader(redis, "old")
    sched.at("one", from_us(old.store.now_us()), "jobs.add", args=[1, 1])
    old.tick()
    work(redis)
    redis.delete(old.store.keys.lease)  # the old leader lost its lease ...
    new = Leader(redis, "new")  # ... and a new one took it
    assert old.track().fenced
    assert sched.history("one")[0]["status"] == "queued"
    assert [run.status for _, run in new.track().changed] == ["finished"]
    assert sched.describe("one")["counters"]["finished"] == 1
    assert not new.track().changed  # counted once
