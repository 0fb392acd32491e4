"""The Schedules page reads a whole page in a few round trips, and a filter that matches few
schedules stops reading in time and pages on from where it stopped."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis import Redis
from web_helpers import Page

from hasched import Scheduler
from hasched._query import Query, page
from hasched._store import Store
from hasched.web import _data, create_app
from hasched.web._data import Data, ListQuery


def test_a_page_describes_each_row_as_describe_does(redis: Redis) -> None:
    s = Scheduler(redis)
    s.every("a-every", 60, "jobs.record", args=["x"], description="every minute")
    s.cron("b-cron", "0 3 * * *", "jobs.record", timezone="Europe/Paris")
    s.trigger("b-cron")
    s.cron("c-paused", "*/5 * * * *", "jobs.record")
    s.pause("c-paused", note="disk full, back monday")
    rows = Data(redis, "hasched").page(ListQuery()).rows
    assert [r.id for r in rows] == ["a-every", "b-cron", "c-paused"]
    for row in rows:
        expected = {**s.describe(row.id), "upcoming": []}  # the list does not compute them
        assert row.described == expected
    assert rows[1].recent and rows[1].last is not None and rows[1].last["kind"] == "trigger"
    assert rows[2].pause_note == "disk full, back monday"


def test_reading_stops_at_the_deadline_after_one_chunk_at_least(redis: Redis) -> None:
    store = Store(redis, "hasched")
    s = Scheduler(redis)
    for i in range(250):
        s.every(f"job-{i:03d}", 3600, "jobs.record")
    q = Query(match="*nightly*", limit=51)
    stopped = page(store, q, until=0.0)  # long past: one chunk, then stop
    assert stopped.found == [] and stopped.resume_after == "job-203"  # a chunk is 4 x 51 ids
    rest = page(store, Query(match="*nightly*", limit=51, after=stopped.resume_after), until=0.0)
    assert rest.found == [] and rest.resume_after is None  # the index ended inside that chunk
    assert page(store, q).resume_after is None  # no deadline: reads to the end


def test_the_page_says_where_it_stopped_and_searches_on(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = Scheduler(redis)
    for i in range(450):
        s.every(f"job-{i:03d}", 3600, "jobs.record")
    s.every("zz-nightly-report", 3600, "jobs.record")
    monkeypatch.setattr(_data, "READ_FOR", -1.0)  # every page stops after its first chunk
    transport = httpx.ASGITransport(app=create_app(redis))
    seen: list[str] = []

    async def walk() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://ui") as client:
            url = "/?q=nightly"
            while url:
                html = (await client.get(url)).text
                seen.append(html)
                nxt = [a for a in Page(html).links if "after=" in a]
                url = nxt[0] if nxt else ""

    asyncio.run(walk())
    assert len(seen) == 3  # 204 ids a page: job-203, job-407, then the end
    assert "No match among the ids up to <code>job-203</code>" in seen[0] and "Search on" in seen[0]
    assert "zz-nightly-report" not in seen[0] + seen[1]
    assert "zz-nightly-report" in seen[2] and "Search on" not in seen[2]
