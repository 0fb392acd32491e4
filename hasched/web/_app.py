"""`create_app`: the web UI as one ASGI application, to serve alone or mount under a path."""

from __future__ import annotations

from pathlib import Path

import jinja2
from redis import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from hasched._settings import DEFAULT_NAMESPACE
from hasched.errors import HaschedError, ScheduleNotFound
from hasched.web import _actions, _pages
from hasched.web._auth import Access, guard
from hasched.web._data import Data
from hasched.web._format import FILTERS
from hasched.web._ui import Ui

HERE = Path(__file__).resolve().parent
STALE_AFTER = 10.0


def create_app(
    redis: Redis,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    read_only: bool = False,
    token: str | None = None,
    stale_after: float = STALE_AFTER,
) -> Starlette:
    """The web UI of one namespace as an ASGI app (Starlette).

    Mount it in FastAPI or Starlette with `app.mount("/scheduler", create_app(redis))`: every
    link and form follows the mount path. With `token`, every page and action needs it (a browser
    signs in once; API clients send `Authorization: Bearer TOKEN`); without one, whoever reaches
    the app can use it, so protect it as the host application does. `read_only` hides every
    action and answers 403 to any POST. An instance silent for more than `stale_after` seconds
    shows as stale on the Cluster page.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters.update(FILTERS)
    ui = Ui(Data(redis, namespace), Access(token or None, read_only), Jinja2Templates(env=env), stale_after)
    routes = [
        Route("/", _pages.schedules(ui), name="schedules"),
        Route("/schedules/{sid}", _pages.schedule(ui), name="schedule"),
        Route("/schedules/{sid}/delete", _pages.confirm_delete(ui), name="confirm_delete"),
        Route("/cluster", _pages.cluster(ui), name="cluster"),
        Route("/login", _actions.login_page(ui), name="login"),
        Route("/login", _actions.login(ui), methods=["POST"]),
        Route("/logout", _actions.logout(ui), methods=["POST"], name="logout"),
        *(Route(f"/schedules/{{sid}}/{a}", h, methods=["POST"]) for a, h in _actions.handlers(ui).items()),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return ui.render(request, "error.html", 404, message=str(exc))

    async def refused(request: Request, exc: Exception) -> Response:
        return ui.render(request, "error.html", 400, message=str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return ui.render(request, "error.html", exc.status_code, message=exc.detail)

    return Starlette(
        routes=routes,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard(ui.access))],
        exception_handlers={ScheduleNotFound: not_found, HaschedError: refused, HTTPException: http_error},
    )
