"""The UI mounted under /scheduler of a FastAPI app (examples/fastapi_mount.py, served by a real
uvicorn process): every link, asset and form of every page stays under the prefix and works."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import wait_for
from redis import Redis
from redis_server import RedisServer, free_port
from web_helpers import TOKEN, Form, Page

from hasched import Scheduler

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PREFIX = "/scheduler"


@pytest.fixture()
def example_app(redis_server: RedisServer, redis: Redis) -> Iterator[str]:
    s = Scheduler(redis)
    s.every("poll", 3600, "jobs.record", description="polls")
    s.cron("nightly", "0 3 * * *", "jobs.record", timezone="Europe/Paris")
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "REDIS_URL": redis_server.url, "HASCHED_WEB_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "fastapi_mount:app", "--app-dir", str(EXAMPLES),
         "--port", str(port), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), timeout=20)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(base: str) -> bool:
    try:
        return httpx.get(base + "/").status_code == 200
    except httpx.TransportError:
        return False


def test_every_link_and_form_works_under_the_mount_path(example_app: str, redis: Redis) -> None:
    with httpx.Client(base_url=example_app) as c:
        assert (
            c.get(f"{PREFIX}/", headers={"accept": "text/html"})
            .headers["location"]
            .startswith(f"{PREFIX}/login?next=")
        )
        login = Page(c.get(f"{PREFIX}/login").text).forms[0]
        assert login.action == f"{PREFIX}/login"
        signed = c.post(login.action, data={**login.fields, "token": TOKEN})
        assert signed.headers["location"] == f"{PREFIX}/"
        forms = _crawl(c)
        assert {f.action for f in forms} >= {f"{PREFIX}/schedules/poll/{a}" for a in ("pause", "trigger")}
        pause = next(f for f in forms if f.action == f"{PREFIX}/schedules/poll/pause")
        done = c.post(pause.action, data=pause.fields)
        assert done.status_code == 303 and done.headers["location"].startswith(f"{PREFIX}/schedules/poll?")
        assert Scheduler(redis).get("poll").paused is True
        resume = next(
            f for f in Page(c.get(done.headers["location"]).text).forms if f.action.endswith("/resume")
        )
        assert c.post(resume.action, data=resume.fields).status_code == 303
        assert Scheduler(redis).get("poll").paused is False
        delete = Page(c.get(f"{PREFIX}/schedules/nightly/delete").text).forms[-1]
        gone = c.post(delete.action, data=delete.fields)
        assert (
            gone.headers["location"].startswith(f"{PREFIX}/?") and c.get(gone.headers["location"]).is_success
        )
        logout = Page(c.get(f"{PREFIX}/").text).forms[0]
        assert logout.action == f"{PREFIX}/logout"
        assert c.post(logout.action, data=logout.fields).headers["location"] == f"{PREFIX}/login"
        assert c.get(f"{PREFIX}/").status_code == 401


def _crawl(c: httpx.Client) -> list[Form]:
    """Visit every page reachable from the list; each link and asset is under the prefix and
    answers; GET forms are submitted too. Returns the POST forms seen."""
    seen: set[str] = set()
    todo = [f"{PREFIX}/"]
    posts = []
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        resp = c.get(url)
        assert resp.status_code == 200, url
        if "text/html" not in resp.headers["content-type"]:
            continue
        page = Page(resp.text)
        for link in [*page.links, *page.assets]:
            assert link.startswith(f"{PREFIX}/"), (url, link)
            todo.append(link)
        for form in page.forms:
            assert form.action.startswith(f"{PREFIX}/"), (url, form.action)
            if form.method == "get":
                todo.append(str(httpx.URL(form.action, params=form.fields)))
            else:
                posts.append(form)
    assert len(seen) >= 6, seen
    return posts
