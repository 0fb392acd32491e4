"""Overlap policies as pure rules: what a fire does while its schedule's previous job is busy.

`decide` is the whole rule; overlap_lib.lua applies the same table inside the commit (a test
holds the two together). The previous job is the schedule's last enqueued fire's RQ job, seen as
"idle" (none, or it ended), "queued" (still in its queue) or "started" (a worker has it). A fire
of a buffer policy also looks at how many fires of its schedule wait already. No Redis, no RQ.
"""

from __future__ import annotations

from typing import Literal, get_args

from hasched._model import Overlap as Policy

Previous = Literal["idle", "queued", "started"]
# enqueue: as usual; skip: recorded as skipped; buffer: waits for the previous job's end;
# cancel: cancel the queued previous job, then enqueue; stop: stop the started one, then enqueue.
Action = Literal["enqueue", "skip", "buffer", "cancel", "stop"]

PREVIOUS: tuple[str, ...] = get_args(Previous)
MAX_WAITING = 1000  # buffer_all: fires waiting per schedule at most; beyond, skipped


def decide(policy: Policy, previous: Previous, waiting: int) -> Action:
    """The action for a new fire of a `policy` schedule whose previous job is `previous`, with
    `waiting` fires of the schedule waiting already (buffered earlier, not yet enqueued).

    A queued previous job that a worker took before it could be canceled counts as started
    (overlap_lib.lua decides again with "started").
    """
    busy = previous != "idle"
    if policy == "skip":
        return "skip" if busy else "enqueue"
    if policy == "buffer_one":
        return "skip" if waiting >= 1 else ("buffer" if busy else "enqueue")
    if policy == "buffer_all":
        if waiting >= MAX_WAITING:
            return "skip"
        return "buffer" if busy or waiting > 0 else "enqueue"
    if policy == "cancel_other":
        return "cancel" if previous == "queued" else "enqueue"
    if policy == "terminate_other" and busy:
        return "cancel" if previous == "queued" else "stop"
    return "enqueue"  # allow, or nothing to cancel or stop


def needs_previous(policy: str) -> bool:
    """Whether the commit must know the schedule's previous job for this policy."""
    return policy != "allow"
