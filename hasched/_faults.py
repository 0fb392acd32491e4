"""Test-only fault hooks. Each is off unless its environment variable names a file, read once
when `hasched run` starts; the chaos and systemd tests use them to provoke, deterministically,
states that real faults reach only by chance.

- `HASCHED_TEST_STOP_BEFORE_COMMIT=<file>`: when the file exists as the leader is about to commit
  a batch, the file is removed and the process stops itself (SIGSTOP) right there, after reading
  the lease and planning, before the commit. A test can then let the lease expire, let another
  instance take over, and SIGCONT it: the commit must be fenced.
- `HASCHED_TEST_HANG_FILE=<file>`: while the file exists, the loop blocks at the start of each
  pass, so the systemd test can watch the watchdog pings stop (and resume once it is removed).
- `HASCHED_TEST_CRASH_SCHEDULER=<file>`: when the file exists at the start of a pass, it is
  removed and the loop raises: the scheduler half of `hasched worker` dies alone.
- `HASCHED_TEST_CRASH_WORKER=<file>`: `hasched worker` watches for the file; when it appears it
  is removed and the RQ worker's loop is interrupted by an exception: the worker half dies alone.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

STOP_BEFORE_COMMIT_ENV = "HASCHED_TEST_STOP_BEFORE_COMMIT"
HANG_FILE_ENV = "HASCHED_TEST_HANG_FILE"
CRASH_SCHEDULER_ENV = "HASCHED_TEST_CRASH_SCHEDULER"
CRASH_WORKER_ENV = "HASCHED_TEST_CRASH_WORKER"


class InjectedCrash(RuntimeError):
    """Raised by a test hook: the half of the process it runs in dies here."""


@dataclass(frozen=True, slots=True)
class FaultHooks:
    """The hooks armed for this process (none, normally)."""

    stop_before_commit: Path | None = None
    hang_file: Path | None = None
    crash_scheduler: Path | None = None
    crash_worker: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> FaultHooks:
        def path(name: str) -> Path | None:
            value = env.get(name)
            return Path(value) if value else None

        return cls(
            stop_before_commit=path(STOP_BEFORE_COMMIT_ENV),
            hang_file=path(HANG_FILE_ENV),
            crash_scheduler=path(CRASH_SCHEDULER_ENV),
            crash_worker=path(CRASH_WORKER_ENV),
        )

    def loop_pass(self) -> None:
        """Block while the hang file exists (a stuck loop, as the watchdog sees it); raise if
        the scheduler crash file exists."""
        while self.hang_file is not None and self.hang_file.exists():
            time.sleep(0.05)
        if take(self.crash_scheduler):
            raise InjectedCrash("test hook: scheduler loop crashed")

    def before_commit(self) -> None:
        """Stop this process here, once, if the test asked for it."""
        trigger = self.stop_before_commit
        if trigger is not None and trigger.exists():
            trigger.unlink()
            os.kill(os.getpid(), signal.SIGSTOP)


def take(trigger: Path | None) -> bool:
    """True, once, when the trigger file exists (it is removed)."""
    if trigger is None or not trigger.exists():
        return False
    trigger.unlink(missing_ok=True)
    return True
