"""The shipped systemd units under a real systemd, on three "hosts" (containers with systemd as
PID 1, host network), each set up by the README's install steps and pointed at one Redis.

In order, on one fleet: READY and STATUS; the JSON events in the journal; `hasched-worker@default`
runs jobs, and the hardening holds for both units; `systemctl reload` re-reads the schedules file;
`systemctl stop` on the leader hands over in under 0.5 s; a SIGSTOPped leader loses its lease to
another host and is killed by the watchdog and restarted.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import wait_for
from redis import Redis
from redis_server import RedisServer, backend, new_server
from systemd_hosts import Host, systemd_image, wheelhouse

from hasched import Scheduler
from hasched._keys import Keys, parse_lease

pytestmark = pytest.mark.timeout(600)
NAMES = ("host0", "host1", "host2")
LEASE_TTL = 2
SCHEDULES = '[[schedule]]\nid = "from-file-a"\nfunc = "probe.attempt_writes"\nevery = 3600.0\n'


def env_file(redis_url: str, name: str) -> str:
    return "\n".join([
        f"HASCHED_REDIS_URL={redis_url}", f"RQ_REDIS_URL={redis_url}", f"HASCHED_INSTANCE_ID={name}",
        f"HASCHED_LEASE_TTL={LEASE_TTL}", "HASCHED_RETRY_PERIOD=0.2", "HASCHED_METRICS_ADDR=",
        "HASCHED_SCHEDULES=/etc/hasched/schedules.toml", "PYTHONPATH=/opt/probe", "",
    ])  # fmt: skip


class Fleet:
    def __init__(self, server: RedisServer, hosts: dict[str, Host]) -> None:
        self.server = server
        self.hosts = hosts
        self.redis = server.client()

    def lease(self) -> tuple[str, int] | None:
        raw = self.redis.get(Keys("hasched").lease)
        return None if raw is None else parse_lease(raw)

    def leader(self, exclude: str | None = None) -> Host:
        """The host holding the lease (other than `exclude`), once there is one."""
        name = wait_for(lambda: (h := self.lease()) and h[0] != exclude and h[0], timeout=30)
        return self.hosts[name]

    def epoch(self) -> int:
        held = self.lease()
        assert held is not None, "no lease"
        return held[1]


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    if backend() == "local":
        pytest.skip("HASCHED_TEST_REDIS=local: this scenario needs containers")
    image = systemd_image()  # before anything starts: a skip must leave nothing running
    server = new_server().start()
    tmp = Path(tempfile.mkdtemp(prefix="hasched-wheels-"))
    hosts: dict[str, Host] = {}
    try:
        wheels = wheelhouse(tmp)
        for name in NAMES:
            hosts[name] = Host.boot(name, image, wheels, str(os.getpid()))

        def setup(h: Host) -> None:
            h.wait_booted()
            h.install(env_file(server.url, h.name), SCHEDULES)

        with ThreadPoolExecutor(len(NAMES)) as pool:
            list(pool.map(setup, hosts.values()))
        yield Fleet(server, hosts)
    finally:
        for h in hosts.values():
            h.remove()
        server.stop()


def test_ready_and_status(fleet: Fleet) -> None:
    """`enable --now` returned, so each sent READY=1; STATUS says who leads, as Redis does."""
    leader = fleet.leader()
    for h in fleet.hosts.values():
        assert h.show("hasched", "ActiveState") == "active"
        expected = f"leader epoch {fleet.epoch()}" if h is leader else f"follower; leader is {leader.name}"
        wait_for(lambda h=h, e=expected: h.show("hasched", "StatusText") == e, timeout=10)


def test_journal_shows_json_events(fleet: Fleet) -> None:
    leader = fleet.leader()
    events = [json.loads(line) for line in leader.journal() if line.startswith("{")]
    names = {e["event"] for e in events}
    assert {"hasched.instance.started", "hasched.lease.acquired", "hasched.sync.applied"} <= names, names
    assert all(e["instance_id"] == leader.name and "timestamp" in e and "level" in e for e in events)


def test_worker_runs_jobs_and_the_hardening_holds(fleet: Fleet) -> None:
    Scheduler(fleet.redis, "hasched").every("probe", 0.5, "probe.attempt_writes")
    ran = wait_for(lambda: fleet.redis.lrange("test:probe", 0, -1), timeout=30)
    entry = json.loads(ran[0])
    assert entry["uid"] != 0 and entry["host"] in NAMES
    # /var/lib/hasched-probe is the hasched user's: only ProtectSystem=strict keeps it read-only
    assert entry["writes"]["/var/lib/hasched-probe"] == "EROFS", entry
    assert entry["writes"]["/tmp"] == "written", entry  # its private /tmp
    assert entry["writes"]["/opt/hasched"] == "EROFS", entry
    Scheduler(fleet.redis, "hasched").cancel("probe")
    for h in fleet.hosts.values():  # the scheduler unit, as root in its mount namespace
        pid = h.show("hasched", "MainPID")
        tried = h.container.exec("nsenter", "-t", pid, "-m", "touch", "/var/lib/hasched-probe/x")
        assert tried.returncode != 0 and "Read-only file system" in tried.stderr, tried
        assert h.container.exec("touch", "/var/lib/hasched-probe/x").returncode == 0  # outside it: allowed


def test_reload_rereads_the_schedules_file(fleet: Fleet) -> None:
    sched = Scheduler(fleet.redis, "hasched")
    assert sched.get("from-file-a").every == 3600
    h = fleet.hosts["host1"]
    h.write("/etc/hasched/schedules.toml", SCHEDULES + SCHEDULES.replace("from-file-a", "from-file-b"))
    h.sh("systemctl reload hasched")  # returns after RELOADING=1 ... READY=1
    wait_for(lambda: "from-file-b" in {s.id for s in sched.list()}, timeout=10)
    assert h.show("hasched", "ActiveState") == "active"


def test_stop_on_the_leader_hands_over_fast(fleet: Fleet) -> None:
    old = fleet.leader()
    samples: list[tuple[float, str | None]] = []
    done = threading.Event()
    probe = Redis(port=fleet.server.port)

    def watch() -> None:
        while not done.is_set():
            raw = probe.get(Keys("hasched").lease)
            samples.append((time.monotonic(), None if raw is None else parse_lease(raw)[0]))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        old.sh("systemctl stop hasched")
        new = fleet.leader(exclude=old.name)
    finally:
        done.set()
        watcher.join()
    last_old = max(t for t, holder in samples if holder == old.name)
    first_new = min(t for t, holder in samples if holder == new.name)
    assert first_new - last_old < 0.5, (first_new - last_old, old.name, new.name)
    assert old.show("hasched", "Result") == "success"  # a clean exit, not a kill
    old.sh("systemctl start hasched")
    wait_for(lambda: old.show("hasched", "StatusText") == f"follower; leader is {new.name}", timeout=15)


def test_watchdog_restarts_a_stuck_instance(fleet: Fleet) -> None:
    stuck = fleet.leader()
    restarts = int(stuck.show("hasched", "NRestarts"))
    stuck.sh("kill -STOP $(systemctl show -p MainPID --value hasched)")
    other = fleet.leader(exclude=stuck.name)  # its lease lapsed: another host leads
    wait_for(lambda: int(stuck.show("hasched", "NRestarts")) > restarts, timeout=60)  # WatchdogSec=30
    wait_for(lambda: stuck.show("hasched", "StatusText") == f"follower; leader is {other.name}", timeout=30)
    assert any(
        "Watchdog timeout" in line for line in stuck.sh("journalctl -u hasched --no-pager").splitlines()
    )
    assert fleet.leader() is other
