"""A Sentinel topology in containers: a primary, its replica and three sentinels (quorum 2), each a
container on its own loopback port. Three `hasched run --sentinel` instances and two RQ workers
(which find the primary through the sentinels too) run the usual workload; the primary's
container is killed, the sentinels promote the replica, and everything follows it.

Checked on the surviving primary with the usual verifier: every fire enqueued and run once there.
Sentinel replication is asynchronous, so a fire the old primary took but had not replicated is
enqueued again on the new one (once); a job a worker had taken on the old primary may be lost
(`worker_lost`), as when Redis is killed under a worker.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cluster import BIN, HERE, Cluster, Proc
from docker_env import Container, container_name, redis_image
from harness import LEASE_TTL, RETRY, VERDICTS, Workload, assert_clean, revive_workers, sole_leader
from helpers import wait_for
from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel
from redis_server import DockerRedis, backend, free_port, wait_until_answers

MASTER = "hasched-chaos"
SENTINELS = 3

pytestmark = pytest.mark.timeout(180)


@dataclass
class SentinelCluster(Cluster):
    """A cluster whose instances and workers find the primary through the sentinels."""

    sentinel_ports: list[int] = field(default_factory=list)

    def sentinel_arg(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    def client(self) -> Redis:
        sentinel = Sentinel([("127.0.0.1", p) for p in self.sentinel_ports], socket_timeout=1)
        retry = Retry(ExponentialBackoff(cap=1), 20)
        return sentinel.master_for(MASTER, socket_timeout=2, retry=retry,
                                   retry_on_error=[ConnectionError, TimeoutError])  # fmt: skip

    def start_worker(self, name: str | None = None) -> Proc:
        """`rq worker -c settings`: RQ's own Sentinel settings (its --url names one server)."""
        name = name or f"worker{len(self.workers)}"
        settings = self.workdir / "rq_sentinel_settings.py"
        instances = [("127.0.0.1", p) for p in self.sentinel_ports]
        settings.write_text(f"SENTINEL = {{'INSTANCES': {instances!r}, 'MASTER_NAME': {MASTER!r}}}\n")
        args = [str(BIN / "rq"), "worker", "-c", "rq_sentinel_settings", "-w", "rq.worker.SimpleWorker",
                "--path", str(HERE), "--path", str(self.workdir), "default"]  # fmt: skip
        proc = Proc(name, args, self.workdir / f"{name}.log", self.env()).start()
        self.workers.append(proc)
        return proc


def master_port(ports: list[int]) -> int | None:
    """The primary's port if all the sentinels name the same one, else None."""
    named = {Redis(port=p).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)[1] for p in ports}
    return int(named.pop()) if len(named) == 1 else None


def sentinel_container(port: int, primary_port: int) -> Container:
    conf = Path(tempfile.mkdtemp(prefix="hasched-sentinel-"))
    (conf / "sentinel.conf").write_text(
        f"port {port}\nbind 127.0.0.1\ndir /data\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {primary_port} 2\n"
        f"sentinel down-after-milliseconds {MASTER} 1000\n"
        f"sentinel failover-timeout {MASTER} 10000\n"
    )
    command = ("redis-server", "/data/sentinel.conf", "--sentinel")
    return Container(container_name("sentinel", port), redis_image(), command, {conf: "/data"}).run()


@pytest.fixture()
def topology() -> Iterator[tuple[DockerRedis, DockerRedis, list[int]]]:
    if backend() == "local":
        pytest.skip("HASCHED_TEST_REDIS=local: this scenario needs containers")
    primary = DockerRedis().start()
    replica = DockerRedis(extra=("--replicaof", "127.0.0.1", str(primary.port))).start()
    ports = [free_port() for _ in range(SENTINELS)]
    sentinels = [sentinel_container(p, primary.port) for p in ports]
    try:
        for p in ports:
            wait_until_answers(lambda p=p: Redis(port=p), f"sentinel port {p}")
        # every sentinel sees the replica and the two other sentinels: a failover can be voted
        for p in ports:
            s = Redis(port=p)
            wait_for(lambda s=s: s.execute_command("SENTINEL", "REPLICAS", MASTER), timeout=20)
            wait_for(lambda s=s: len(s.execute_command("SENTINEL", "SENTINELS", MASTER)) == 2, timeout=20)
        yield primary, replica, ports
    finally:
        for s in sentinels:
            s.remove()
        replica.stop()
        primary.stop()


def test_sentinel_primary_container_killed(topology: Any) -> None:
    primary, replica, ports = topology
    c = SentinelCluster("redis://127.0.0.1/0", namespace="chaos", lease_ttl=LEASE_TTL, retry_period=RETRY,
                        sentinel_ports=ports)  # fmt: skip
    try:
        workload = Workload(c.client(), "chaos")
        args = ("--sentinel", c.sentinel_arg(), "--sentinel-master", MASTER)
        for i in range(3):
            c.start_instance(f"s{i}", extra_args=args)
        for _ in range(2):
            c.start_worker()
        _, epoch = c.wait_leader()
        workload.create(duration=16)
        wait_for(lambda: workload.redis.llen("test:ledger") > 100, timeout=20)
        faults = [time.time()]
        primary.kill()  # `docker kill`: the sentinels see it down after 1 s and promote the replica
        wait_for(lambda: replica.client().info("replication")["role"] == "master", timeout=30)
        wait_for(lambda: master_port(ports) == replica.port, timeout=20)  # every sentinel names it
        revive_workers(c)  # fresh workers find the new primary through the sentinels
        workload.wait_done()
        v = workload.verdict("sentinel_primary_container_killed", faults)
        v.redis = f"docker {redis_image()} + {SENTINELS} sentinels"
        VERDICTS.append(v)
        assert all(p.alive() for p in c.instances.values()), c.report()
        assert_clean(v, redis_died=True)
        assert (c.leader() or ("", 0))[1] >= epoch
        sole_leader(c)
    except BaseException:
        print(c.report(tail=40))
        raise
    finally:
        c.stop()
