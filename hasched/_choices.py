"""Fixed choices the command line's options name, in a module that imports nothing of hasched's,
so building the parser (and `hasched --help`) loads neither Redis's client nor the stores."""

from __future__ import annotations

from typing import Literal, get_args

ListState = Literal["active", "paused", "failing", "finished"]
# The states a listing filters on (`schedule list --state`).
STATES: tuple[str, ...] = get_args(ListState)
# How many schedules `schedule list` prints as text unless --limit says otherwise: a page a person
# can read (JSON, read by programs, is unlimited unless asked); --after pages on.
TEXT_LIMIT = 1000
