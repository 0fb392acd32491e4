"""Test-only fault hooks. Each is off unless its environment variable names a file, read once
when `hasched run` starts; the chaos and systemd tests use them to provoke, deterministically,
states that real faults reach only by chance.

- `HASCHED_TEST_STOP_BEFORE_COMMIT=<file>`: when the file exists as the leader is about to commit
  a batch, the file is removed and the process stops itself (SIGSTOP) right there, after reading
  the lease and planning, before the commit. A test can then let the lease expire, let another
  instance take over, and SIGCONT it: the commit must be fenced.
- `HASCHED_TEST_HANG_FILE=<file>`: while the file exists, the loop blocks at the start of each
  pass, so the systemd test can watch the watchdog pings stop (and resume once it is removed).
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


@dataclass(frozen=True, slots=True)
class FaultHooks:
    """The hooks armed for this process (none, normally)."""

    stop_before_commit: Path | None = None
    hang_file: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> FaultHooks:
        stop, hang = env.get(STOP_BEFORE_COMMIT_ENV), env.get(HANG_FILE_ENV)
        return cls(stop_before_commit=Path(stop) if stop else None, hang_file=Path(hang) if hang else None)

    def loop_pass(self) -> None:
        """Block while the hang file exists (a stuck loop, as the watchdog sees it)."""
        while self.hang_file is not None and self.hang_file.exists():
            time.sleep(0.05)

    def before_commit(self) -> None:
        """Stop this process here, once, if the test asked for it."""
        trigger = self.stop_before_commit
        if trigger is not None and trigger.exists():
            trigger.unlink()
            os.kill(os.getpid(), signal.SIGSTOP)
