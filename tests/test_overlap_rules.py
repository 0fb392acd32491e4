"""The overlap policies' pure rule (hasched._overlap), case by case, and overlap_lib.lua's copy of
it run inside a real Redis for every input."""

from __future__ import annotations

from importlib import resources
from typing import Any, cast

import pytest
from redis import Redis

from hasched._model import OVERLAP_POLICIES, Schedule, validate
from hasched._overlap import MAX_WAITING, PREVIOUS, Policy, Previous, decide
from hasched._sync import parse_tables
from hasched.errors import ValidationError

# (policy, previous job, fires waiting) -> action
TABLE = [
    ("allow", "idle", 0, "enqueue"),
    ("allow", "queued", 0, "enqueue"),
    ("allow", "started", 5, "enqueue"),
    ("skip", "idle", 0, "enqueue"),
    ("skip", "queued", 0, "skip"),
    ("skip", "started", 0, "skip"),
    ("buffer_one", "idle", 0, "enqueue"),
    ("buffer_one", "queued", 0, "buffer"),
    ("buffer_one", "started", 0, "buffer"),
    ("buffer_one", "started", 1, "skip"),
    ("buffer_one", "idle", 1, "skip"),  # the waiting one goes first; this one has no room
    ("buffer_all", "idle", 0, "enqueue"),
    ("buffer_all", "queued", 0, "buffer"),
    ("buffer_all", "started", 0, "buffer"),
    ("buffer_all", "started", 7, "buffer"),
    ("buffer_all", "idle", 1, "buffer"),  # in order: behind the one waiting
    ("buffer_all", "started", MAX_WAITING - 1, "buffer"),
    ("buffer_all", "started", MAX_WAITING, "skip"),
    ("buffer_all", "idle", MAX_WAITING, "skip"),
    ("cancel_other", "idle", 0, "enqueue"),
    ("cancel_other", "queued", 0, "cancel"),
    ("cancel_other", "started", 0, "enqueue"),
    ("terminate_other", "idle", 0, "enqueue"),
    ("terminate_other", "queued", 0, "cancel"),
    ("terminate_other", "started", 0, "stop"),
]


@pytest.mark.parametrize(("policy", "previous", "waiting", "action"), TABLE)
def test_decide(policy: Policy, previous: Previous, waiting: int, action: str) -> None:
    assert decide(policy, previous, waiting) == action


def test_table_covers_every_policy_and_previous_state() -> None:
    assert {row[0] for row in TABLE} == set(OVERLAP_POLICIES)
    for policy in OVERLAP_POLICIES:
        assert {row[1] for row in TABLE if row[0] == policy} == set(PREVIOUS), policy


def test_lua_rule_is_the_python_rule(redis: Redis) -> None:
    lib = resources.files("hasched").joinpath("lua", "overlap_lib.lua").read_text()
    script = redis.register_script(
        lib + "\nlocal out = {}\n"
        "for k = 1, #ARGV, 3 do\n"
        "  out[#out + 1] = overlap_decide(ARGV[k], ARGV[k + 1], tonumber(ARGV[k + 2]))\n"
        "end\n"
        "return out"
    )
    cases = [(p, prev, w) for p in OVERLAP_POLICIES for prev in PREVIOUS for w in (0, 1, 2, MAX_WAITING - 1,
             MAX_WAITING, MAX_WAITING + 1)]  # fmt: skip
    args = [x for case in cases for x in case]
    answers = [a.decode() for a in script(args=args)]
    assert answers == [decide(cast(Policy, p), cast(Previous, prev), w) for p, prev, w in cases]


@pytest.mark.parametrize("policy", OVERLAP_POLICIES)
def test_every_policy_is_accepted_from_a_schedules_file(policy: str) -> None:
    table = {"id": "s", "func": "jobs.record", "every": 60, "overlap": policy}
    (schedule,) = parse_tables({"schedule": [table]})
    assert schedule.overlap == policy


def test_an_unknown_policy_names_the_field() -> None:
    with pytest.raises(ValidationError) as e:
        validate(Schedule(id="s", func="jobs.record", every=60, overlap=cast(Any, "buffer")))
    assert e.value.field == "overlap" and "terminate_other" in str(e.value)
