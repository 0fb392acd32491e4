"""The FastAPI example (examples/fastapi_app.py) under a real uvicorn with two worker processes,
each embedding a scheduler instance, driven over HTTP while a real RQ worker runs the jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cluster import ClusterFactory
from helpers import ledger, redis_now, wait_for
from redis import Redis
from redis_server import RedisServer, free_port

from hasched._keys import Keys, parse_lease

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BIN = Path(sys.executable).parent


@pytest.fixture()
def api(redis_server: RedisServer, tmp_path: Path) -> Iterator[httpx.Client]:
    port = free_port()
    env = {**os.environ, "HASCHED_REDIS_URL": redis_server.url, "HASCHED_NAMESPACE": "api",
           "HASCHED_LEASE_TTL": "1.5", "HASCHED_RETRY_PERIOD": "0.2"}  # fmt: skip
    log = tmp_path / "uvicorn.log"
    server = subprocess.Popen([str(BIN / "uvicorn"), "fastapi_app:app", "--app-dir", str(EXAMPLES),
                               "--port", str(port), "--workers", "2"],
                              env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)
    try:
        wait_for(lambda: _up(client), timeout=20)
        yield client
    finally:
        client.close()
        server.send_signal(signal.SIGTERM)
        server.wait(20)
        print(log.read_text(errors="replace")[-3000:])


def _up(client: httpx.Client) -> bool:
    try:
        return client.get("/leader").status_code == 200
    except httpx.TransportError:
        return False


def test_the_fastapi_example_schedules_now_at_and_periodically(
    redis: Redis, api: httpx.Client, cluster_factory: ClusterFactory
) -> None:
    cluster_factory().start_worker()
    lease = wait_for(lambda: redis.get(Keys("api").lease), timeout=15)
    assert parse_lease(lease)[0].startswith("api-")  # one of the uvicorn processes leads

    now = api.post("/jobs", json={"func": "jobs.record_async", "args": ["now"]})
    assert now.status_code == 200, now.text
    at = (redis_now(redis) + timedelta(seconds=1)).isoformat()
    assert api.post(
        "/jobs/at", json={"func": "jobs.record", "args": ["at"], "at": at, "id": "later"}
    ).json() == {"id": "later"}
    periodic = {"id": "tick", "func": "jobs.record", "args": ["tick"], "every": 0.3, "repeat": 2}
    assert api.post("/jobs/periodic", json=periodic).json() == {"id": "tick"}
    wait_for(lambda: sorted(e["tag"] for e in ledger(redis)) == ["at", "now", "tick", "tick"], timeout=15)

    listed = {s["id"]: s for s in api.get("/schedules").json()}
    assert listed["tick"]["fires"] == 2 and listed["later"]["fires"] == 1
    assert api.delete("/schedules/tick").json() == {"cancelled": True}
    assert "tick" not in {s["id"] for s in api.get("/schedules").json()}

    bad = api.post("/jobs/periodic", json={**periodic, "every": 0.001})
    assert bad.status_code == 422 and bad.json()["field"] == "every", bad.text
    naive = api.post("/jobs/at", json={"func": "jobs.record", "at": "2030-01-01T00:00:00"})
    assert naive.status_code == 422 and naive.json()["field"] == "at", naive.text
    answers = [api.get("/leader").json() for _ in range(10)]
    assert len({a["pid"] for a in answers if a["leader"]}) <= 1  # never two
