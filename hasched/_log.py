"""structlog configured in one place: one JSON object a line (or console), events dotted."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure(fmt: str = "json", level: str = "info") -> None:
    """Set up structlog for the whole process (called once by the CLI)."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def get(**context: Any) -> Any:
    """A logger with bound context (instance_id, ...)."""
    return structlog.get_logger().bind(**context)
