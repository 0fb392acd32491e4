"""`hasched schedule list` with filters and pages, run as a user runs it (a real process, real Redis)."""

from __future__ import annotations

import json

from helpers import run_cli
from redis import Redis
from redis_server import RedisServer

from hasched import Scheduler
from hasched._listing import TEXT_LIMIT

NS = "lc"


def list_cli(url: str, *args: str) -> tuple[int, list[str], str]:
    r = run_cli("schedule", "list", "--namespace", NS, *args, redis_url=url)
    return r.returncode, r.stdout.splitlines(), r.stderr


def first_column(lines: list[str]) -> list[str]:
    return [line.split("\t")[0] for line in lines]


def test_pages_follow_the_hint_to_the_end(redis_server: RedisServer, redis: Redis) -> None:
    s = Scheduler(redis, NS)
    ids = [f"job-{n:02d}" for n in range(7)]
    for sid in reversed(ids):
        s.every(sid, 60, "a.b", queue="q" if sid != "job-03" else "other")
    seen: list[str] = []
    after: list[str] = []
    while True:
        code, lines, err = list_cli(redis_server.url, "--queue", "q", "--limit", "2", *after)
        assert code == 0
        seen += first_column(lines)
        if not err:
            break
        assert err == f"note: more schedules follow; next page: --after {seen[-1]}\n"
        after = err.split()[-2:]
    assert seen == [i for i in ids if i != "job-03"]


def test_filters_on_the_command_line(redis_server: RedisServer, redis: Redis) -> None:
    s = Scheduler(redis, NS)
    s.every("report-a", 60, "a.b")
    s.every("report-b", 60, "a.b", paused=True)
    s.every("sync-a", 60, "a.b", queue="low")
    url = redis_server.url
    assert first_column(list_cli(url, "--match", "report-*")[1]) == ["report-a", "report-b"]
    assert first_column(list_cli(url, "--state", "paused")[1]) == ["report-b"]
    assert first_column(list_cli(url, "--queue", "low", "--match", "*-a")[1]) == ["sync-a"]
    code, lines, _ = list_cli(url, "--json", "--after", "report-a", "--state", "active")
    assert code == 0 and [d["id"] for d in json.loads("\n".join(lines))] == ["sync-a"]


def test_text_stops_at_the_default_limit_and_json_does_not(redis_server: RedisServer, redis: Redis) -> None:
    s = Scheduler(redis, NS)
    for n in range(TEXT_LIMIT + 1):
        s.every(f"s{n:05d}", 60, "a.b")
    code, lines, err = list_cli(redis_server.url)
    assert code == 0 and len(lines) == TEXT_LIMIT
    assert err == f"note: more schedules follow; next page: --after s{TEXT_LIMIT - 1:05d}\n"
    code, lines, err = list_cli(redis_server.url, "--json")
    assert code == 0 and err == "" and len(json.loads("\n".join(lines))) == TEXT_LIMIT + 1


def test_bad_values_are_input_errors(redis_server: RedisServer, redis: Redis) -> None:
    for args, named in (
        (("--limit", "0"), "limit"),
        (("--limit", "x"), "--limit"),
        (("--state", "late"), "--state"),
    ):
        code, _, err = list_cli(redis_server.url, *args)
        assert code == 2 and named in err, err
