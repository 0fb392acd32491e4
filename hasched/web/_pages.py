"""The pages (GET): Schedules, Schedule, its delete confirmation, Cluster.

Handlers are plain functions: Starlette runs them in its thread pool, so the blocking Redis
client never holds up the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from hasched._keys import LEADERS_KEPT
from hasched._model import OVERLAP_POLICIES
from hasched.web._data import PAGE_SIZE, STATES, ListQuery

if TYPE_CHECKING:
    from hasched.web._ui import Ui

Handler = Callable[[Request], Response]

# What an action did, shown at the top of the page it lands on (?done=...).
DONE = {
    "paused": "Paused.",
    "resumed": "Resumed: it fires again from its next fire time.",
    "triggered": "Triggered: one extra run was enqueued now.",
    "deleted": "Deleted.",
    "backfilled": "",  # what it did comes with it (?detail=...)
}


def schedules(ui: Ui) -> Handler:
    def page(request: Request) -> Response:
        p = request.query_params
        state = p.get("state", "")
        query = ListQuery(
            match=p.get("q", "").strip()[:200],
            queue=p.get("queue", "").strip()[:128],
            state=state if state in STATES else "",
            after=p.get("after", "")[:128],
            limit=PAGE_SIZE,
        )
        found = ui.data.page(query)
        return ui.render(request, "schedules.html", query=query, page=found, states=STATES,
                         done=DONE.get(p.get("done", "")), subject=p.get("id"))  # fmt: skip

    return page


def schedule(ui: Ui) -> Handler:
    def page(request: Request) -> Response:
        detail = ui.data.detail(request.path_params["sid"])
        p = request.query_params
        return ui.render(request, "schedule.html", d=detail, s=detail.row.described,
                         done=DONE.get(p.get("done", "")), job=p.get("job"),
                         detail=p.get("detail", "")[:300] or None, overlaps=OVERLAP_POLICIES)  # fmt: skip

    return page


def confirm_delete(ui: Ui) -> Handler:
    def page(request: Request) -> Response:
        detail = ui.data.detail(request.path_params["sid"])
        return ui.render(request, "delete.html", s=detail.row.described, refresh=0)

    return page


def cluster(ui: Ui) -> Handler:
    def page(request: Request) -> Response:
        return ui.render(
            request,
            "cluster.html",
            st=ui.data.cluster(),
            stale_after=ui.stale_after,
            leaders_kept=LEADERS_KEPT,
        )

    return page
