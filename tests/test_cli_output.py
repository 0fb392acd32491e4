"""What hasched prints: in a pipe whose reader goes away, on a terminal, into a pipe; metric help."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from helpers import run_cli
from prometheus_client import generate_latest
from redis import Redis
from redis_server import RedisServer

from hasched._listing import COLUMNS, last_run, row
from hasched._metrics import Metrics

NS = "out"


def _into_closed_pipe(args: tuple[str, ...], url: str, read_lines: int) -> subprocess.CompletedProcess[str]:
    """Run hasched with stdout into a pipe whose reader reads `read_lines` lines, then closes
    (0: closed before hasched writes anything), as `| head -1` and `| grep -q` do."""
    reader, writer = os.pipe()
    if read_lines == 0:
        os.close(reader)
    env = {**os.environ, "HASCHED_REDIS_URL": url, "HASCHED_NAMESPACE": NS}
    proc = subprocess.Popen([sys.executable, "-m", "hasched", *args], stdout=writer,
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    os.close(writer)
    if read_lines:
        with os.fdopen(reader) as out:
            for _ in range(read_lines):
                assert out.readline()
    _, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(args, proc.returncode, "", err)


def _add(url: str, *args: str) -> None:
    r = run_cli("schedule", "add", "--namespace", NS, *args, redis_url=url)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(("args", "read_lines", "code"), [
    (("schedule", "show", "nightly"), 0, 1),
    (("schedule", "show", "nightly", "--json"), 0, 1),
    (("schedule", "list"), 0, 1),
    (("status",), 0, 1),
    (("--help",), 0, 0),  # argparse itself ignores a failed write of the help
    (("next", "--cron", "* * * * *", "-n", "1000"), 0, 1),
    # 10000 lines (~260 KB) overflow the pipe's buffer: the write fails mid-output, after `head -1`.
    (("next", "--cron", "* * * * *", "-n", "10000"), 1, 1),
])  # fmt: skip
def test_a_reader_that_goes_away_ends_the_command_quietly(
    redis_server: RedisServer, redis: Redis, args: tuple[str, ...], read_lines: int, code: int
) -> None:
    _add(redis_server.url, "--id", "nightly", "--func", "app.tasks.report", "--cron", "0 3 * * *")
    r = _into_closed_pipe(args, redis_server.url, read_lines)
    assert r.stderr == "" and r.returncode == code


def _on_a_terminal(args: tuple[str, ...], url: str) -> str:
    """Run hasched with stdout on a pseudo-terminal; what it printed there."""
    master, slave = pty.openpty()
    env = {**os.environ, "HASCHED_REDIS_URL": url, "HASCHED_NAMESPACE": NS}
    proc = subprocess.Popen([sys.executable, "-m", "hasched", *args], stdout=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(30) == 0
    return b"".join(chunks).decode().replace("\r\n", "\n")


EXPECTED = [
    ("at1", "a.b", "default", "at 2030-01-01T00:00:00+00:00", "active", "2030-01-01T00:00:00+00:00"),
    ("nightly", "app.tasks.report", "reports", "cron 0 3 * * * Europe/Paris", "active", "<paris 03:00>"),
    ("poll", "a.b", "default", "every 60s", "paused", "-"),
    ("tick", "a.b", "default", "every 0.5s", "active", "<utc>"),
]


def _matches(cells: tuple[str, ...], expected: tuple[str, ...]) -> bool:
    *same, nxt = expected
    if tuple(cells[:-1]) != tuple(same):
        return False
    if nxt == "<paris 03:00>":  # the next fire in the schedule's own zone, with its offset
        return re.fullmatch(r"\d{4}-\d\d-\d\dT03:00:00\+0[12]:00", cells[-1]) is not None
    if nxt == "<utc>":
        return datetime.fromisoformat(cells[-1]).utcoffset() == UTC.utcoffset(None)
    return cells[-1] == nxt


@pytest.fixture()
def four_schedules(redis_server: RedisServer, redis: Redis) -> str:
    url = redis_server.url
    _add(url, "--id", "nightly", "--func", "app.tasks.report", "--cron", "0 3 * * *", "--tz", "Europe/Paris",
         "--queue", "reports")  # fmt: skip
    _add(url, "--id", "poll", "--func", "a.b", "--every", "60", "--paused")
    _add(url, "--id", "at1", "--func", "a.b", "--at", "2030-01-01T00:00:00Z")
    _add(url, "--id", "tick", "--func", "a.b", "--every", "0.5")
    return url


def test_list_on_a_terminal_is_an_aligned_table_with_a_header(four_schedules: str) -> None:
    lines = _on_a_terminal(("schedule", "list"), four_schedules).splitlines()
    header = lines[0]
    assert header.split("  ")[0] == "ID" and re.split(r"\s{2,}", header) == list(COLUMNS)
    starts = [header.index(name) for name in COLUMNS]
    for line, expected in zip(lines[1:], EXPECTED, strict=True):
        cells = tuple(line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True))
        assert _matches(cells[:-1], expected), (line, expected)
        assert cells[-1] == "-", line  # LAST RUN: none has run yet
        assert all(line[s - 2 : s] == "  " for s in starts[1:]), line  # every column starts aligned


def test_list_into_a_pipe_is_tab_separated_without_header(four_schedules: str) -> None:
    r = run_cli("schedule", "list", "--namespace", NS, redis_url=four_schedules)
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) == len(EXPECTED)
    for line, expected in zip(lines, EXPECTED, strict=True):
        *cells, last = line.split("\t")
        assert _matches(tuple(cells), expected) and last == "-", (line, expected)


def test_a_schedule_with_no_fire_left_is_finished() -> None:
    done = {"id": "once", "func": "a.b", "queue": "q", "cron": None, "every": None, "timezone": "UTC",
            "at": "2026-01-01T00:00:00+00:00", "paused": False, "next_fire": None}  # fmt: skip
    assert row(done) == ("once", "a.b", "q", "at 2026-01-01T00:00:00+00:00", "finished", "-")


def test_the_last_run_column_shows_the_newest_record_with_its_latest_time() -> None:
    failed = {"status": "failed", "enqueued_at": "2026-01-01T03:00:00+00:00", "started_at": None,
              "ended_at": "2026-01-01T03:00:02+00:00"}  # fmt: skip
    missed = {"status": "missed", "last_fire_time": "2026-01-02T03:00:00+00:00"}
    assert last_run({"recent": [failed, missed]}) == "failed 2026-01-01T03:00:02+00:00"
    assert last_run({"recent": [missed]}) == "missed 2026-01-02T03:00:00+00:00"
    assert last_run({"recent": []}) == last_run({}) == "-"


def test_fire_lag_help_says_it_is_measured_from_the_due_time() -> None:
    text = generate_latest(Metrics().registry).decode()
    help_line = next(
        line for line in text.splitlines() if line.startswith("# HELP hasched_fire_lag_seconds ")
    )
    assert "due time" in help_line and "jitter" in help_line and "jitter excluded" not in help_line
