"""The command line as a user runs it: real `hasched` processes against a private Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cluster import Hasched, console
from redis import Redis
from redis_server import RedisServer
from rq_scheduler import Scheduler as RQScheduler

NS = "cli"
ADD = ["schedule", "add", "--id", "x", "--func", "a.b"]


@pytest.fixture()
def hasched(redis_server: RedisServer, redis: Redis) -> Hasched:
    return console(redis_server.url, NS)


def test_bad_input_exits_2_with_one_error_line_naming_the_field(hasched: Hasched) -> None:
    cases = [
        ([*ADD, "--cron", "61 * * * *"], 'cron: bad minute field "61"'),
        ([*ADD, "--at", "2030-01-01T00:00:00"], "at: must be timezone-aware"),
        (["schedule", "add", "--id", "bad id", "--func", "a.b", "--every", "1"], "id: must match"),
        ([*ADD, "--every", "0.001"], "every: must be seconds"),
        ([*ADD, "--every", "1", "--args", "{"], "args: not valid JSON"),
        ([*ADD, "--every", "1", "--tz", "Mars/Base"], "timezone: unknown"),
        ([*ADD, "--every", "x"], "argument --every: expected a number of seconds"),
        (["schedule", "show", "nope"], 'schedule "nope" not found'),
        (["next", "--cron", "* * *"], "cron: expected 5 or 6 fields, got 3"),
    ]  # fmt: skip
    for args, message in cases:
        r = hasched(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("error: ") and message in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""


def test_manage_a_schedule_end_to_end(hasched: Hasched, redis: Redis) -> None:
    add = hasched("schedule", "add", "--id", "rep", "--func", "app.tasks.report", "--cron", "0 3 * * *",
                  "--tz", "Europe/Paris", "--kwargs", '{"fmt": "pdf"}', "--queue", "reports")  # fmt: skip
    assert add.returncode == 0 and add.stdout.strip() == "rep"
    assert hasched("schedule", "add", "--id", "rep", "--func", "a.b", "--every", "5").returncode == 2
    shown = json.loads(hasched("schedule", "show", "rep", "--json").stdout)
    assert shown["cron"] == "0 3 * * *" and shown["kwargs"] == {"fmt": "pdf"} and shown["fires"] == 0
    assert datetime.fromisoformat(shown["next_fire"]).astimezone().utcoffset() is not None
    listed = json.loads(hasched("schedule", "list", "--json").stdout)
    assert [d["id"] for d in listed] == ["rep"] and set(listed[0]) >= {"next_fire", "fires", "queue"}
    nxt = hasched("next", "rep", "-n", "2", "--from", "2026-07-01T00:00:00Z").stdout.splitlines()
    assert nxt == ["2026-07-01T03:00:00+02:00", "2026-07-02T03:00:00+02:00"]  # in Paris time
    assert hasched("schedule", "pause", "rep").returncode == 0
    assert json.loads(hasched("schedule", "show", "rep", "--json").stdout)["paused"] is True
    assert json.loads(hasched("status", "--json").stdout)["schedules"] == {"active": 0, "paused": 1}
    assert hasched("schedule", "resume", "rep").returncode == 0
    job_id = hasched("schedule", "trigger", "rep").stdout.strip()
    assert redis.lrange("rq:queue:reports", 0, -1) == [job_id.encode()]
    assert json.loads(hasched("schedule", "show", "rep", "--json").stdout)["fires"] == 1
    assert hasched("schedule", "rm", "rep").returncode == 0
    assert hasched("schedule", "rm", "rep").returncode == 2


def test_status_json_has_the_spec_fields(hasched: Hasched) -> None:
    st = json.loads(hasched("status", "--json").stdout)
    assert set(st) == {
        "leader",
        "epoch",
        "instances",
        "schedules",
        "next_fire",
        "lag_seconds",
        "leadership_changes",
    }
    assert st["leader"] is None and st["lag_seconds"] == 0.0


def test_next_prints_offsets_and_json(hasched: Hasched) -> None:
    r = hasched("next", "--cron", "30 2 * * *", "--tz", "America/New_York", "--from",
                "2026-03-07T00:00:00-05:00", "-n", "3", "--json")  # fmt: skip
    assert json.loads(r.stdout) == ["2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00",
                                    "2026-03-09T02:30:00-04:00"]  # fmt: skip
    t0 = "2026-01-01T00:00:00Z"
    r = hasched("next", "--every", "0.25", "--start", t0, "--from", t0, "-n", "2")
    assert r.stdout.splitlines() == ["2026-01-01T00:00:00.250000+00:00", "2026-01-01T00:00:00.500000+00:00"]


def test_import_rq_scheduler_from_the_command_line(hasched: Hasched, redis: Redis) -> None:
    rqs = RQScheduler(connection=redis)
    rqs.cron("*/5 * * * *", "jobs.record", args=["c"])
    rqs.enqueue_at(datetime.now(UTC) + timedelta(hours=1), "jobs.record", "once")
    dry = hasched("import-rq-scheduler", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.count("would import") == 2
    assert redis.hlen("{cli}:defs") == 0
    done = json.loads(hasched("import-rq-scheduler", "--remove-source", "--json").stdout)
    assert len(done["created"]) == 2 and len(done["removed"]) == 2
    assert redis.zcard("rq:scheduler:scheduled_jobs") == 0
    assert redis.hlen("{cli}:defs") == 2
