"""What makes hasched cheap at scale, checked for what it must keep: compact records that every
reader reads as before, progress for long bulk writes, and a command line that imports only what
a command needs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import timedelta

import jobs
import pytest
import rq_scheduler
from helpers import redis_now
from redis import Redis
from redis_server import RedisServer

from hasched import Scheduler
from hasched._codec import to_dict
from hasched._model import Schedule
from hasched._plan import State
from hasched._progress import ProgressBar
from hasched._records import decode_state, encode_state
from hasched._store import Store
from hasched.api import make
from hasched.compat._migrate import import_rq_scheduler

NS = "scale"


@pytest.mark.parametrize("state", [State(None), State(None, 3), State(1_800_000_000_000_000), State(17, 2)])
def test_the_progress_record_is_json_and_reads_back(state: State) -> None:
    text = encode_state(state)
    data = {"next": state.next_us, "n": state.n}
    if state.n == 0:
        del data["n"]  # left out while 0
    assert text == json.dumps(data, separators=(",", ":"))
    assert decode_state(text) == state


def test_records_written_by_an_older_hasched_are_read_and_kept(redis: Redis) -> None:
    # Before the compact records every field was stored, and the count of fires always: such a
    # schedule reads back the same, and a re-declare over it keeps its progress.
    api, store = Scheduler(redis, NS), Store(redis, NS)
    s = make(id="old", func="jobs.add", every=60, start=redis_now(redis) - timedelta(seconds=90), args=[1])
    api.add(s)
    redis.hset(store.keys.defs, "old", json.dumps({"v": 1, **to_dict(s)}, separators=(",", ":")))
    nxt = store.get_stored("old").state.next_us
    redis.hset(store.keys.state, "old", json.dumps({"next": nxt, "n": 4}))
    assert api.get("old") == s
    api.add_many([s.with_changes(description="now compact")])  # the same fire times
    assert store.get_stored("old").state == State(nxt, 4)
    assert "catchup" not in json.loads(redis.hget(store.keys.defs, "old") or b"{}")


def test_add_many_names_a_payload_that_is_not_json_and_writes_nothing(redis: Redis) -> None:
    good = make(id="good", func="jobs.add", every=60)
    bad = Schedule(id="bad", func="jobs.add", every=60, kwargs={"x": {1, 2}})
    with pytest.raises(ValueError) as info:
        Scheduler(redis, NS).add_many([good, bad])
    assert "kwargs" in str(info.value) and "bad" in str(info.value)
    assert redis.hlen(Store(redis, NS).keys.defs) == 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_draws_on_a_terminal_only() -> None:
    term, pipe = Terminal(), io.StringIO()
    for stream in (term, pipe):
        with ProgressBar("syncing", stream, min_total=10) as bar:
            for done in (5, 10):
                bar(done, 10)
    assert pipe.getvalue() == ""
    assert term.getvalue().startswith("\rsyncing [")
    assert term.getvalue().endswith("] 10/10 (0.0 s)\n")
    small = Terminal()
    with ProgressBar("syncing", small, min_total=100) as bar:
        bar(10, 10)  # too few to be worth a bar
    assert small.getvalue() == ""


def test_the_import_writes_through_add_many_with_progress(redis: Redis) -> None:
    rqs = rq_scheduler.Scheduler(connection=redis)
    later = (redis_now(redis) + timedelta(hours=1)).replace(tzinfo=None)
    for i in range(25):
        rqs.schedule(later, jobs.record, args=[i], interval=60, id=f"job-{i}")
    rqs.enqueue_at(later, jobs.record, {1}, job_id="not-json")  # skipped, the others go on
    calls: list[tuple[int, int]] = []
    report = import_rq_scheduler(redis, Scheduler(redis, NS), dry_run=False, remove_source=True,
                                 progress=lambda *a: calls.append(a))  # fmt: skip
    assert len(report.created) == 25 and [s.rq_job_id for s in report.skipped] == ["not-json"]
    assert calls == [(25, 25)]
    assert len(Scheduler(redis, NS).list()) == 25
    assert sorted(report.removed) == sorted(f"job-{i}" for i in range(25))
    assert [j.id for j in rqs.get_jobs()] == ["not-json"]


def test_an_unreadable_job_hash_is_skipped_and_the_rest_of_its_batch_imported(redis: Redis) -> None:
    rqs = rq_scheduler.Scheduler(connection=redis)
    later = (redis_now(redis) + timedelta(hours=1)).replace(tzinfo=None)
    made = [rqs.schedule(later, jobs.record, args=[i], interval=60, id=f"job-{i}") for i in range(3)]
    redis.hset(made[1].key, "created_at", "not a date")  # RQ cannot restore this hash
    report = import_rq_scheduler(redis, Scheduler(redis, NS), dry_run=False, remove_source=False)
    assert [c.rq_job_id for c in report.created] == ["job-0", "job-2"]
    assert [(s.rq_job_id, "cannot be read" in s.reason) for s in report.skipped] == [("job-1", True)]


@pytest.mark.parametrize(
    ("argv", "loaded"),
    [(["--help"], []), (["status"], ["redis"]), (["schedule", "list"], ["redis"])],
)
def test_a_command_imports_only_what_it_needs(
    argv: list[str], loaded: list[str], redis_server: RedisServer
) -> None:
    args = argv if argv == ["--help"] else [*argv, "--redis-url", redis_server.url]
    code = (
        "import contextlib, io, sys\n"
        "from hasched.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({args!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('redis', 'rq', 'croniter', 'structlog', 'prometheus_client')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.replace("'", '"')) == loaded


def test_a_chunk_that_records_more_than_schedules_is_written_with_it(redis: Redis) -> None:
    # resuming a paused schedule drops its pause note: that chunk goes in one MULTI, the others
    # are sent ahead (hasched._pipelined); all land
    api = Scheduler(redis, NS)
    paused = make(id="s0", func="jobs.add", every=60, paused=True)
    api.add(paused)
    api.pause("s0", note="maintenance")
    assert api.describe("s0")["pause_note"] == "maintenance"
    more = [make(id=f"s{i}", func="jobs.add", every=60) for i in range(1, 5)]
    assert api.add_many([paused.with_changes(paused=False), *more], chunk=2) == 5
    assert api.describe("s0")["pause_note"] is None and not api.get("s0").paused
    assert [s.id for s in api.list()] == [f"s{i}" for i in range(5)]


def test_a_failing_progress_callback_leaves_the_connections_usable(redis: Redis) -> None:
    api = Scheduler(redis, NS)

    def stop(done: int, total: int) -> None:
        raise RuntimeError("stop")  # while the next chunk is in flight

    with pytest.raises(RuntimeError):
        api.add_many([make(id=f"s{i}", func="jobs.add", every=60) for i in range(6)], chunk=2, progress=stop)
    assert api.add_many([make(id="after", func="jobs.add", every=60)]) == 1
    assert {s.id for s in api.list()} >= {"s0", "s1", "after"}
