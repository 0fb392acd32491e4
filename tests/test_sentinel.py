"""`--sentinel`: hasched finds the primary through a real Redis Sentinel and follows a failover."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import Cluster
from helpers import ledger, wait_for
from redis import Redis
from redis_server import RedisServer, free_port, require, wait_until_answers

from hasched import Scheduler

pytestmark = pytest.mark.slow
MASTER = "hasched-test"


@pytest.fixture()
def sentinel_setup(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer, int]]:
    primary = RedisServer().start()
    replica = RedisServer(extra=("--replicaof", "127.0.0.1", str(primary.port))).start()
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {primary.port} 1\n"
        f"sentinel down-after-milliseconds {MASTER} 1000\nsentinel failover-timeout {MASTER} 10000\n"
    )
    proc = subprocess.Popen([require("redis-server"), str(conf), "--sentinel"], stdout=subprocess.DEVNULL)
    try:
        wait_until_answers(lambda: Redis(port=port), f"sentinel port {port}")
        wait_for(lambda: Redis(port=port).execute_command("SENTINEL", "REPLICAS", MASTER), timeout=15)
        wait_for(lambda: replica.client().info("replication").get("master_link_status") == "up", timeout=15)
        yield primary, replica, port
    finally:
        proc.kill()
        proc.wait(10)
        replica.stop()
        primary.stop()


def test_run_follows_the_primary_across_a_sentinel_failover(
    sentinel_setup: tuple[RedisServer, RedisServer, int],
) -> None:
    primary, replica, sentinel_port = sentinel_setup
    c = Cluster(primary.url, namespace="sn", lease_ttl=2.0, retry_period=0.2)
    args = ("--sentinel", f"127.0.0.1:{sentinel_port}", "--sentinel-master", MASTER)
    try:
        c.start_instance("a", extra_args=args)
        c.start_worker()
        c.wait_leader()
        Scheduler(primary.client(), "sn").every("tick", 0.5, "jobs.record", catchup="all")
        wait_for(lambda: len(ledger(primary.client())) >= 2, timeout=15)
        Redis(port=sentinel_port).execute_command("SENTINEL", "FAILOVER", MASTER)
        wait_for(lambda: primary.client().info("replication")["role"] == "slave", timeout=30)  # demoted
        before = int(replica.client().hget("{sn}:fires", "tick") or 0)
        # the instance found the promoted replica through Sentinel and fires there
        wait_for(lambda: int(replica.client().hget("{sn}:fires", "tick") or 0) >= before + 3, timeout=20)
        assert c.instances["a"].alive()
        assert replica.client().get("{sn}:lease").decode().startswith("a|")
    finally:
        c.stop()
