"""Recent leadership changes: every lease grant is logged by acquire.lua in the same atomic step,
read back by `status()` (and `hasched status --json`) and shown on the web UI's Cluster page."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
from cluster import ClusterFactory
from helpers import run_cli
from redis import Redis
from redis_server import RedisServer
from web_helpers import TOKEN, Served

from hasched._keys import LEADERS_KEPT
from hasched._lease import Lease
from hasched._status import status
from hasched._store import Store
from hasched.web import create_app


def test_a_killed_leader_and_its_successor_are_both_listed(
    cluster_factory: ClusterFactory, redis: Redis, redis_server: RedisServer
) -> None:
    c = cluster_factory()
    for name in ("a", "b"):
        c.start_instance(name)
    first, first_epoch = c.wait_leader()
    c.instances[first].kill()  # SIGKILL: no release, the lease runs out
    second, second_epoch = c.wait_leader(exclude=first)

    changes = status(Store(redis, "hasched"))["leadership_changes"]
    assert [(x["instance"], x["epoch"]) for x in changes] == [(second, second_epoch), (first, first_epoch)]
    assert second_epoch > first_epoch
    assert datetime.fromisoformat(changes[0]["at"]) > datetime.fromisoformat(changes[1]["at"])

    printed = json.loads(run_cli("status", "--json", redis_url=redis_server.url).stdout)
    assert printed["leadership_changes"] == changes

    with Served(create_app(redis, token=TOKEN)) as served:
        page = httpx.get(f"{served.url}/cluster", headers={"Authorization": f"Bearer {TOKEN}"}).text
    table = page[page.index('id="leadership"') :]
    rows = table[: table.index("</table>")].split("<tr>")[2:]  # after the header row
    assert len(rows) == 2
    assert f"<code>{second}</code>" in rows[0] and f"<td>{second_epoch}</td>" in rows[0]
    assert "leads now" in rows[0]
    assert f"<code>{first}</code>" in rows[1] and f"<td>{first_epoch}</td>" in rows[1]


def test_the_log_keeps_the_newest_grants_and_no_refusals(redis: Redis) -> None:
    store = Store(redis, "ns")
    for _ in range(LEADERS_KEPT + 5):
        lease = Lease(store.scripts, "host|with|bars", 10)
        assert lease.try_acquire()
        assert lease.release()
    holder = Lease(store.scripts, "holder", 10)
    assert holder.try_acquire()
    assert not Lease(store.scripts, "other", 10).try_acquire()  # refused: not logged

    changes = status(store)["leadership_changes"]
    assert len(changes) == LEADERS_KEPT
    assert (changes[0]["instance"], changes[0]["epoch"]) == ("holder", LEADERS_KEPT + 6)
    assert {x["instance"] for x in changes[1:]} == {"host|with|bars"}
    assert [x["epoch"] for x in changes] == list(range(LEADERS_KEPT + 6, 6, -1))
    assert redis.llen(store.keys.leaders) == LEADERS_KEPT
