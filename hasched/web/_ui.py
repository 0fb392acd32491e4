"""`Ui`: what every page and action handler of the web UI needs, and how a page is rendered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from hasched.web._auth import Access, csrf_of, root
from hasched.web._data import Data

REFRESH_SECONDS = 10


@dataclass(frozen=True, slots=True)
class Ui:
    """What every page handler needs: the data, the access rules and the templates."""

    data: Data
    access: Access
    templates: Jinja2Templates
    stale_after: float

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        base = {
            "root": root(request),
            "csrf": csrf_of(request),
            "read_only": self.access.read_only,
            "signed_in": self.access.token is not None and self.access.signed_in(request),
            "now": datetime.now(UTC),
            "refresh": REFRESH_SECONDS,
            "done": None,
            "job": None,
            "subject": None,
            "detail": None,
        }
        return self.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
