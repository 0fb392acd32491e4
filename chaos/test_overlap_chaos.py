"""Chaos for the overlap buffer policies: the leader is SIGKILLed again and again while fires
wait for their previous jobs. Every waiting fire must still be enqueued exactly once, in order,
one job of a schedule at a time, with nothing lost but what `buffer_one` skips and records."""

from __future__ import annotations

import json
import signal
import time
from datetime import timedelta
from itertools import pairwise
from typing import Any

from helpers import redis_now, wait_for
from overlap_jobs import LEDGER

from hasched import Scheduler
from hasched._keys import Keys
from hasched._triggers import from_us, to_us

EVERY, JOB, DURATION, KILLS = 0.5, 0.7, 6.0, 4  # catch-up "all": a failover misses no fire
POLICIES = {"all0": "buffer_all", "all1": "buffer_all", "one0": "buffer_one", "one1": "buffer_one"}


def test_sigkill_leader_while_fires_wait(chaos: Any) -> None:
    c = chaos().start(instances=3, workers=3)
    redis = c.server.client()
    sched = Scheduler(redis, "chaos")
    start = redis_now(redis) + timedelta(seconds=1)
    end = start + timedelta(seconds=DURATION)
    for sid, policy in POLICIES.items():
        sched.every(sid, EVERY, "overlap_jobs.work", args=[JOB], overlap=policy, start=start, end=end,
                    catchup="all")  # fmt: skip
    step = round(EVERY * 1e6)
    fires = [from_us(us).isoformat() for us in range(to_us(start), to_us(end) + 1, step)]
    for n in range(KILLS):
        time.sleep(1.2)
        leader = c.cluster.wait_leader()[0]
        c.fault()
        c.cluster.instances[leader].signal(signal.SIGKILL)
        c.cluster.start_instance(f"{leader.split('.')[0]}.{n + 1}")
        c.cluster.wait_leader(exclude=leader)
    try:
        wait_for(lambda: all(_settled(sched, sid, len(fires)) for sid in POLICIES), timeout=60)
    except AssertionError:
        print({sid: [r["status"] for r in sched.history(sid, n=1000)] for sid in POLICIES})
        raise
    runs = _runs(redis)
    k = Keys("chaos")
    for sid, policy in POLICIES.items():
        records = list(reversed(sched.history(sid, n=1000)))
        assert [r["fire_time"] for r in records] == fires, sid  # one record per fire
        ran = [r for r in records if r["status"] == "finished"]
        mine = sorted((r for r in runs.values() if r["sid"] == sid), key=lambda r: r["start"])
        assert [r["fire_time"] for r in mine] == [r["fire_time"] for r in ran], sid  # once each, in order
        for before, after in pairwise(mine):
            assert after["start"] >= before["end"], (sid, before, after)  # one at a time
        if policy == "buffer_all":
            assert len(ran) == len(fires), sid  # none lost
        else:
            assert {r["status"] for r in records} <= {"finished", "skipped"}, sid
        assert sched.describe(sid)["counters"]["enqueued"] == len(ran)
        assert int(redis.hget(k.fires, sid) or 0) == len(ran)
    assert redis.scard(k.waiting_set) == 0


def _settled(sched: Scheduler, sid: str, n: int) -> bool:
    records = sched.history(sid, n=1000)
    return len(records) == n and all(r["status"] in ("finished", "failed", "skipped") for r in records)


def _runs(redis: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for raw in redis.lrange(LEDGER, 0, -1):
        e = json.loads(raw)
        sid = e["job_id"].split("-")[2]
        run = out.setdefault(
            e["job_id"], {"sid": sid, "fire_time": e["fire_time"], "start": None, "end": None}
        )
        assert run[e["event"]] is None, e  # a job that ran twice would write twice
        run[e["event"]] = e["t"]
    return out
