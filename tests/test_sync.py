"""Declarative schedule files: `hasched sync` and `hasched run --schedules`."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cluster import BIN, ClusterFactory
from helpers import ledger, run_cli, wait_for
from hypothesis import given, settings
from hypothesis import strategies as st
from redis import Redis
from redis_server import RedisServer

from hasched import Scheduler
from hasched._store import Store
from hasched._sync import load_file, parse_tables, plan_sync, sync_file
from hasched._triggers import from_us
from hasched.errors import HaschedError

NS = "sy"
FILE = """
[[schedule]]
id = "nightly"
func = "app.tasks.report"
cron = "0 3 * * *"
timezone = "Europe/Paris"
kwargs = { fmt = "pdf" }

[[schedule]]
id = "poll"
func = "app.tasks.poll"
every = 60.0
start = 2026-01-01T00:00:00Z
catchup = "all"
"""


def write(tmp_path: Path, text: str, name: str = "schedules.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def revisions(redis: Redis) -> dict[bytes, bytes]:
    return dict(redis.hgetall(Store(redis, NS).keys.rev))


def test_sync_creates_then_an_unchanged_file_writes_nothing(redis: Redis, tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    store = Store(redis, NS)
    first = sync_file(store, path)
    assert sorted(s.id for s in first.create) == ["nightly", "poll"]
    before, state = revisions(redis), store.get_stored("poll").state
    again = sync_file(store, path)
    assert (again.create, again.change, again.unchanged) == ([], [], 2)
    assert revisions(redis) == before and store.get_stored("poll").state == state
    assert store.get_stored("nightly").schedule.source == "file"


def test_dry_run_writes_nothing_and_says_what_it_would_do(redis: Redis, tmp_path: Path) -> None:
    plan = sync_file(Store(redis, NS), write(tmp_path, FILE), dry_run=True)
    assert plan.lines(dry_run=True) == ["would create nightly", "would create poll", "unchanged 0"]
    assert redis.keys("*") == []


def test_changed_fields_are_named_and_trigger_changes_apply_from_the_next_fire(
    redis: Redis, tmp_path: Path
) -> None:
    store = Store(redis, NS)
    sync_file(store, write(tmp_path, FILE))
    poll_state = store.get_stored("poll").state
    changed = FILE.replace('kwargs = { fmt = "pdf" }', 'kwargs = { fmt = "csv" }').replace(
        'cron = "0 3 * * *"', 'cron = "0 4 * * *"'
    )
    plan = sync_file(store, write(tmp_path, changed))
    assert [(s.id, fields) for s, fields in plan.change] == [("nightly", ["cron", "kwargs"])]
    nightly = store.get_stored("nightly")
    assert nightly.state.next_us is not None
    next_fire = from_us(nightly.state.next_us).astimezone(ZoneInfo("Europe/Paris"))
    assert (next_fire.hour, next_fire.minute) == (4, 0)  # the new trigger, from its next fire
    assert store.get_stored("poll").state == poll_state  # untouched schedule keeps its progress


def test_prune_removes_only_file_schedules_unless_asked(redis: Redis, tmp_path: Path) -> None:
    store = Store(redis, NS)
    Scheduler(redis, NS).every("from-api", 30, "app.tasks.api")
    sync_file(store, write(tmp_path, FILE))
    only_poll = FILE.split("[[schedule]]")[2]
    plan = sync_file(store, write(tmp_path, "[[schedule]]" + only_poll), prune=True)
    assert plan.remove == ["nightly"]
    assert sorted(s.id for s in Scheduler(redis, NS).list()) == ["from-api", "poll"]
    plan = sync_file(store, write(tmp_path, "[[schedule]]" + only_poll), prune_all=True)
    assert plan.remove == ["from-api"]


def test_bad_files_are_refused_naming_the_field(
    tmp_path: Path, redis_server: RedisServer, redis: Redis
) -> None:
    cases = {
        'id = "x"\nfunc = "a.b"\ncron = "61 * * * *"': 'error: schedule "x": cron: bad minute field "61"',
        'id = "x"\nfunc = "a.b"\nevery = 1\nstart = 2026-01-01T00:00:00': (
            'schedule "x": start: must be timezone-aware'
        ),
        'id = "x"\nfunc = "a.b"\nevery = 1\ncolour = "red"': 'schedule "x": colour: unknown field',
        'id = "x"\nfunc = "nodots"\nevery = 1': 'schedule "x": func: must be a dotted path',
        'id = "x"\nfunc = "a.b"\nevery = 1\n[[schedule]]\nid = "x"\nfunc = "a.b"\nevery = 2': (
            'schedule "x": id: appears twice'
        ),
    }  # fmt: skip
    for body, message in cases.items():
        path = write(tmp_path, "[[schedule]]\n" + body)
        result = run_cli("sync", str(path), "--namespace", NS, redis_url=redis_server.url)
        assert result.returncode == 2, (body, result.stderr)
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert redis.keys("*") == []  # nothing was written


def test_not_toml_is_a_clear_error(tmp_path: Path, redis_server: RedisServer) -> None:
    path = write(tmp_path, "[[schedule]\nid=")
    result = run_cli("sync", str(path), "--namespace", NS, redis_url=redis_server.url)
    assert result.returncode == 2 and result.stderr.startswith("error: file: ")


def test_several_instances_syncing_at_once_is_safe(
    redis_server: RedisServer, redis: Redis, tmp_path: Path
) -> None:
    many = "".join(
        f'[[schedule]]\nid = "s{i}"\nfunc = "app.t.f"\nevery = {i + 1}\nstart = 2026-01-01T00:00:00Z\n'
        for i in range(50)
    )
    path = write(tmp_path, many)
    cmd = [str(BIN / "hasched"), "sync", str(path), "--redis-url", redis_server.url, "--namespace", NS]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], results
    store = Store(redis_server.client(), NS)
    assert plan_sync(store, load_file(path), prune=True).lines(dry_run=True) == ["unchanged 50"]


def test_run_with_a_schedules_file_syncs_at_start(
    cluster_factory: ClusterFactory, redis: Redis, tmp_path: Path
) -> None:
    path = write(tmp_path, '[[schedule]]\nid = "tick"\nfunc = "jobs.record"\ncron = "* * * * * *"\n')
    c = cluster_factory(namespace=NS)
    c.start_instance("a", extra_args=("--schedules", str(path)))
    c.start_worker()
    wait_for(lambda: ledger(redis), timeout=15)
    assert {e["schedule_id"] for e in ledger(redis)} == {"tick"}
    assert [e["event"] for e in c.instances["a"].events()].count("hasched.sync.applied") == 1


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=8)  # fmt: skip
field_names = st.sampled_from(
    ["id", "func", "cron", "every", "at", "args", "kwargs", "queue", "repeat", "start", "end", "jitter",
     "catchup", "timezone", "overlap", "meta", "x"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["schedule", "other"]), st.lists(
    st.dictionaries(field_names, values, max_size=8), max_size=3) | values, max_size=2))  # fmt: skip
def test_fuzzed_files_raise_only_hasched_errors(data: dict[str, Any]) -> None:
    with contextlib.suppress(HaschedError):  # anything else fails the test
        parse_tables(data)


def test_files_are_bounded() -> None:
    too_many = {"schedule": [{"id": f"s{i}", "func": "a.b", "every": 1.0} for i in range(10_001)]}
    try:
        parse_tables(too_many)
    except HaschedError as e:
        assert "more than 10000" in str(e)
    else:
        raise AssertionError("a file with 10,001 schedules was accepted")


def test_sighup_re_reads_the_schedules_file(
    cluster_factory: ClusterFactory, redis: Redis, tmp_path: Path
) -> None:
    one = '[[schedule]]\nid = "a"\nfunc = "app.t.f"\nevery = 60.0\nstart = 2026-01-01T00:00:00Z\n'
    path = write(tmp_path, one)
    c = cluster_factory(namespace=NS)
    proc = c.start_instance("h", extra_args=("--schedules", str(path)))
    wait_for(lambda: redis.hexists("{sy}:defs", "a"), timeout=10)
    write(tmp_path, one + one.replace('id = "a"', 'id = "b"'))
    proc.signal(signal.SIGHUP)
    wait_for(lambda: redis.hexists("{sy}:defs", "b"), timeout=10)
    write(tmp_path, "[[schedule]]\nid = 'c'\nfunc = 'nodots'\nevery = 1.0\n")
    proc.signal(signal.SIGHUP)
    wait_for(lambda: [e for e in proc.events() if e["event"] == "hasched.sync.invalid"], timeout=10)
    assert proc.alive() and not redis.hexists("{sy}:defs", "c")
    applied = [e for e in proc.events() if e["event"] == "hasched.sync.applied"]
    assert [(e["created"], e["unchanged"]) for e in applied] == [(1, 0), (1, 1)]
