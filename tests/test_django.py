"""hasched.contrib.django with the example project (examples/django_project), as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import wait_for
from redis import Redis
from redis_server import RedisServer

from hasched import Scheduler
from hasched._keys import Keys, parse_lease

PROJECT = Path(__file__).resolve().parent.parent / "examples" / "django_project"


def manage(*args: str, url: str, settings: str = "mysite.settings", path: Path | None = None,
           ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    env = {**os.environ, "REDIS_URL": url, "DJANGO_SETTINGS_MODULE": settings}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (path, PROJECT) if p)
    env.pop("HASCHED_REDIS_URL", None), env.pop("HASCHED_NAMESPACE", None)
    return subprocess.run([sys.executable, "manage.py", "hasched", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_sync_stores_the_settings_schedules_and_is_idempotent(
    redis: Redis, redis_server: RedisServer
) -> None:
    dry = manage("sync", "--dry-run", url=redis_server.url)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[:3] == [
        f"would create {x}" for x in ("nightly-report", "poll-feeds", "launch")
    ]
    assert redis.hlen(Keys("mysite").defs) == 0
    out = manage("sync", url=redis_server.url)
    assert out.returncode == 0, out.stderr
    s = Scheduler(redis, "mysite")
    report = s.get("nightly-report")
    assert (report.cron, report.timezone, report.func, dict(report.kwargs)) == (
        "0 3 * * *", "Europe/Paris", "mysite.tasks.report", {"fmt": "pdf"})  # fmt: skip
    assert (s.get("poll-feeds").every, s.get("poll-feeds").queue, s.get("launch").source) == (
        60,
        "low",
        "file",
    )
    again = manage("sync", url=redis_server.url)
    assert again.stdout.splitlines() == ["unchanged 3"]


def test_any_hasched_command_runs_with_the_settings_as_defaults(
    redis: Redis, redis_server: RedisServer
) -> None:
    assert manage("sync", url=redis_server.url).returncode == 0
    listed = manage("schedule", "list", "--json", url=redis_server.url)
    assert listed.returncode == 0, listed.stderr
    assert '"id": "poll-feeds"' in listed.stdout
    other = manage("schedule", "list", "--json", "--namespace", "other", url=redis_server.url)
    assert other.stdout.strip() == "[]"  # a flag beats the settings


@pytest.mark.slow
def test_run_leads_and_stops_on_sigterm(redis: Redis, redis_server: RedisServer) -> None:
    env = {**os.environ, "REDIS_URL": redis_server.url, "DJANGO_SETTINGS_MODULE": "mysite.settings",
           "PYTHONPATH": str(PROJECT)}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "manage.py", "hasched", "run", "--metrics-addr", "",
                             "--instance-id", "django", "--lease-ttl", "2"], cwd=PROJECT, env=env,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        lease = wait_for(lambda: redis.get(Keys("mysite").lease), timeout=15)
        assert parse_lease(lease)[0] == "django"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    assert redis.get(Keys("mysite").lease) is None


@pytest.mark.parametrize(
    ("hasched", "expected"),
    [
        ('"redis://x"', "error: settings.HASCHED: must be a dict, got str"),
        ('{"REDIS": "redis://x"}', "error: settings.HASCHED['REDIS']: unknown key (known: REDIS_URL"),
        ('{"REDIS_URL": "http://x"}', "error: settings.HASCHED['REDIS_URL']: must be a redis://"),
        ('{"NAMESPACE": "a b"}', "error: settings.HASCHED['NAMESPACE']: must match"),
        (
            '{"SCHEDULES": [{"id": "x", "func": "m.f", "cron": "61 * * * *"}]}',
            "error: settings.HASCHED['SCHEDULES']: cron:",
        ),
        (
            '{"SCHEDULES": [{"id": "x", "func": "m.f", "every": 5, "colour": 1}]}',
            "error: settings.HASCHED['SCHEDULES']: colour: unknown",
        ),
    ],
)
def test_bad_settings_give_one_clear_error(redis_server: RedisServer, tmp_path: Path, hasched: str,
                                           expected: str) -> None:  # fmt: skip
    (tmp_path / "bad_settings.py").write_text(f"from mysite.settings import *\nHASCHED = {hasched}\n")
    for command in (["sync"], ["run"], ["status"]):
        out = manage(*command, url=redis_server.url, settings="bad_settings", path=tmp_path)
        assert out.returncode == 2, out.stderr
        assert out.stderr.startswith(expected) and len(out.stderr.strip().splitlines()) == 1, out.stderr
