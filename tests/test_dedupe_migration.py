"""Upgrading from 0.1: its claim markers are honoured until they expire, and none are written.

The Redis is prepared by 0.1's own commit script, kept verbatim in `fixtures/commit_0_1.lua`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from redis import Redis

from hasched import Scheduler
from hasched._jobs import JobTemplate, job_key, queues_set_key, stamp
from hasched._lease import Lease
from hasched._records import Stored
from hasched._store import Store
from hasched._tick import Ticker
from hasched._triggers import from_us

NS = "m"
OLD_COMMIT = (Path(__file__).parent / "fixtures" / "commit_0_1.lua").read_text()
WEEK_MS = 7 * 86_400_000


def commit_as_0_1(redis: Redis, store: Store, lease: Lease, done: list[Stored]) -> str:
    """Enqueue each one-off's single fire and finish it, the way hasched 0.1 did."""
    keys = [store.keys.lease, store.keys.rev, store.keys.state, store.keys.due, store.keys.fires,
            store.keys.last_job, queues_set_key()]  # fmt: skip
    template = JobTemplate(done[0].schedule, redis)
    keys.append(template.queue_key)
    fields = [*template.fields, *template.call]  # the whole job hash, as 0.1 wrote it
    args: list[Any] = [lease.value, WEEK_MS, stamp(from_us(store.now_us())), 1, len(keys), 0]
    args += [len(fields) // 2, *fields, len(done)]
    for stored in done:
        s, (fire,) = stored.schedule, [stored.state.next_us]
        assert fire is not None
        job_id = store.keys.job_id(s.id, fire)
        keys += [store.keys.legacy_claim(s.id, fire), job_key(job_id)]
        finished = json.dumps({"next": None, "n": 1})
        args += [s.id, stored.rev, finished, "", -1, 1, 1, len(keys) - 1, len(keys), job_id]
        args.append(template.meta(s, fire, lease.epoch))
    return str(redis.register_script(OLD_COMMIT)(keys=keys, args=args).decode())


def test_an_upgraded_redis_refires_nothing_and_gets_no_new_markers(redis: Redis) -> None:
    store = Store(redis, NS)
    lease = Lease(store.scripts, "a", 10)
    assert lease.try_acquire()
    sched = Scheduler(redis, NS)
    when = from_us(store.now_us())
    ids = [f"once{i}" for i in range(3)]
    for sid in ids:
        sched.at(sid, when, "jobs.record")
    assert commit_as_0_1(redis, store, lease, [store.get_stored(sid) for sid in ids]) == "EEE"
    markers = sorted(redis.keys(f"{{{NS}}}:claim:*"))
    assert len(markers) == 3 and redis.llen("rq:queue:default") == 3

    # upgraded: the same ids re-created with the same fire time, as a re-sync after an upgrade
    # would do; only the 0.1 markers know these fires were enqueued
    ticker = Ticker(store, redis)
    for sid in ids:
        sched.cancel(sid)
        sched.at(sid, when, "jobs.record")
    sched.at("fresh", when, "jobs.record")
    report = ticker.tick(lease.value, lease.epoch, store.now_us())
    assert sorted(f.schedule_id for f in report.outcome.claimed) == ids
    assert [f.schedule_id for f in report.outcome.enqueued] == ["fresh"]
    assert redis.llen("rq:queue:default") == 4
    assert sorted(redis.keys(f"{{{NS}}}:claim:*")) == markers  # none written, none touched
    assert all(WEEK_MS - 60_000 < redis.pttl(m) <= WEEK_MS for m in markers)

    # a fire of the new version is guarded by its mark alone
    sched.cancel("fresh")
    sched.at("fresh", when, "jobs.record")
    report = ticker.tick(lease.value, lease.epoch, store.now_us())
    assert [f.schedule_id for f in report.outcome.claimed] == ["fresh"] and not report.outcome.enqueued
