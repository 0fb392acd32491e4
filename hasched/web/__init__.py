"""hasched's web UI (`pip install hasched[web]`): see and manage the schedules from a browser.

`hasched web` serves it; `create_app(redis)` returns it as an ASGI app to mount in FastAPI or
Starlette. The core never imports this package.
"""

from __future__ import annotations

from hasched.web._app import create_app

__all__ = ["create_app"]
