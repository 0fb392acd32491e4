"""The pure rules of run records: their stored form, how missed fires fold, how what RQ shows
moves a run on, and which fires a pause or the catch-up rules miss. Tables, no Redis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hasched._model import Schedule, validate
from hasched._plan import State, plan
from hasched._runs import JobSeen, Missed, Run, decode, fold, last_line, observe, public
from hasched._triggers import US, to_us
from hasched._write import paused_stretch, plan_write

T0 = to_us(datetime(2026, 1, 1, tzinfo=UTC))
S = US
QUEUED = Run(T0, "scheduled", 7, T0 + 5, "queued")
STARTED = Run(T0, "scheduled", 7, T0 + 5, "started", T0 + 100)


@pytest.mark.parametrize(
    "record",
    [QUEUED, STARTED, Run(T0, "trigger", 0, T0, "failed", T0, T0 + 1, 'boom "quoted"\ttab'),
     Run(T0, "backfill", 3, None, "skipped"), Missed("paused", T0, T0 + 60 * S, 2)],
)  # fmt: skip
def test_a_record_reads_back_as_written(record: Run | Missed) -> None:
    assert decode(record.encode()) == record
    assert decode(record.encode().encode()) == record  # as Redis returns it


def test_the_stored_form_is_compact() -> None:
    done = Run(T0, "scheduled", 12, T0 + 1234, "finished", T0 + 5000, T0 + 90_000)
    assert done.encode() == f'[{T0},"s",12,1234,"finished",5000,90000,null]'  # later times after the fire
    assert len(done.encode()) < 60
    assert Missed("catchup_window", 1, 2, 3).encode() == '["m","catchup_window",1,2,3]'  # runs.lua's shape


@pytest.mark.parametrize(
    ("head", "new", "folded"),
    [
        (None, Missed("paused", 10, 20, 2), None),
        (QUEUED, Missed("paused", T0 + 10, T0 + 20, 2), None),  # a run between: a new stretch
        (Missed("paused", 10, 20, 2), Missed("paused", 30, 40, 2), Missed("paused", 10, 40, 4)),
        (Missed("paused", 10, 20, 2), Missed("catchup_policy", 30, 40, 2), None),  # another reason
        (Missed("paused", 10, 20, 2), Missed("paused", 20, 40, 2), None),  # not after it
    ],
)
def test_missed_fires_fold_into_one_record_per_stretch(
    head: Run | Missed | None, new: Missed, folded: Missed | None
) -> None:
    assert fold(head, new) == folded


@pytest.mark.parametrize(
    ("run", "seen", "status", "started", "ended", "error"),
    [
        (QUEUED, JobSeen("queued"), "queued", None, None, None),
        (QUEUED, JobSeen("deferred"), "queued", None, None, None),
        (QUEUED, JobSeen("started", T0 + 100), "started", T0 + 100, None, None),
        (STARTED, JobSeen("finished", T0 + 100, T0 + 200), "finished", T0 + 100, T0 + 200, None),
        (STARTED, JobSeen("failed", T0 + 100, T0 + 200, "Traceback\n  x\nKeyError: 'a'\n"), "failed",
         T0 + 100, T0 + 200, "KeyError: 'a'"),
        (STARTED, JobSeen("stopped", None, T0 + 300, "killed"), "stopped", T0 + 100, T0 + 300, None),
        (QUEUED, JobSeen("canceled"), "canceled", None, None, None),
        (STARTED, JobSeen(None, registry="finished", ended_us=T0 + 9), "finished", T0 + 100, T0 + 9, None),
        (STARTED, JobSeen(None, registry="failed", exc="E: x"), "failed", T0 + 100, None, "E: x"),
        (STARTED, JobSeen(None), "unknown", T0 + 100, None, None),
        (QUEUED, JobSeen("some-future-status"), "queued", None, None, None),
    ],
)  # fmt: skip
def test_what_rq_shows_moves_a_run_on(
    run: Run, seen: JobSeen, status: str, started: int | None, ended: int | None, error: str | None
) -> None:
    after = observe(run, seen)
    assert (after.status, after.started_us, after.ended_us, after.error) == (status, started, ended, error)
    assert (after.fire_us, after.kind, after.epoch, after.enqueued_us) == (T0, "scheduled", 7, T0 + 5)


@pytest.mark.parametrize(
    ("text", "line"),
    [(None, None), ("", None), ("  \n \n", None), ("a\nb\n\n", "b"), ("x" * 600, "x" * 500),
     ("Traceback (most recent call last):\n  File ...\nRuntimeError: boom", "RuntimeError: boom")],
)  # fmt: skip
def test_the_error_is_the_last_line_of_the_exception_text(text: str | None, line: str | None) -> None:
    assert last_line(text) == line


def test_public_shapes() -> None:
    skipped = public(Run(T0, "scheduled", 2, None, "skipped"), "would-be-id")
    assert skipped["job_id"] is None and skipped["enqueued_at"] is None and skipped["status"] == "skipped"
    assert public(Missed("paused", T0, T0, 1), None) == {
        "kind": "missed", "status": "missed", "first_fire_time": "2026-01-01T00:00:00+00:00",
        "last_fire_time": "2026-01-01T00:00:00+00:00", "count": 1, "reason": "paused"}  # fmt: skip


def every(seconds: float, **fields: object) -> Schedule:
    return validate(Schedule(id="s", func="m.f", every=seconds, start=datetime(2026, 1, 1, tzinfo=UTC),
                             **fields))  # type: ignore[arg-type]  # fmt: skip


def cron(expr: str, **fields: object) -> Schedule:
    return validate(Schedule(id="c", func="m.f", cron=expr, **fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("s", "state", "now", "expected"),
    [
        (every(60), State(T0), T0 + 150 * S, Missed("paused", T0, T0 + 120 * S, 3)),
        (every(60), State(T0), T0 + 120 * S, Missed("paused", T0, T0 + 60 * S, 2)),  # 120 s is "now"
        (every(60), State(T0 + 60 * S), T0 + 30 * S, None),  # nothing fell due
        (every(60, repeat=5), State(T0, 4), T0 + 600 * S, Missed("paused", T0, T0, 1)),
        (every(60, repeat=5), State(T0, 5), T0 + 600 * S, None),
        (every(60), State(None), T0 + 600 * S, None),
        (cron("0 * * * *"), State(T0), T0 + 3 * 3600 * S, Missed("paused", T0, T0 + 2 * 3600 * S, 3)),
    ],
)
def test_the_fires_a_pause_missed(s: Schedule, state: State, now: int, expected: Missed | None) -> None:
    assert paused_stretch(s, state, now) == expected


def test_a_resume_writes_the_paused_stretch_and_nothing_else_does() -> None:
    paused = every(60, paused=True)
    resumed = plan_write(every(60), T0 + 150 * S, paused, State(T0))
    assert resumed.missed == Missed("paused", T0, T0 + 120 * S, 3)
    assert plan_write(every(60, description="x"), T0 + 150 * S, every(60), State(T0)).missed is None
    assert plan_write(every(60, paused=True), T0 + 150 * S, every(60), State(T0)).missed is None


@pytest.mark.parametrize(
    ("catchup", "window", "now", "stretches"),
    [
        ("skip", 86400.0, T0 + 185 * S, (Missed("catchup_policy", T0, T0 + 180 * S, 4),)),
        ("latest", 86400.0, T0 + 185 * S, (Missed("catchup_policy", T0, T0 + 120 * S, 3),)),
        ("all", 86400.0, T0 + 185 * S, ()),
        ("all", 100.0, T0 + 185 * S, (Missed("catchup_window", T0, T0 + 60 * S, 2),)),
        ("latest", 100.0, T0 + 185 * S,
         (Missed("catchup_window", T0, T0 + 60 * S, 2),
          Missed("catchup_policy", T0 + 120 * S, T0 + 120 * S, 1))),
    ],
)  # fmt: skip
def test_the_planner_says_which_fires_it_missed_and_why(
    catchup: str, window: float, now: int, stretches: tuple[Missed, ...]
) -> None:
    p = plan(every(60, catchup=catchup, catchup_window=window), State(T0), now)
    assert p.stretches == stretches
    assert p.missed == sum(m.count for m in stretches)
