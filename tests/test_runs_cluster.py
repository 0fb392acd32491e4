"""Run records with a real cluster: `hasched run` instances and plain `rq worker`s. Jobs that
succeed, fail and are stopped; RQ deleting the jobs before any leader looked; a leader killed
while its runs are in flight; fires missed while no instance ran."""

from __future__ import annotations

import signal
from datetime import datetime, timedelta
from typing import Any

from cluster import Cluster
from helpers import redis_now, wait_for
from redis import Redis
from rq.command import send_stop_job_command

from hasched import Scheduler
from hasched._jobs import job_key
from hasched._triggers import US, from_us, to_us

ENDED = {"finished", "failed", "stopped", "canceled", "unknown"}


def statuses(sched: Scheduler, sid: str) -> list[str]:
    return [r["status"] for r in sched.history(sid, n=1000)]


def test_outcomes_survive_rq_deleting_the_jobs_before_a_leader_looked(cluster: Cluster, redis: Redis) -> None:
    sched = Scheduler(redis)
    at = redis_now(redis) + timedelta(seconds=1)
    sched.at("ok", at, "jobs.add", args=[1, 2], result_ttl=1)
    sched.at("bad", at, "jobs.fail", args=["the disk is full"], result_ttl=1)  # kept: RQ's failure_ttl
    sched.at("gone", at, "jobs.fail", args=["never seen"], failure_ttl=1)  # its text goes with it
    sched.at("halt", at, "jobs.wait_until_stopped")
    names = ("ok", "bad", "gone", "halt")
    cluster.start_instance("a")
    wait_for(lambda: all(statuses(sched, sid) == ["queued"] for sid in names), timeout=15)
    cluster.instances["a"].stop()  # no leader looks while the jobs run and RQ deletes them
    ids = {sid: sched.history(sid)[0]["job_id"] for sid in names}
    cluster.start_worker(worker_class="rq.worker.Worker")  # forks: a running job can be stopped
    wait_for(lambda: redis.hget(job_key(ids["halt"]), "status") == b"started", timeout=20)
    send_stop_job_command(redis, ids["halt"])
    wait_for(lambda: redis.hget(job_key(ids["halt"]), "status") == b"stopped", timeout=20)
    wait_for(lambda: not redis.exists(job_key(ids["ok"]), job_key(ids["gone"])), timeout=20)  # RQ's TTLs
    assert statuses(sched, "ok") == ["queued"]  # nobody looked yet
    cluster.start_instance("b")
    wait_for(lambda: all(statuses(sched, sid)[0] in ENDED for sid in ids), timeout=20)
    runs = {sid: sched.history(sid)[0] for sid in ids}
    assert {sid: r["status"] for sid, r in runs.items()} == {
        "ok": "finished", "bad": "failed", "gone": "failed", "halt": "stopped"}  # fmt: skip
    assert runs["bad"]["error"] == "RuntimeError: the disk is full"
    assert runs["gone"]["error"] is None  # RQ dropped the text before any leader saw it
    assert runs["halt"]["error"] is None and runs["halt"]["started_at"] and runs["halt"]["ended_at"]
    assert sched.describe("bad")["last_failure"]["error"] == "RuntimeError: the disk is full"
    assert sched.describe("ok")["counters"]["finished"] == 1
    assert redis.hlen("{hasched}:inflight") == 0


def test_a_leader_killed_with_runs_in_flight_loses_and_doubles_no_record(
    cluster: Cluster, redis: Redis
) -> None:
    sched = Scheduler(redis)
    now = redis_now(redis)
    start, end = now + timedelta(seconds=1), now + timedelta(seconds=4)
    for i in range(4):
        sched.every(f"iv{i}", 0.25, "jobs.record", start=start, end=end, catchup="all")
    expected = {f"iv{i}": _fires(to_us(start), to_us(end), 250_000) for i in range(4)}
    cluster.start_instance("a")
    cluster.start_instance("b")
    leader = cluster.wait_leader()[0]
    wait_for(lambda: sum(len(statuses(sched, sid)) for sid in expected) >= 8, timeout=15)
    cluster.start_worker()  # the runs enqueued so far end while the leader is dead
    cluster.instances[leader].signal(signal.SIGKILL)
    cluster.wait_leader(timeout=15, exclude=leader)
    total = sum(len(f) for f in expected.values())
    wait_for(lambda: _ended(sched, expected) == total, timeout=40)
    for sid, fires in expected.items():
        records = sched.history(sid, n=1000)
        times = [_us(r["fire_time"]) for r in records]
        assert sorted(times) == fires, sid  # one record per fire: none doubled, none lost
        assert {r["status"] for r in records} == {"finished"}, records
        assert sched.describe(sid)["counters"]["finished"] == len(fires)
    assert redis.hlen("{hasched}:inflight") == 0


def test_fires_missed_while_no_instance_ran_fold_into_one_record(cluster: Cluster, redis: Redis) -> None:
    sched = Scheduler(redis)
    start = redis_now(redis) + timedelta(seconds=1)
    sched.every("skipper", 1, "jobs.add", args=[0, 0], start=start, catchup="skip")
    sched.every("windowed", 1, "jobs.add", args=[0, 0], start=start, catchup="all", catchup_window=1.5)
    cluster.start_instance("a")
    wait_for(lambda: len(sched.history("skipper")) >= 1 and len(sched.history("windowed")) >= 1, timeout=15)
    cluster.instances["a"].stop()
    stopped_at = redis_now(redis)
    wait_for(lambda: redis_now(redis) > stopped_at + timedelta(seconds=5), timeout=15)  # 5 fires pass
    cluster.start_instance("a")
    for sid, reason in (("skipper", "catchup_policy"), ("windowed", "catchup_window")):
        wait_for(lambda sid=sid: _after_missed(sched.history(sid, n=1000)), timeout=15)
        records = sched.history(sid, n=1000)
        at = next(i for i, r in enumerate(records) if r["kind"] == "missed")
        assert at + 1 < len(records), (sid, records)
        missed, before = records[at], records[at + 1]
        first_after = records[at - 1]  # the oldest run enqueued after the outage
        assert [r["kind"] for r in records].count("missed") == 1, records
        gap = round((_us(first_after["fire_time"]) - _us(before["fire_time"])) / US)
        assert gap - 1 >= 3  # several fires fell due while no instance ran
        assert missed == {"kind": "missed", "status": "missed", "reason": reason, "count": gap - 1,
                          "first_fire_time": _iso(_us(before["fire_time"]) + US),
                          "last_fire_time": _iso(_us(first_after["fire_time"]) - US)}  # fmt: skip
        assert sched.describe(sid)["counters"]["missed"] == gap - 1


def _fires(start_us: int, end_us: int, step_us: int) -> list[int]:
    return list(range(start_us, end_us + 1, step_us))


def _ended(sched: Scheduler, expected: dict[str, list[int]]) -> int:
    return sum(1 for sid in expected for r in sched.history(sid, n=1000) if r["status"] in ENDED)


def _after_missed(records: list[dict[str, Any]]) -> bool:
    kinds = [r["kind"] for r in records]
    return "missed" in kinds and kinds.index("missed") > 0


def _us(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


def _iso(us: int) -> str:
    return from_us(us).isoformat()
