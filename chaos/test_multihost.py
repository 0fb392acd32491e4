"""Three hosts as network namespaces sharing one Redis; the leader's host is taken off the network.

A leader on another host must take over within lease TTL + retry period (+0.5 s); the cut host,
once back, rejoins as a follower; the ledger shows every fire enqueued and run exactly once.

Topology, all made by this test and removed after it (10.251.0.0/24 exists only in there):

    netns <p>-redis   bridge br0 10.251.0.1, redis-server on 10.251.0.1:6390 and a unix socket
      +- veth v0 <-> eth0 10.251.0.10 in netns <p>-h0: hasched run --instance-id host0
      +- veth v1 <-> eth0 10.251.0.11 in netns <p>-h1: hasched run --instance-id host1
      +- veth v2 <-> eth0 10.251.0.12 in netns <p>-h2: hasched run --instance-id host2

The test process, the rq workers and the verifier stay in the root namespace and reach Redis over
its unix socket, so unplugging a host's cable (its veth, bridge side) cuts that host alone.
Needs root and iproute2: with CI set their absence fails the test, elsewhere it skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from cluster import BIN, Cluster, Proc
from harness import CRASH_GAP, LEASE_TTL, RETRY, VERDICTS, Workload, assert_clean, events
from helpers import redis_now
from redis import Redis
from redis_server import RedisServer, wait_until_answers

SUBNET = "10.251.0"
REDIS_ADDR = f"{SUBNET}.1"
REDIS_PORT = 6390  # inside the redis namespace: its own port space, never the machine's 6379
HOSTS = 3

pytestmark = pytest.mark.timeout(60)


def unavailable(reason: str) -> None:
    pytest.fail(reason) if os.environ.get("CI") else pytest.skip(reason)


class Network:
    """Network namespaces and veth links named after this process; `destroy()` removes them all."""

    def __init__(self) -> None:
        self.prefix = f"hs{os.getpid()}"
        self.made: list[str] = []

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def exec_prefix(self, name: str) -> list[str]:
        """Run a command inside namespace `name` (ip execs it: the child's pid is the command's)."""
        return ["ip", "netns", "exec", self.ns(name)]

    def ip(self, *args: str) -> None:
        proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
        if proc.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)}: {proc.stderr.strip()}")

    def add_ns(self, name: str) -> None:
        self.ip("netns", "add", self.ns(name))
        self.made.append(self.ns(name))
        self.ip("-n", self.ns(name), "link", "set", "lo", "up")

    def build(self, hosts: int) -> None:
        redis = self.ns("redis")
        self.add_ns("redis")
        self.ip("-n", redis, "link", "add", "br0", "type", "bridge")
        self.ip("-n", redis, "addr", "add", f"{REDIS_ADDR}/24", "dev", "br0")
        self.ip("-n", redis, "link", "set", "br0", "up")
        for i in range(hosts):
            host = self.ns(f"h{i}")
            self.add_ns(f"h{i}")
            self.ip(
                "-n", redis, "link", "add", f"v{i}", "type", "veth", "peer", "name", "eth0", "netns", host
            )
            self.ip("-n", redis, "link", "set", f"v{i}", "master", "br0", "up")
            self.ip("-n", host, "addr", "add", f"{SUBNET}.{10 + i}/24", "dev", "eth0")
            self.ip("-n", host, "link", "set", "eth0", "up")

    def unplug(self, host: int) -> None:
        """The host's cable, switch side: its packets vanish (calls time out), nothing is refused."""
        self.ip("-n", self.ns("redis"), "link", "set", f"v{host}", "down")

    def plug(self, host: int) -> None:
        self.ip("-n", self.ns("redis"), "link", "set", f"v{host}", "up")

    def destroy(self) -> None:
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
        self.made.clear()


class NamespacedRedis(RedisServer):
    """redis-server inside the redis namespace: TCP for the hosts, a unix socket for the test."""

    def __init__(self, net: Network) -> None:
        super().__init__()
        self.net = net
        self.port = REDIS_PORT
        self.socket = self.dir / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    @property
    def host_url(self) -> str:
        return f"redis://{REDIS_ADDR}:{REDIS_PORT}/0"

    def client(self) -> Redis:
        return Redis(unix_socket_path=str(self.socket))

    def start(self) -> NamespacedRedis:
        # protected mode off: no password, but reachable only from inside the test's namespaces
        args = [*self.net.exec_prefix("redis"), self.binary, "--port", str(REDIS_PORT), "--bind", REDIS_ADDR,
                "--protected-mode", "no", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
                "--save", "", "--appendonly", "no", "--dir", str(self.dir),
                "--logfile", str(self.dir / "redis.log")]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_answers(self.client, self.net.ns("redis"))
        return self


def start_on_host(cluster: Cluster, net: Network, host: int, redis_url: str) -> Proc:
    """`hasched run` inside host namespace `host`, with the flags `Cluster.start_instance` uses."""
    name = f"host{host}"
    args = [*net.exec_prefix(f"h{host}"), str(BIN / "hasched"), "run", "--redis-url", redis_url,
            "--namespace", cluster.namespace, "--instance-id", name, "--lease-ttl", str(cluster.lease_ttl),
            "--retry-period", str(cluster.retry_period), "--metrics-addr", "", "--log-format", "json",
            "--log-level", "info"]  # fmt: skip
    proc = Proc(name, args, cluster.workdir / f"{name}.log", cluster.env()).start()
    cluster.instances[name] = proc
    return proc


@pytest.fixture()
def network() -> Iterator[Network]:
    if shutil.which("ip") is None:
        unavailable("iproute2 (`ip`) not found on PATH (apt-get install iproute2)")
    if os.geteuid() != 0:
        unavailable("network namespaces need root (run the chaos suite as root, as CI does)")
    net = Network()
    try:
        try:
            net.build(HOSTS)
        except RuntimeError as e:
            unavailable(f"cannot build network namespaces here: {e}")
        yield net
    finally:
        net.destroy()


def takeover_after(cluster: Cluster, old: str, since: float, timeout: float) -> tuple[str, int, float]:
    """(new leader, its epoch, seconds from `since` until Redis named it)."""
    deadline = since + timeout
    while time.monotonic() < deadline:
        found = cluster.leader()
        if found and found[0] != old:
            return found[0], found[1], time.monotonic() - since
        time.sleep(0.01)
    raise AssertionError(f"no leader other than {old} within {timeout}s\n{cluster.report()}")


def rejoined_as_follower(redis: Redis, cluster: Cluster, name: str, after_ms: int) -> bool:
    """`name` heartbeat again (on Redis's clock, after `after_ms`) and does not lead."""
    score = redis.zscore("{" + cluster.namespace + "}:instances", name)
    found = cluster.leader()
    return score is not None and score > after_ms and found is not None and found[0] != name


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s")
        time.sleep(0.05)


def test_leader_host_unplugged_from_the_network(network: Network) -> None:
    server = NamespacedRedis(network).start()
    cluster = Cluster(server.url, namespace="chaos", lease_ttl=LEASE_TTL, retry_period=RETRY)
    redis = server.client()
    try:
        run_partition_scenario(network, server, cluster, redis)
    except BaseException:
        print(cluster.report(tail=40))
        raise
    finally:
        cluster.stop()
        server.stop()


def run_partition_scenario(net: Network, server: NamespacedRedis, cluster: Cluster, redis: Redis) -> None:
    for host in range(HOSTS):
        start_on_host(cluster, net, host, server.host_url)
    for _ in range(2):
        cluster.start_worker()  # root namespace, over the unix socket: never cut off
    cluster.wait_leader()
    workload = Workload(redis, "chaos")
    workload.create(duration=14)
    faults: list[float] = []
    time.sleep(3)

    old, old_epoch = cluster.wait_leader()
    cut = int(old.removeprefix("host"))
    cut_at = time.monotonic()
    faults.append(time.time())
    net.unplug(cut)
    new, new_epoch, took = takeover_after(cluster, old, cut_at, timeout=10)
    assert took <= CRASH_GAP, f"{new} took over {took:.2f}s after {old} was cut (limit {CRASH_GAP:.2f}s)"
    assert new_epoch > old_epoch
    time.sleep(3 * LEASE_TTL)  # the cut leader notices (out of touch) and steps down meanwhile

    net.plug(cut)
    plugged_ms = int(redis_now(redis).timestamp() * 1000)
    wait_until(
        lambda: rejoined_as_follower(redis, cluster, old, plugged_ms), 10, f"{old} not back as follower"
    )
    assert cluster.instances[old].alive()
    assert events(cluster.instances[old], "hasched.lease.lost"), "the cut leader never reported stepping down"

    workload.wait_done()
    v = workload.verdict("multihost_partition", faults)
    v.redis = "local redis-server in a network namespace"
    VERDICTS.append(v)
    assert_clean(v)
    assert v.max_gap_s <= CRASH_GAP, v.gaps_s
    # fencing: nothing enqueued under the old epoch once another host held the lease
    takeover_wall = faults[0] + took
    late = [e for e in workload.ledger() if e["epoch"] == old_epoch and e["enqueued_at"]
            and datetime.fromisoformat(e["enqueued_at"]).timestamp() > takeover_wall]  # fmt: skip
    assert late == []
    assert all(p.alive() for p in cluster.instances.values()), cluster.report()
