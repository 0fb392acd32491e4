"""The embedded instance: in this process's threads, and in every process of a real gunicorn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import Cluster
from harness import Workload, assert_clean
from helpers import wait_for
from redis import Redis
from redis_server import RedisServer, free_port

import hasched.embedded
from hasched import Scheduler, ValidationError
from hasched._keys import Keys, parse_lease
from hasched.api import make

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BIN = Path(sys.executable).parent
TTL = 1.5


def holder(redis: Redis, namespace: str) -> str | None:
    raw = redis.get(Keys(namespace).lease)
    return None if raw is None else parse_lease(raw)[0]


@pytest.fixture()
def handles() -> Iterator[list[hasched.embedded.Embedded]]:
    made: list[hasched.embedded.Embedded] = []
    yield made
    for h in made:
        h.stop(timeout=5)


def test_one_of_two_leads_and_stop_hands_over_within_a_renewal_period(
    redis: Redis, redis_server: RedisServer, handles: list[hasched.embedded.Embedded]
) -> None:
    signals_before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    handles += [hasched.embedded.start(redis_server.client(), "emb", instance_id=f"e{i}", lease_ttl=TTL,
                                       retry_period=0.1) for i in range(2)]  # fmt: skip
    leader = wait_for(lambda: next((h for h in handles if h.is_leader), None))
    other = next(h for h in handles if h is not leader)
    assert not other.is_leader and holder(redis, "emb") == leader.instance_id
    assert {sig: signal.getsignal(sig) for sig in signals_before} == signals_before  # the host's own
    started = time.monotonic()
    assert leader.stop()
    took = time.monotonic() - started
    assert took < TTL / 3, took  # one renewal period
    assert not leader.is_leader and holder(redis, "emb") != leader.instance_id  # released, not expired
    wait_for(lambda: other.is_leader, timeout=TTL)
    assert redis.zscore(Keys("emb").instances, leader.instance_id) is None


def test_the_leader_fires_and_schedules_given_at_start_are_synced(
    redis: Redis, redis_server: RedisServer, handles: list[hasched.embedded.Embedded]
) -> None:
    wanted = [make(id="tick", func="jobs.record", every=0.2)]
    handles.append(hasched.embedded.start(redis_server.url, "emb2", lease_ttl=TTL, schedules=wanted))
    wait_for(lambda: redis.hget(Keys("emb2").fires, "tick"), timeout=10)
    assert Scheduler(redis, "emb2").get("tick").every == 0.2
    assert any(s.name == "hasched_leader" for s in handles[0].registry.collect())


def test_bad_options_are_refused_before_anything_starts(redis_server: RedisServer) -> None:
    for kwargs, field in [({"lease_ttl": 0.5}, "lease_ttl"), ({"retry_period": 0}, "retry_period"),
                          ({"instance_id": "a|b"}, "instance_id"), ({"namespace": "bad ns"}, "namespace"),
                          ({"metrics_addr": "nope"}, "metrics-addr")]:  # fmt: skip
        with pytest.raises(ValidationError) as e:
            hasched.embedded.start(redis_server.url, **kwargs)  # type: ignore[arg-type]
        assert e.value.field == field
    assert not [t for t in threading.enumerate() if t.name == "hasched-embedded"]


def test_stop_at_interpreter_exit_releases_the_lease(redis: Redis, redis_server: RedisServer) -> None:
    code = ("import hasched.embedded, time\n"
            f"h = hasched.embedded.start({redis_server.url!r}, 'emb3', instance_id='exit', lease_ttl=30)\n"
            "while not h.is_leader: time.sleep(0.01)\n"
            "print('leading', flush=True)\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "leading" in out.stdout, out.stderr
    assert redis.get(Keys("emb3").lease) is None  # released at exit, not left for its 30 s TTL


@pytest.mark.slow
def test_every_gunicorn_worker_embeds_one_leads_and_a_killed_leader_hands_over() -> None:
    server = RedisServer().start()
    cluster = Cluster(server.url, namespace="web", lease_ttl=TTL)
    port = free_port()
    env = {**os.environ, "HASCHED_REDIS_URL": server.url, "HASCHED_NAMESPACE": "web",
           "HASCHED_LEASE_TTL": str(TTL), "HASCHED_RETRY_PERIOD": "0.2"}  # fmt: skip
    log = cluster.workdir / "gunicorn.log"
    gunicorn = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "3", "--bind", f"127.0.0.1:{port}",
                                 "--chdir", str(EXAMPLES), "embedded_wsgi:app"],
                                env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)  # fmt: skip
    try:
        redis = server.client()
        cluster.start_worker()
        workload = Workload(redis, "web")
        workload.create(intervals=4, crons=2, duration=10, lead=2.0)
        pids = wait_for(lambda: workers_of(gunicorn.pid) if len(workers_of(gunicorn.pid)) == 3 else None)
        first = wait_for(lambda: holder(redis, "web"), timeout=15)
        assert first in {f"web-{p}" for p in pids}
        answers = [json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read())
                   for _ in range(12)]  # fmt: skip
        assert all(a["leader"] == (a["instance_id"] == first) for a in answers)
        time.sleep(3)  # let the first leader fire for a while
        faults = [time.time()]
        os.kill(int(first.removeprefix("web-")), signal.SIGKILL)
        second = wait_for(lambda: (h := holder(redis, "web")) not in (None, first) and h, timeout=10)
        assert int(second.removeprefix("web-")) in workers_of(gunicorn.pid)
        workload.wait_done()
        assert_clean(workload.verdict("embedded_gunicorn", faults))
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(20)
        cluster.stop()
        server.stop()
        print(log.read_text(errors="replace")[-3000:])


def workers_of(master: int) -> set[int]:
    """The pids of gunicorn's worker processes (children of the master)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master:
            found.add(int(stat.parent.name))
    return found
