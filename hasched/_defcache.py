"""The leader's decoded definitions, by their exact stored text.

A recurring schedule is due again and again with the same stored record: decoding and validating
it each time is most of what a fire costs the leader's Python. The cache is keyed by the record's
bytes themselves (not by its revision), so any change to them, even one made behind hasched's
back, is a miss that is decoded and validated in full; a record that fails is never cached and
stays an `InvalidRecord` for the caller to skip and count.
"""

from __future__ import annotations

from typing import Any

from hasched import _codec
from hasched._model import Schedule

DEFAULT_SIZE = 50_000  # definitions kept: every recurring schedule of a busy namespace


class Definitions:
    """Decoded schedules by (id, stored text), the oldest dropped beyond `size`."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._decoded: dict[tuple[str, Any], Schedule] = {}

    def decode(self, schedule_id: str, raw: Any) -> Schedule:
        """`_codec.decode(schedule_id, raw)`, once per distinct record (InvalidRecord if unreadable)."""
        key = (schedule_id, raw)
        schedule = self._decoded.get(key)
        if schedule is None:
            schedule = _codec.decode(schedule_id, raw)
            if schedule.at is None:  # a one-off is due once: not worth keeping
                if len(self._decoded) >= self._size:
                    del self._decoded[next(iter(self._decoded))]
                self._decoded[key] = schedule
        return schedule
