"""The web UI shows a schedule's overlap policy and its waiting runs (its own file: the RQ 2.0
test target runs the overlap tests without the web extra)."""

from __future__ import annotations

import httpx
from redis import Redis
from test_overlap_commit import NS, SEC, three_due
from web_helpers import Served

from hasched.web import create_app


def test_the_web_ui_shows_the_policy_and_a_waiting_run(redis: Redis) -> None:
    _, _, lease, ticker, _, start = three_due(redis, "buffer_all")
    ticker.tick(lease.value, lease.epoch, start + 2 * SEC + SEC // 2)
    with Served(create_app(redis, namespace=NS)) as served, httpx.Client(base_url=served.url) as c:
        html = c.get("/schedules/s", headers={"accept": "text/html"}).text
    assert "buffer_all" in html
    assert "st-waiting" in html
