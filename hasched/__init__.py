"""hasched: a high-availability scheduler for RQ.

Several `hasched run` instances share one Redis and elect a leader with a fenced, TTL-renewed
lease; the leader moves every due fire of the stored schedules into ordinary RQ queues exactly
once. Applications manage schedules with :class:`Scheduler`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hasched.errors import (
    HaschedError,
    InvalidRecord,
    ScheduleExists,
    ScheduleNotFound,
    StartupError,
    ValidationError,
)

if TYPE_CHECKING:
    from hasched._model import Schedule
    from hasched.api import Scheduler

    __version__: str

__all__ = [
    "HaschedError",
    "InvalidRecord",
    "Schedule",
    "ScheduleExists",
    "ScheduleNotFound",
    "Scheduler",
    "StartupError",
    "ValidationError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """`Scheduler`, `Schedule` and `__version__` are imported when first asked for, so the
    command line starts without Redis's client when a command does not need it."""
    if name == "__version__":
        import importlib.metadata  # pyproject.toml holds the version; the metadata carries it

        value: Any = importlib.metadata.version("hasched")
    elif name == "Scheduler":
        from hasched.api import Scheduler as value
    elif name == "Schedule":
        from hasched._model import Schedule as value
    else:
        raise AttributeError(f"module 'hasched' has no attribute {name!r}")
    globals()[name] = value
    return value
