"""Chaos scenarios: real Redis, three or more `hasched run`s, real `rq worker`s, real faults.
Each checks the ledger: every expected fire enqueued and run exactly once."""

from __future__ import annotations

import glob
import os
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from harness import CRASH_GAP, LEASE_TTL, assert_clean, events, revive_workers, soak_seconds, sole_leader
from helpers import wait_for
from proxy import FaultProxy
from redis_server import require

from hasched._faults import STOP_BEFORE_COMMIT_ENV

# A graceful handoff must finish within this (a crash failover within CRASH_GAP).
HANDOFF = 0.5


def test_sigkill_leader_repeatedly(chaos: Any) -> None:
    kills = 20
    duration = max(kills * 2.1 + 2, soak_seconds())
    c = chaos().start(instances=3, workers=2)
    c.workload.create(duration=duration, burst=2000)
    restarted = 0
    deadline = time.monotonic() + duration
    while restarted < kills or time.monotonic() < deadline - 3:
        leader = c.cluster.wait_leader()[0]
        time.sleep(0.4)
        c.fault()
        c.cluster.instances[leader].signal(signal.SIGKILL)
        restarted += 1
        c.cluster.start_instance(f"{leader.split('.')[0]}.{restarted}")
        c.cluster.wait_leader(exclude=leader)
        if time.monotonic() > deadline:
            break
    v = c.finish()
    assert restarted >= kills
    assert_clean(v)
    assert v.max_gap_s <= CRASH_GAP, v.gaps_s


def test_sigstop_leader_past_its_lease(chaos: Any, tmp_path: Path) -> None:
    """Twice: a plain SIGSTOP at whatever point the leader is, then one exactly between planning
    a batch and committing it (a test hook makes it stop itself there), the window only the
    fence in the commit script covers."""
    c = chaos()
    hooks = {}
    for i in range(3):
        hooks[f"s{i}"] = tmp_path / f"stop-s{i}"
        c.cluster.start_instance(f"s{i}", env={STOP_BEFORE_COMMIT_ENV: str(hooks[f"s{i}"])})
    for _ in range(2):
        c.cluster.start_worker()
    c.workload.create(duration=16)
    time.sleep(2.5)
    for mid_commit in (False, True):
        old, old_epoch = c.cluster.wait_leader()
        proc = c.cluster.instances[old]
        if mid_commit:
            hooks[old].touch()  # the leader stops itself at its next commit
            wait_for(lambda p=proc: stopped(p.pid), timeout=10)
        else:
            proc.signal(signal.SIGSTOP)
        c.fault()
        time.sleep(3 * LEASE_TTL)
        _, new_epoch = c.cluster.wait_leader(exclude=old)
        resumed = time.time()
        proc.signal(signal.SIGCONT)
        time.sleep(2)
        assert new_epoch > old_epoch and proc.alive()
        after = [
            e["event"] for e in proc.events() if datetime.fromisoformat(e["timestamp"]).timestamp() >= resumed
        ]
        expected_event = "hasched.lease.fenced" if mid_commit else "hasched.lease.lost"
        assert expected_event in after, (mid_commit, after)
        late = [e for e in c.workload.ledger() if e["epoch"] == old_epoch and e["enqueued_at"]
                and datetime.fromisoformat(e["enqueued_at"]).timestamp() > resumed]  # fmt: skip
        assert late == []
    v = c.finish()
    assert_clean(v)
    assert v.max_gap_s <= 3 * LEASE_TTL + CRASH_GAP


def stopped(pid: int) -> bool:
    """The process is in the stopped state (T), as SIGSTOP leaves it."""
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("T")


def test_partition_leader_from_redis(chaos: Any) -> None:
    c = chaos()
    proxy = FaultProxy(c.server.port).start()
    try:
        c.cluster.start_instance("cut", redis_url=proxy.url)
        c.cluster.wait_leader()
        for i in range(2):
            c.cluster.start_instance(f"s{i}")
        for _ in range(2):
            c.cluster.start_worker()
        c.workload.create(duration=12)
        time.sleep(3)
        assert c.cluster.leader()[0] == "cut"
        c.fault()
        proxy.set_mode("blackhole")
        c.cluster.wait_leader(exclude="cut")
        time.sleep(3 * LEASE_TTL)
        proxy.set_mode("pass")
        time.sleep(2)
        v = c.finish()
    finally:
        proxy.stop()
    assert_clean(v)
    assert c.cluster.instances["cut"].alive()
    assert events(c.cluster.instances["cut"], "hasched.lease.lost")
    assert v.max_gap_s <= CRASH_GAP, v.gaps_s


def test_redis_restart_with_aof(chaos: Any) -> None:
    c = chaos(appendonly=True).start(instances=3, workers=2)
    c.workload.create(duration=12)
    time.sleep(3)
    _, epoch = c.cluster.wait_leader()
    c.fault()
    c.server.kill()  # SIGKILL (`docker kill`): only what the AOF (fsync always) holds survives
    time.sleep(2 * LEASE_TTL)  # long enough for the lease to lapse: a new election must follow
    c.server.start()
    _, new_epoch = c.cluster.wait_leader()
    revive_workers(c.cluster)
    v = c.finish()
    assert all(p.alive() for p in c.cluster.instances.values()), c.cluster.report()
    assert new_epoch > epoch
    assert_clean(v, redis_died=True)


def test_redis_unreachable(chaos: Any) -> None:
    """Redis frozen past the lease TTL (`docker pause` with the docker backend, else SIGSTOP)."""
    c = chaos().start(instances=3, workers=2)
    c.workload.create(duration=12)
    time.sleep(3)
    c.fault()
    c.server.pause()
    time.sleep(3 * LEASE_TTL)
    c.server.resume()
    c.cluster.wait_leader()
    v = c.finish()
    assert all(p.alive() for p in c.cluster.instances.values()), c.cluster.report()
    assert_clean(v)
    assert sole_leader(c.cluster)


def test_rolling_restart(chaos: Any) -> None:
    c = chaos().start(instances=3, workers=2)
    c.workload.create(duration=14)
    time.sleep(2.5)
    handoffs = []
    for n, name in enumerate(list(c.cluster.instances)):
        leader = c.cluster.wait_leader()[0]
        if name == leader:
            c.fault()
            handoffs.append(len(c.faults) - 1)
        assert c.cluster.instances[name].stop() == 0  # SIGTERM: clean exit, lease released
        c.cluster.start_instance(f"{name}.r{n}")
        time.sleep(2.5)
    v = c.finish()
    assert_clean(v)
    assert handoffs, "the leader was never restarted"
    assert v.max_gap_s < HANDOFF, v.gaps_s


def test_clock_skew(chaos: Any) -> None:
    lib = faketime_lib()
    c = chaos()
    skew = {"ahead": "+30s", "behind": "-30s"}
    for name, offset in skew.items():
        env = {"LD_PRELOAD": lib, "FAKETIME": offset, "DONT_FAKE_MONOTONIC": "1"}
        c.cluster.start_instance(name, env=env)
        if name == "ahead":
            c.cluster.wait_leader()
    for _ in range(2):
        c.cluster.start_worker()
    c.workload.create(duration=12)
    time.sleep(4)
    assert c.cluster.leader()[0] == "ahead"
    c.fault()
    c.cluster.instances["ahead"].stop()
    assert c.cluster.wait_leader(exclude="ahead")[0] == "behind"
    time.sleep(4)
    c.cluster.start_instance("normal")
    v = c.finish()
    assert_clean(v)
    assert v.max_lag_s < 0.5, v.max_lag_s  # on time, while a skewed host led
    early = [e for e in c.workload.ledger() if e["enqueued_at"] < e["fire_time"]]
    assert early == []


def faketime_lib() -> str:
    found = glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob(
        "/usr/lib/faketime/libfaketime.so.1"
    )
    if not found:
        require("faketime")  # fails under CI, skips elsewhere, with the install hint
        message = "libfaketime.so.1 not found (apt-get install faketime)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    return found[0]
