"""TLS, a least-privilege ACL user, eviction policies and secrets, against real redis-servers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from certs import make_certs
from cluster import ClusterFactory
from helpers import run_cli, wait_for
from redis import Redis
from redis_server import RedisServer, free_port, require

from hasched import Scheduler

pytestmark = pytest.mark.slow
# The ACL line the README gives (for the default namespace "hasched").
ACL = ("on >{password} resetkeys ~{{hasched}}:* ~rq:* resetchannels &{{hasched}}:wake -@all +@read +@write "
       "+@scripting +@pubsub +@connection +@transaction +time +info -flushall -flushdb -keys")  # fmt: skip
SECRET = "Sup3r-S3cret-pw-4711"


@pytest.fixture()
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, dict[str, Path]]]:
    certs = make_certs(tmp_path)
    port = free_port()
    args = [require("redis-server"), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--dir", str(tmp_path), "--tls-cert-file", str(certs["server.crt"]),
            "--tls-key-file", str(certs["server.key"]), "--tls-ca-cert-file", str(certs["ca.crt"]),
            "--tls-auth-clients", "yes"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        yield port, certs
    finally:
        proc.kill()
        proc.wait(10)


def tls_client(port: int, certs: dict[str, Path]) -> Redis:
    return Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(certs["ca.crt"]),
                 ssl_certfile=str(certs["client.crt"]), ssl_keyfile=str(certs["client.key"]))  # fmt: skip


def test_rediss_with_a_ca_and_a_client_certificate(
    tls_redis: tuple[int, dict[str, Path]], cluster_factory: ClusterFactory
) -> None:
    port, certs = tls_redis
    url = f"rediss://127.0.0.1:{port}/0"
    tls = ["--tls-ca-file", str(certs["ca.crt"]), "--tls-cert-file", str(certs["client.crt"]),
           "--tls-key-file", str(certs["client.key"])]  # fmt: skip
    wait_for(lambda: _answers(port, certs), timeout=10)
    c = cluster_factory(url)
    c.start_instance("tls", extra_args=tuple(tls))
    added = run_cli("schedule", "add", *tls, "--id", "t", "--func", "jobs.record", "--every", "0.5",
                    redis_url=url)  # fmt: skip
    assert added.returncode == 0, added.stderr
    client = tls_client(port, certs)
    wait_for(lambda: client.llen("rq:queue:default") >= 2, timeout=15)
    assert client.get("{hasched}:lease").decode().startswith("tls|")
    c.stop()
    no_ca = run_cli("status", "--redis-url", url)  # the server's certificate cannot be verified
    assert no_ca.returncode == 1 and no_ca.stderr.startswith("error: redis: ")
    missing = run_cli("status", "--redis-url", url, "--tls-ca-file", "/nonexistent/ca.crt")
    assert missing.returncode == 2 and "tls-ca-file: no such file" in missing.stderr


def _answers(port: int, certs: dict[str, Path]) -> bool:
    try:
        return bool(tls_client(port, certs).ping())
    except Exception:
        return False


def test_a_cluster_runs_under_the_least_privilege_acl_user(
    redis_server: RedisServer, redis: Redis, cluster_factory: ClusterFactory
) -> None:
    redis.execute_command("ACL", "SETUSER", "hasched", *ACL.format(password=SECRET).split())
    url = f"redis://hasched:{SECRET}@127.0.0.1:{redis_server.port}/0"
    c = cluster_factory(url)
    c_workers = cluster_factory()  # RQ workers keep their own (default) user
    try:
        c.start_instance("a")
        c.start_instance("b")
        c_workers.start_worker()
        c.wait_leader()
        limited = Redis.from_url(url)
        Scheduler(limited, "hasched").every("acl", 0.3, "jobs.record")
        assert run_cli("schedule", "trigger", "acl", redis_url=url).returncode == 0
        wait_for(lambda: redis.llen("test:ledger") >= 3, timeout=15)
        assert run_cli("status", "--json", redis_url=url).returncode == 0
        denied = [line for line in redis.execute_command("ACL", "LOG") if b"hasched" in str(line).encode()]
        assert denied == [], denied
    finally:
        c.stop()
        c_workers.stop()
        redis.execute_command("ACL", "DELUSER", "hasched")


@pytest.mark.parametrize(("policy", "refused"), [("allkeys-lru", True), ("volatile-lru", False)])
def test_an_evicting_redis_is_refused_or_warned_about(
    policy: str, refused: bool, cluster_factory: ClusterFactory
) -> None:
    server = RedisServer(extra=("--maxmemory", "100mb", "--maxmemory-policy", policy)).start()
    c = cluster_factory(server.url, namespace="ev", lease_ttl=1.0)
    try:
        proc = c.start_instance("e")
        if refused:
            assert proc.popen is not None and proc.popen.wait(15) == 1
            assert f"error: Redis maxmemory-policy is {policy}" in proc.log.read_text()
            assert server.client().get("{ev}:lease") is None  # refused before taking the lease
        else:
            c.wait_leader()
            wait_for(lambda: [e for e in proc.events() if e["event"] == "hasched.redis.eviction_risk"], 10)
            assert proc.alive()
    finally:
        c.stop()
        server.stop()


def test_the_password_never_shows(cluster_factory: ClusterFactory) -> None:
    server = RedisServer(password=SECRET).start()
    c = cluster_factory(server.url, namespace="pw", lease_ttl=1.0)
    env = {"HASCHED_NAMESPACE": "pw"}
    try:
        proc = c.start_instance("p", metrics=True, url_in_env=True)
        c.wait_leader()
        wait_for(lambda: c.http("p", "/healthz")[0] == 200, timeout=15)
        seen = [c.http("p", path)[1].decode() for path in ("/status", "/metrics", "/healthz")]
        for args in (["status", "--json"], ["schedule", "list"], ["schedule", "show", "nope"],
                     ["schedule", "add", "--id", "x", "--func", "a.b", "--cron", "61 * * * *"]):  # fmt: skip
            r = run_cli(*args, redis_url=server.url, env=env)
            seen += [r.stdout, r.stderr]
        server.kill()  # connection errors must not show it either
        down = run_cli("status", redis_url=server.url, env=env)
        assert down.returncode == 1 and down.stderr.startswith("error: redis: ")
        seen += [down.stdout, down.stderr]
        wait_for(lambda: "hasched.redis.error" in proc.log.read_text(), timeout=10)
        ps = subprocess.run(["ps", "-o", "args=", "-p", str(proc.pid)], capture_output=True, text=True)
        seen += [ps.stdout, Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")]
        seen.append(proc.log.read_text())
        assert "redis://:***@127.0.0.1" in seen[-1]  # where it connects is logged, redacted
        assert [s for s in seen if SECRET in s] == []
    finally:
        c.stop()
        server.stop()
