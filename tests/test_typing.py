"""The public API is typed: mypy --strict accepts correct calls and catches a misspelt field.

Each test writes a small user module and runs the venv's mypy on it, as a user's CI would. hasched
is found from this source tree (MYPYPATH) and checked silently, so only the user file's errors
are reported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """\
[mypy]
strict = True
python_version = 3.11

[mypy-hasched.*]
follow_imports = silent
"""
CORRECT = """\
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq.job import Job

from hasched import Schedule, Scheduler
from hasched.api import ScheduleOptions

s = Scheduler.from_url("redis://localhost:6379/0", namespace="app", socket_timeout=5)
s = Scheduler(Redis(), namespace="app")
options: ScheduleOptions = {"queue": "low", "jitter": timedelta(seconds=5)}
a: Schedule = s.cron("nightly", "0 3 * * *", "app.tasks.report", kwargs={"fmt": "pdf"},
                     timezone="Europe/Paris", catchup="all", catchup_window=timedelta(hours=2))
b: Schedule = s.every("poll", timedelta(minutes=1), "app.tasks.poll", jitter=2.5, timeout=30)
b = s.every("poll", 60, "app.tasks.poll", **options)
c: Schedule = s.at("launch", datetime(2027, 1, 1, tzinfo=UTC), "app.tasks.launch", replace=False)
d: Schedule = s.enqueue_in(timedelta(minutes=5), "app.tasks.remind", args=[42], ttl=timedelta(hours=1))
e: Schedule = s.update("poll", every=30, queue="high", overlap="skip", result_ttl=timedelta(days=1))
job: Job = s.trigger("poll")
"""


def mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "mypy.ini").write_text(CONFIG)
    user = tmp_path / "user_app.py"
    user.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-incremental", user.name],
        cwd=tmp_path,
        env={"MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_correct_calls_pass_mypy_strict(tmp_path: Path) -> None:
    result = mypy(tmp_path, CORRECT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('s.cron("x", "@daily", "app.f", timezon="UTC")', 'Unexpected keyword argument "timezon" for "cron"'),
        ('s.every("x", 60, "app.f", catchup="newest")', 'Argument "catchup" to "every"'),
        ('s.every("x", "60", "app.f")', 'Argument 2 to "every"'),
        ('s.update("x", qeue="low")', 'Unexpected keyword argument "qeue" for "update"'),
        ('s.at("x", "2027-01-01", "app.f")', 'Argument 2 to "at"'),
        ("job_id: str = s.trigger('x')", "Incompatible types in assignment"),
    ],
)
def test_mistakes_are_mypy_errors(tmp_path: Path, call: str, message: str) -> None:
    result = mypy(tmp_path, f"from hasched import Scheduler\n\ns = Scheduler.from_url('redis://')\n{call}\n")
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout, result.stdout
    assert result.stdout.count("error:") == 1, result.stdout
