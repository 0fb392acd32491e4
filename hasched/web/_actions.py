"""What changes something (POST, each with a CSRF token): sign-in, sign-out, and the actions on a
schedule. Each answers with a redirect to a page that says what was done (post/redirect/get), so
a reload never repeats an action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hasched.errors import ScheduleNotFound
from hasched.web._auth import SESSION_COOKIE, read_form, root, safe_next, set_cookie

if TYPE_CHECKING:
    from hasched.web._ui import Ui

Handler = Callable[[Request], Awaitable[Response]]
MAX_NOTE = 500


def login_page(ui: Ui) -> Callable[[Request], Response]:
    def page(request: Request) -> Response:
        if ui.access.token is None:
            return RedirectResponse(f"{root(request)}/", 303)
        return ui.render(request, "login.html", next=request.query_params.get("next", "/"), refresh=0)

    return page


def login(ui: Ui) -> Handler:
    async def post(request: Request) -> Response:
        form = await read_form(request)
        target = form.get("next", "/")
        if ui.access.token is None:
            return RedirectResponse(f"{root(request)}/", 303)
        if not ui.access.token_ok(form.get("token", "").strip()):
            return ui.render(request, "login.html", 401, next=target, refresh=0, wrong=True)
        response = RedirectResponse(safe_next(request, target), 303)
        set_cookie(response, request, SESSION_COOKIE, ui.access.session)
        return response

    return post


def logout(ui: Ui) -> Handler:
    async def post(request: Request) -> Response:
        await read_form(request)
        response = RedirectResponse(f"{root(request)}/login", 303)
        response.delete_cookie(SESSION_COOKIE, path=root(request) or "/")
        return response

    return post


def handlers(ui: Ui) -> dict[str, Handler]:
    """The actions on one schedule, by the last part of their path."""
    data = ui.data

    async def pause(request: Request, sid: str, form: dict[str, str]) -> str:
        note = form.get("note", "").strip()[:MAX_NOTE]
        await run_in_threadpool(data.pause, sid, note)
        return _to(request, sid, done="paused")

    async def resume(request: Request, sid: str, form: dict[str, str]) -> str:
        await run_in_threadpool(data.resume, sid)
        return _to(request, sid, done="resumed")

    async def trigger(request: Request, sid: str, form: dict[str, str]) -> str:
        job_id = await run_in_threadpool(data.trigger, sid)
        return _to(request, sid, done="triggered", job=job_id)

    async def backfill(request: Request, sid: str, form: dict[str, str]) -> str:
        start, end, overlap = form.get("from", "")[:64], form.get("to", "")[:64], form.get("overlap", "")[:32]
        said = await run_in_threadpool(data.backfill, sid, start, end, overlap, form.get("dry_run") == "1")
        return _to(request, sid, done="backfilled", detail=said)

    async def delete(request: Request, sid: str, form: dict[str, str]) -> str:
        if not await run_in_threadpool(data.delete, sid):
            raise ScheduleNotFound(sid)
        return f"{root(request)}/?{urlencode({'done': 'deleted', 'id': sid})}"

    return {name: _action(fn) for name, fn in
            {"pause": pause, "resume": resume, "trigger": trigger, "backfill": backfill,
             "delete": delete}.items()}  # fmt: skip


def _action(fn: Callable[[Request, str, dict[str, str]], Awaitable[str]]) -> Handler:
    async def post(request: Request) -> Response:
        form = await read_form(request)
        return RedirectResponse(await fn(request, request.path_params["sid"], form), 303)

    return post


def _to(request: Request, sid: str, **params: str) -> str:
    return f"{root(request)}/schedules/{quote(sid, safe='')}?{urlencode(params)}"
