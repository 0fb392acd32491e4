"""The hasched web UI inside an existing FastAPI application, under /scheduler.

    pip install 'hasched[web]' fastapi
    HASCHED_WEB_TOKEN=$(openssl rand -hex 16) uvicorn fastapi_mount:app --app-dir examples

Then open http://127.0.0.1:8000/scheduler/ and sign in with the token. Every link and form of the
UI stays under /scheduler. REDIS_URL and HASCHED_NAMESPACE say which schedules it shows.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from redis import Redis

from hasched.web import create_app

redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
app = FastAPI()


@app.get("/")
def home() -> dict[str, str]:
    return {"app": "yours", "scheduler": "/scheduler/"}


app.mount(
    "/scheduler",
    create_app(
        redis,
        namespace=os.environ.get("HASCHED_NAMESPACE", "hasched"),
        token=os.environ.get("HASCHED_WEB_TOKEN"),  # None: no sign-in; protect it as your app does
    ),
)
