"""`--sentinel`: hasched finds a secured primary through a real, secured Redis Sentinel.

Every part asks for credentials, as in a production setup: the primary and its replica refuse the
default user, hasched logs in as the README's least-privilege ACL user and works in db 3, the
replica authenticates to the primary as its own user, the sentinel has its own user and password
and monitors the primary as yet another user. With `tls`, every connection is TLS with client
certificates. hasched gets the primary's credentials from the URL and the sentinel's from its own
options; the URL's host is a dead one, since the sentinel says where the primary is.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from certs import make_certs
from cluster import Cluster, ClusterFactory
from helpers import run_cli, wait_for
from redis import Redis
from redis_server import RedisServer, free_port, require, wait_until_answers

from hasched._keys import Keys, parse_lease
from hasched._settings import Connection

pytestmark = pytest.mark.slow
MASTER = "hasched-test"
NS = "hasched"
DB = 3
KEYS = Keys(NS)
PASSWORDS = {
    "default": "Admin-pw-0815",  # the test's own admin connections (requirepass)
    "hasched": "Primary-pw-4711",  # hasched on the primary
    "replicator": "Replica-pw-2323",  # the replica on the primary
    "monitor": "Monitor-pw-9999",  # the sentinel on the primary and the replica
    "sentry": "Sentinel-pw-1337",  # hasched on the sentinel
}
# The README's least-privilege line for the namespace "hasched", and Redis's documented minimum for
# a replica and for a sentinel.
USERS = {
    "hasched": "resetkeys ~{hasched}:* ~rq:* resetchannels &{hasched}:wake -@all +@read +@write +@scripting "
    "+@pubsub +@connection +@transaction +time +info -flushall -flushdb -keys",
    "replicator": "-@all +psync +replconf +ping",
    "monitor": "allchannels -@all +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish "
    "+info +client|setname +client|kill +script|kill",
}


@dataclass
class Secured:
    """A primary, its replica and one sentinel, all behind passwords (and TLS if `certs`)."""

    primary: RedisServer
    replica: RedisServer
    sentinel_port: int
    certs: dict[str, Path] | None

    def tls_options(self) -> dict[str, Any]:
        if self.certs is None:
            return {}
        return {
            "ssl": True,
            "ssl_ca_certs": str(self.certs["ca.crt"]),
            "ssl_certfile": str(self.certs["client.crt"]),
            "ssl_keyfile": str(self.certs["client.key"]),
        }

    def sentinel(self, password: str = PASSWORDS["sentry"]) -> Redis:
        return Redis(port=self.sentinel_port, username="sentry", password=password, **self.tls_options())

    def data(self, server: RedisServer) -> Redis:
        """The admin's view of hasched's db on `server` (over the plain port)."""
        return Redis(port=server.port, password=PASSWORDS["default"], db=DB)

    def url(self) -> str:
        scheme = "rediss" if self.certs else "redis"
        return f"{scheme}://hasched:{PASSWORDS['hasched']}@192.0.2.1:1/{DB}"  # host: TEST-NET, unused

    def args(self) -> tuple[str, ...]:
        flags = {"sentinel": f"127.0.0.1:{self.sentinel_port}", "sentinel-master": MASTER,
                 "sentinel-username": "sentry", "namespace": NS}  # fmt: skip
        if self.certs is not None:
            certs = self.certs
            flags |= {"tls-ca-file": str(certs["ca.crt"]), "tls-cert-file": str(certs["client.crt"]),
                      "tls-key-file": str(certs["client.key"])}  # fmt: skip
        return _flags(flags)

    def env(self, sentinel_password: str = PASSWORDS["sentry"]) -> dict[str, str]:
        """Secrets go through the environment, never the command line."""
        return {"HASCHED_REDIS_URL": self.url(), "HASCHED_SENTINEL_PASSWORD": sentinel_password}

    def hasched(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, *self.args(), env=env or self.env(), timeout=60)


def _flags(options: dict[str, str]) -> tuple[str, ...]:
    return tuple(arg for name, value in options.items() for arg in (f"--{name}", value))


def _tls_config(certs: dict[str, Path] | None, port: int) -> dict[str, str]:
    """TLS on `port` with client certificates, and TLS to the primary when replicating."""
    if certs is None:
        return {}
    return {"tls-port": str(port), "tls-replication": "yes", "tls-auth-clients": "yes",
            "tls-cert-file": str(certs["server.crt"]), "tls-key-file": str(certs["server.key"]),
            "tls-ca-cert-file": str(certs["ca.crt"])}  # fmt: skip


def _server(certs: dict[str, Path] | None) -> tuple[RedisServer, int]:
    """A redis-server that knows the test's users; (server, the port the others reach it on)."""
    tls_port = free_port()
    auth = ("--masteruser", "replicator", "--masterauth", PASSWORDS["replicator"])
    server = RedisServer(
        password=PASSWORDS["default"], extra=(*auth, *_flags(_tls_config(certs, tls_port)))
    ).start()
    for user, rules in USERS.items():  # ACL users are not replicated: each server needs them
        server.client().execute_command("ACL", "SETUSER", user, "on", f">{PASSWORDS[user]}", *rules.split())
    return server, tls_port if certs else server.port


def _sentinel_conf(path: Path, port: int, primary_port: int, certs: dict[str, Path] | None) -> None:
    lines = [
        f"port {0 if certs else port}",
        "bind 127.0.0.1",
        f"dir {path.parent}",
        "user default off",
        f"user sentry on >{PASSWORDS['sentry']} allchannels +@all",
        f"sentinel monitor {MASTER} 127.0.0.1 {primary_port} 1",
        f"sentinel auth-user {MASTER} monitor",
        f"sentinel auth-pass {MASTER} {PASSWORDS['monitor']}",
        f"sentinel down-after-milliseconds {MASTER} 1000",
        f"sentinel failover-timeout {MASTER} 10000",
    ]
    lines += [f"{name} {value}" for name, value in _tls_config(certs, port).items()]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(params=[False, True], ids=["plain", "tls"])
def secured(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Secured]:
    binary = require("redis-sentinel")  # before any server starts: a skip must not leave them running
    certs = make_certs(tmp_path) if request.param else None
    primary, primary_port = _server(certs)
    replica, _ = _server(certs)
    replica.client().execute_command("REPLICAOF", "127.0.0.1", primary_port)
    port = free_port()
    _sentinel_conf(tmp_path / "sentinel.conf", port, primary_port, certs)
    proc = subprocess.Popen([binary, str(tmp_path / "sentinel.conf")], stdout=subprocess.DEVNULL)
    setup = Secured(primary, replica, port, certs)
    try:
        wait_until_answers(setup.sentinel, f"sentinel port {port}")
        wait_for(lambda: setup.sentinel().execute_command("SENTINEL", "REPLICAS", MASTER), timeout=15)
        wait_for(lambda: replica.client().info("replication").get("master_link_status") == "up", timeout=15)
        yield setup
    finally:
        proc.kill()
        proc.wait(10)
        replica.stop()
        primary.stop()


def _lease(redis: Redis) -> tuple[str, int] | None:
    raw = redis.get(KEYS.lease)
    return None if raw is None else parse_lease(raw)


def _start(secured: Secured, cluster_factory: ClusterFactory) -> Cluster:
    c = cluster_factory(secured.url(), namespace=NS)
    c.start_instance("a", url_in_env=True, env=secured.env(), extra_args=secured.args())
    return c


def test_run_leads_a_secured_primary_found_through_sentinel(
    secured: Secured, cluster_factory: ClusterFactory
) -> None:
    c = _start(secured, cluster_factory)
    data = secured.data(secured.primary)
    try:
        holder, epoch = wait_for(lambda: _lease(data), timeout=15)
        assert holder == "a" and epoch >= 1
        added = secured.hasched("schedule", "add", "--id", "tick", "--func", "jobs.record", "--every", "0.5")
        assert added.returncode == 0, added.stderr
        wait_for(lambda: data.llen("rq:queue:default") >= 1, timeout=15)  # a fire, enqueued in db 3
        assert Redis(port=secured.primary.port, password=PASSWORDS["default"], db=0).dbsize() == 0
        status = secured.hasched("status", "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["leader"] == "a"
        denied = [e for e in data.execute_command("ACL", "LOG") if b"hasched" in str(e).encode()]
        assert denied == [], denied
        wrong = secured.hasched("status", env=secured.env(sentinel_password="not-the-password"))
        assert wrong.returncode == 1 and wrong.stderr.startswith("error: redis: "), wrong.stderr
        assert "not-the-password" not in wrong.stderr
        seen = [added.stdout, added.stderr, status.stdout, status.stderr, wrong.stderr]
        seen += [c.instances["a"].log.read_text(), Path(f"/proc/{c.instances['a'].pid}/cmdline").read_text()]
        assert "sentinel://sentry:***@127.0.0.1" in seen[-2]  # where it connects is logged, redacted
        assert [s for s in seen for pw in PASSWORDS.values() if pw in s] == []
    finally:
        c.stop()


def test_run_follows_the_primary_across_a_sentinel_failover(
    secured: Secured, cluster_factory: ClusterFactory
) -> None:
    c = _start(secured, cluster_factory)
    try:
        wait_for(lambda: _lease(secured.data(secured.primary)), timeout=15)
        added = secured.hasched(
            "schedule", "add", "--id", "tick", "--func", "jobs.record", "--every", "0.5", "--catchup", "all"
        )
        assert added.returncode == 0, added.stderr
        wait_for(lambda: int(secured.data(secured.primary).hget(KEYS.fires, "tick") or 0) >= 2, timeout=15)
        secured.primary.kill()
        replica = secured.replica
        wait_for(lambda: replica.client().info("replication")["role"] == "master", timeout=30)  # promoted
        new = secured.data(replica)
        before = int(new.hget(KEYS.fires, "tick") or 0)
        # the instance found the promoted replica through the sentinel and fires there
        wait_for(lambda: int(new.hget(KEYS.fires, "tick") or 0) >= before + 3, timeout=20)
        assert c.instances["a"].alive()
        assert (_lease(new) or ("", 0))[0] == "a"
    finally:
        c.stop()


def test_a_sentinel_connection_describes_itself_without_secrets() -> None:
    conn = Connection(
        f"rediss://hasched:{PASSWORDS['hasched']}@ignored:1/{DB}",
        (("10.0.0.1", 26379), ("10.0.0.2", 26379)),
        MASTER,
        sentinel_username="sentry",
        sentinel_password=PASSWORDS["sentry"],
    )
    shown = conn.describe()
    assert shown == (
        f"sentinel://sentry:***@10.0.0.1:26379,10.0.0.2:26379/{MASTER} "
        f"primary rediss://hasched:***@{MASTER}/{DB}"
    )
    assert PASSWORDS["sentry"] not in repr(conn)
