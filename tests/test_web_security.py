"""The web UI's access rules over plain HTTP: a real uvicorn serving the real app on real Redis."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from helpers import run_cli, wait_for
from redis import Redis
from redis_server import free_port
from web_helpers import TOKEN, Page, Served

from hasched import Scheduler
from hasched.web import create_app

XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


@pytest.fixture()
def served(redis: Redis) -> Iterator[Served]:
    Scheduler(redis).every("poll", 3600, "jobs.record")
    with Served(create_app(redis, token=TOKEN)) as s:
        yield s


@contextmanager
def signed_in(served: Served) -> Iterator[httpx.Client]:
    """A client that signed in through the form, as a browser does (session and CSRF cookies)."""
    with httpx.Client(base_url=served.url) as client:
        form = Page(client.get("/login").text).forms[0]
        resp = client.post("/login", data={**form.fields, "token": TOKEN, "next": "/cluster"})
        assert resp.status_code == 303 and resp.headers["location"] == "/cluster"
        yield client


def test_without_the_token_a_browser_is_sent_to_sign_in_and_an_api_client_gets_401(served: Served) -> None:
    with httpx.Client(base_url=served.url) as c:
        page = c.get("/schedules/poll", headers={"accept": "text/html"})
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Fschedules%2Fpoll"
        api = c.get("/schedules/poll")
        assert api.status_code == 401 and api.headers["www-authenticate"].startswith("Bearer")
        assert c.get("/cluster", headers={"authorization": "Bearer nope"}).status_code == 401
        assert c.post("/schedules/poll/pause").status_code == 401
        ok = c.get("/schedules/poll", headers={"authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and "jobs.record" in ok.text


def test_a_wrong_token_does_not_sign_in(served: Served) -> None:
    with httpx.Client(base_url=served.url) as c:
        form = Page(c.get("/login").text).forms[0]
        resp = c.post("/login", data={**form.fields, "token": TOKEN + "x"})
        assert resp.status_code == 401 and "not the right one" in resp.text
        assert "hasched_session" not in c.cookies
        assert c.get("/", headers={"accept": "text/html"}).status_code == 303


def test_the_session_cookie_is_httponly_and_samesite_strict(served: Served) -> None:
    with httpx.Client(base_url=served.url) as c:
        form = Page(c.get("/login").text).forms[0]
        resp = c.post("/login", data={**form.fields, "token": TOKEN})
        cookie = next(v for v in resp.headers.get_list("set-cookie") if v.startswith("hasched_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
        assert c.get("/").status_code == 200


def test_sign_in_never_redirects_to_another_site(served: Served) -> None:
    with httpx.Client(base_url=served.url) as c:
        form = Page(c.get("/login").text).forms[0]
        resp = c.post("/login", data={**form.fields, "token": TOKEN, "next": "//evil.example/x"})
        assert resp.headers["location"] == "/"


@pytest.mark.parametrize("csrf", [None, "wrong"])
def test_a_post_without_the_right_csrf_token_changes_nothing(
    served: Served, redis: Redis, csrf: str | None
) -> None:
    with signed_in(served) as c:
        data = {} if csrf is None else {"csrf": csrf}
        resp = c.post("/schedules/poll/pause", data=data)
        assert resp.status_code == 403 and "CSRF" in resp.text
        assert c.post("/schedules/poll/delete", data=data).status_code == 403
        backfill = {**data, "from": "2020-01-01T00:00Z", "to": "2020-01-02T00:00Z"}
        assert c.post("/schedules/poll/backfill", data=backfill).status_code == 403
        assert Scheduler(redis).get("poll").paused is False
        assert Scheduler(redis).history("poll") == []
        form = next(f for f in Page(c.get("/schedules/poll").text).forms if f.action.endswith("/pause"))
        done = c.post(form.action, data=form.fields)
        assert done.status_code == 303 and Scheduler(redis).get("poll").paused is True


def test_read_only_shows_no_action_and_refuses_every_post(redis: Redis) -> None:
    Scheduler(redis).every("poll", 3600, "jobs.record")
    with Served(create_app(redis, token=TOKEN, read_only=True)) as s, signed_in(s) as c:
        html = c.get("/schedules/poll").text
        assert "read-only" in html and "Trigger now" not in html and "/pause" not in html
        csrf = c.cookies["hasched_csrf"]
        for action in ("pause", "resume", "trigger", "backfill", "delete"):
            assert c.post(f"/schedules/poll/{action}", data={"csrf": csrf}).status_code == 403
        assert "/backfill" not in html
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert c.post("/schedules/poll/trigger", headers=bearer).status_code == 403
        assert Scheduler(redis).get("poll").paused is False
        assert redis.hget("{hasched}:fires", "poll") is None


def test_stored_markup_is_shown_as_text(redis: Redis) -> None:
    s = Scheduler(redis)
    s.every("xss", 3600, "jobs.record", args=list(XSS), kwargs={"k": XSS[1]}, description=" ".join(XSS))
    s.pause("xss", note=XSS[0])
    with Served(create_app(redis)) as served, httpx.Client(base_url=served.url) as c:
        for path in ("/", "/schedules/xss", "/schedules/xss/delete"):
            html = c.get(path).text
            assert "<script>alert" not in html and "<img src=x" not in html, path
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or path.endswith("delete"), path
        assert "script-src 'self'" in c.get("/").headers["content-security-policy"]


def test_hasched_web_refuses_a_public_address_without_a_token() -> None:
    result = run_cli("web", "--bind", "0.0.0.0:8080", env={"HASCHED_WEB_TOKEN": ""})
    assert result.returncode == 2, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bind: 0.0.0.0 is not a loopback address"), lines


def test_hasched_web_serves_with_a_token_file_and_says_how(redis_server: object, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    port = free_port()
    url = redis_server.url  # type: ignore[attr-defined]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hasched", "web", "--redis-url", url, "--bind", f"127.0.0.1:{port}",
         "--token-file", str(token_file)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith(f"hasched web: serving http://127.0.0.1:{port}/ (token required)"), first
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            wait_for(lambda: answers(c))
            assert c.get("/cluster").status_code == 401
            assert c.get("/cluster", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_hasched_web_without_a_token_says_it_is_open_to_this_host(redis_server: object) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hasched", "web", "--redis-url", redis_server.url,  # type: ignore[attr-defined]
         "--bind", f"127.0.0.1:{port}", "--read-only"],
        stderr=subprocess.PIPE, text=True, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert "NO TOKEN: anyone on this host can use it, read-only" in first, first
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            wait_for(lambda: answers(c))
            assert c.get("/").status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def answers(client: httpx.Client) -> bool:
    """The server accepts connections (it prints its first line just before it binds)."""
    try:
        client.get("/static/style.css")
    except httpx.TransportError:
        return False
    return True


def test_the_core_never_imports_the_web_extra() -> None:
    code = (
        "import sys, hasched, hasched.cli, hasched._commands, hasched.api\n"
        "found = sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'jinja2', 'uvicorn'))\n"
        "assert not found and 'hasched.web' not in sys.modules, found\n"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0
