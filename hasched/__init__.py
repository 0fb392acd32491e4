"""hasched: a high-availability scheduler for RQ.

Several `hasched run` instances share one Redis and elect a leader with a fenced, TTL-renewed
lease; the leader moves every due fire of the stored schedules into ordinary RQ queues exactly
once. Applications manage schedules with :class:`Scheduler`.
"""

from __future__ import annotations

import importlib.metadata

# pyproject.toml holds the version; the installed package's metadata carries it here.
__version__ = importlib.metadata.version("hasched")

from hasched._model import Schedule
from hasched.api import Scheduler
from hasched.errors import (
    HaschedError,
    InvalidRecord,
    ScheduleExists,
    ScheduleNotFound,
    StartupError,
    ValidationError,
)

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
