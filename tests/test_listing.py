"""Listing schedules: the id index, paging with `after`/`limit`, the filters, and the rebuild of
the index for a namespace written before it existed. Real Redis throughout."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis
from redis_server import RedisServer

from hasched import Scheduler
from hasched._query import Query, page
from hasched._store import Store
from hasched._sync import sync_file
from hasched.errors import ValidationError

NS = "ls"
PAST = datetime(2020, 1, 1, tzinfo=UTC)
ID_CHARS = "AZaz09_-"  # the extremes of each character class an id may use


def index(redis: Redis, ns: str = NS) -> list[str]:
    return [i.decode() for i in redis.zrangebylex(Store(redis, ns).keys.ids, "-", "+")]


def stored_ids(redis: Redis, ns: str = NS) -> list[str]:
    return sorted(i.decode() for i in redis.hkeys(Store(redis, ns).keys.defs))


def add(s: Scheduler, sid: str, **options: object) -> None:
    s.every(sid, 60, "app.tasks.poll", **options)  # type: ignore[arg-type]


def all_pages(s: Scheduler, limit: int, **filters: object) -> list[list[str]]:
    pages: list[list[str]] = []
    after = None
    while page := [x.id for x in s.list(limit=limit, after=after, **filters)]:  # type: ignore[arg-type]
        assert len(page) <= limit
        pages.append(page)
        after = page[-1]
    return pages


def test_pages_visit_every_id_once_in_id_order(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    ids = [f"{c}{n}" for c in ID_CHARS for n in (0, 1, 10, 9, "_x", "-y")] + ["a", "A", "-", "_"]
    for sid in ids:
        add(s, sid)
    pages = all_pages(s, 7)
    flat = [sid for p in pages for sid in p]
    assert flat == sorted(ids)  # byte order: '-' < digits < upper < '_' < lower
    assert [len(p) for p in pages[:-1]] == [7] * (len(pages) - 1)
    assert [x.id for x in s.list()] == sorted(ids)  # no arguments: everything, as before


def test_after_an_id_that_does_not_exist_starts_at_the_next_one(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    for sid in ("b", "d", "f"):
        add(s, sid)
    assert [x.id for x in s.list(after="c")] == ["d", "f"]
    assert [x.id for x in s.list(after="f")] == []
    assert [x.id for x in s.list(after="", limit=1)] == ["b"]


def test_filters_by_glob_queue_and_state(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    add(s, "report-1", queue="low")
    add(s, "report-2")
    add(s, "report-3", paused=True)
    add(s, "sync-1", queue="low")
    add(s, "old", start=PAST, end=PAST + timedelta(hours=1))  # no fire left
    ids = lambda **f: [x.id for x in s.list(**f)]  # noqa: E731
    assert ids(match="report-*") == ["report-1", "report-2", "report-3"]
    assert ids(match="*-1") == ["report-1", "sync-1"]
    assert ids(match="report-[13]") == ["report-1", "report-3"]
    assert ids(match="Report-*") == []  # ids are case-sensitive
    assert ids(queue="low") == ["report-1", "sync-1"]
    assert ids(state="paused") == ["report-3"]
    assert ids(state="finished") == ["old"]
    assert ids(state="active") == ["report-1", "report-2", "sync-1"]
    assert ids(match="report-*", queue="default", state="active") == ["report-2"]
    assert ids(match="report-*", after="report-1", limit=1) == ["report-2"]


def test_failing_reads_the_latest_run_status(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    for sid in ("a", "b", "c"):
        add(s, sid)
    assert s.list(state="failing") == []  # no run known yet
    keys = Store(redis, NS).keys

    def failure(at: str) -> str:  # as the tracker writes it
        return json.dumps({"time": at, "error": "RuntimeError: boom", "job_id": "j"})

    t1, t2 = "2026-01-01T00:00:00+00:00", "2026-01-01T00:01:00+00:00"
    t1_us, t2_us = 1_767_225_600_000_000, 1_767_225_660_000_000
    redis.hset(keys.stats("a"), mapping={"last_success": t1_us, "last_failure": failure(t2)})
    redis.hset(keys.stats("b"), mapping={"last_success": t2_us, "last_failure": failure(t1)})
    redis.hset(keys.stats("c"), mapping={"last_success": t1_us})
    redis.hset(keys.stats("gone"), mapping={"last_failure": failure(t1)})
    assert [x.id for x in s.list(state="failing")] == ["a"]


def test_filtered_pages_stop_at_the_limit_and_lose_nothing(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    for n in range(600):
        add(s, f"s{n:04d}", queue="odd" if n % 7 == 3 else "default")
    want = [f"s{n:04d}" for n in range(600) if n % 7 == 3]
    pages = all_pages(s, 5, queue="odd")
    assert [sid for p in pages for sid in p] == want
    assert [len(p) for p in pages] == [5] * (len(want) // 5) + ([len(want) % 5] if len(want) % 5 else [])


def test_bad_arguments_are_named(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    for kwargs, field in (({"state": "broken"}, "state"), ({"limit": 0}, "limit"), ({"limit": True}, "limit"),
                          ({"after": 3}, "after"), ({"match": b"x*"}, "match")):  # fmt: skip
        with pytest.raises(ValidationError) as err:
            s.list(**kwargs)  # type: ignore[arg-type]
        assert err.value.field == field


def test_the_index_follows_create_replace_pause_delete_and_prune(redis: Redis, tmp_path: Path) -> None:
    s = Scheduler(redis, NS)
    for sid in ("x", "y", "z"):
        add(s, sid)
    add(s, "y", queue="other")  # replace
    s.pause("x")
    s.update("z", cron="0 3 * * *")
    assert index(redis) == stored_ids(redis) == ["x", "y", "z"]
    assert s.cancel("y") and not s.cancel("y")
    assert index(redis) == stored_ids(redis) == ["x", "z"]
    (tmp_path / "s.toml").write_text('[[schedule]]\nid = "f1"\nfunc = "a.b"\nevery = 5.0\n'
                                     '[[schedule]]\nid = "f2"\nfunc = "a.b"\nevery = 5.0\n')  # fmt: skip
    store = Store(redis, NS)
    sync_file(store, tmp_path / "s.toml")
    assert index(redis) == ["f1", "f2", "x", "z"]
    (tmp_path / "s.toml").write_text('[[schedule]]\nid = "f2"\nfunc = "a.b"\nevery = 5.0\n')
    sync_file(store, tmp_path / "s.toml", prune=True)
    assert index(redis) == stored_ids(redis) == ["f2", "x", "z"]
    sync_file(store, tmp_path / "s.toml", prune_all=True)
    assert index(redis) == stored_ids(redis) == ["f2"]


def test_a_namespace_without_the_index_is_indexed_by_its_first_listing(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    ids = [f"old-{n:03d}" for n in range(250)]
    for sid in ids:
        add(s, sid)
    keys = Store(redis, NS).keys
    redis.delete(keys.ids)  # as written by a hasched from before the index
    assert [x.id for x in s.list(limit=3)] == ids[:3]
    assert index(redis) == ids
    # an older version still writing: a schedule missing from the index, a deleted one left in it
    redis.zrem(keys.ids, "old-100")
    redis.zadd(keys.ids, {"ghost": 0})
    redis.zadd(keys.ids, {"ghost-2": 0})
    assert [x.id for x in s.list(match="old-1*", limit=2)] == ["old-100", "old-101"]
    assert index(redis) == ids
    assert Store(redis, NS).ensure_index() == 0  # in line: nothing rewritten


def test_an_unreadable_record_is_reported_and_skipped(redis: Redis) -> None:
    s = Scheduler(redis, NS)
    for sid in ("a", "b", "c"):
        add(s, sid)
    store = Store(redis, NS)
    redis.hset(store.keys.defs, "b", "{not json")
    got = page(store, Query(limit=2))
    assert [x.schedule.id for x in got.found] == ["a", "c"]
    assert [e.schedule_id for e in got.bad] == ["b"]
    filtered = page(store, Query(queue="default", match="[bc]"))  # no filter can judge it: reported
    assert (filtered.found, [e.schedule_id for e in filtered.bad]) == ([store.get_stored("c")], ["b"])


ID = st.text(alphabet="ab-_Z9", min_size=1, max_size=4)
GLOB = st.one_of(st.none(), st.builds(lambda p, t: p + t, st.text(alphabet="ab-", max_size=2),
                                      st.sampled_from(["*", "?", "*b", "[ab]*", ""])))  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.sets(ID, max_size=25), match=GLOB, after=st.one_of(st.none(), ID),
       limit=st.one_of(st.none(), st.integers(1, 6)))  # fmt: skip
def test_a_page_is_the_slice_of_the_sorted_ids_it_describes(
    redis_server: RedisServer, ids: set[str], match: str | None, after: str | None, limit: int | None
) -> None:
    ns = f"prop-{uuid.uuid4().hex[:8]}"
    client = redis_server.client()
    s = Scheduler(client, ns)
    for sid in ids:
        add(s, sid)
    want = [
        i for i in sorted(ids) if (after is None or i > after) and (match is None or fnmatchcase(i, match))
    ]
    assert [x.id for x in s.list(match=match, after=after, limit=limit)] == want[:limit]
    client.close()
