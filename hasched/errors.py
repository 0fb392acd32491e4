"""hasched's exceptions: one root, small documented subclasses that carry context."""

from __future__ import annotations


class HaschedError(Exception):
    """Root of every error hasched raises on purpose."""


class ValidationError(HaschedError, ValueError):
    """Input (API argument, CLI flag, file field) is invalid; nothing was written."""

    def __init__(self, field: str, message: str, *, schedule_id: str | None = None) -> None:
        self.field = field
        self.schedule_id = schedule_id
        self.message = message
        where = f'schedule "{schedule_id}": ' if schedule_id else ""
        super().__init__(f"{where}{field}: {message}")


class ScheduleNotFound(HaschedError, KeyError):
    """No schedule with this id exists in the namespace."""

    def __init__(self, schedule_id: str) -> None:
        self.schedule_id = schedule_id
        super().__init__(schedule_id)

    def __str__(self) -> str:
        return f'schedule "{self.schedule_id}" not found'


class ScheduleExists(HaschedError, ValueError):
    """A schedule with this id exists and replace was not asked for."""

    def __init__(self, schedule_id: str) -> None:
        self.schedule_id = schedule_id
        super().__init__(f'schedule "{schedule_id}" already exists (use replace)')


class InvalidRecord(HaschedError, ValueError):
    """A stored schedule record cannot be read (corrupt, or from a newer version)."""

    def __init__(self, schedule_id: str, reason: str) -> None:
        self.schedule_id = schedule_id
        self.reason = reason
        super().__init__(f'stored schedule "{schedule_id}" is unreadable: {reason}')


class ConcurrentUpdate(HaschedError):
    """A schedule kept changing under a write: other writers won every one of `attempts` tries."""

    def __init__(self, schedule_id: str, attempts: int) -> None:
        self.schedule_id = schedule_id
        self.attempts = attempts
        super().__init__(
            f'schedule "{schedule_id}" was changed by another writer during each of {attempts} attempts'
        )


class StartupError(HaschedError):
    """`hasched run` cannot start (port taken, Redis refused, unsafe Redis settings)."""
