"""A progress bar for the command line's long writes (`hasched sync`, `import-rq-scheduler`).

Drawn on stderr, in place, only when stderr is a terminal and the write is large enough to be
worth one; otherwise it prints nothing, so pipes and logs see only the command's own output.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

# Fewer schedules than this are written too fast for a bar to help.
MIN_TOTAL = 2000
WIDTH = 30
REDRAW_S = 0.1


class ProgressBar:
    """`progress(done, total)` for `Scheduler.add_many`, drawing `label [####    ] done/total`."""

    def __init__(self, label: str, stream: TextIO | None = None, *, min_total: int = MIN_TOTAL) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.min_total = min_total
        self.drawn = False
        self._last = 0.0
        self._started = time.monotonic()

    @property
    def enabled(self) -> bool:
        """Only on a terminal: a redrawn line means nothing in a file or a pipe."""
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def __call__(self, done: int, total: int) -> None:
        if total < self.min_total or not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < REDRAW_S:
            return
        self._last = now
        self.stream.write("\r" + line(self.label, done, total, now - self._started))
        self.stream.flush()
        self.drawn = True

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        if self.drawn:  # end the redrawn line, so what follows starts on its own
            self.stream.write("\n")
            self.stream.flush()


def line(label: str, done: int, total: int, elapsed_s: float) -> str:
    """One state of the bar, e.g. `syncing [###############               ] 5,000/10,000 (2.1 s)`."""
    filled = WIDTH * done // total if total else WIDTH
    bar = "#" * filled + " " * (WIDTH - filled)
    return f"{label} [{bar}] {done:,}/{total:,} ({elapsed_s:.1f} s)"
