"""A WSGI app whose every process runs an embedded hasched instance; one of them leads.

    HASCHED_REDIS_URL=redis://localhost:6379/0 gunicorn --workers 4 embedded_wsgi:app

Start the instance in each worker process, not in gunicorn's master: without `--preload` the
module is imported after the fork, as here (with `--preload`, start it in a `post_fork` hook).
GET / answers which process served and whether it leads; GET /metrics serves hasched's metrics
from the app itself (the embedded instance opens no port of its own).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import hasched.embedded

scheduler = hasched.embedded.start(
    os.environ.get("HASCHED_REDIS_URL", "redis://localhost:6379/0"),
    namespace=os.environ.get("HASCHED_NAMESPACE", "hasched"),
    instance_id=f"web-{os.getpid()}",
    lease_ttl=float(os.environ.get("HASCHED_LEASE_TTL", "10")),
    retry_period=float(os.environ.get("HASCHED_RETRY_PERIOD", "1")),
)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/metrics":
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [generate_latest(scheduler.registry)]
    body = {"pid": os.getpid(), "instance_id": scheduler.instance_id, "leader": scheduler.is_leader}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]
