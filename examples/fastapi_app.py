"""A FastAPI service that schedules RQ jobs with hasched, from asyncio, without blocking the loop.

    HASCHED_REDIS_URL=redis://localhost:6379/0 uvicorn fastapi_app:app --workers 2
    rq worker default          # runs the jobs (or: hasched worker default)

`SchedulerService` keeps the shape of a typical app-side scheduler service (`schedule_job`,
`schedule_at`, `schedule_periodic`, `cancel`) and maps each call onto `hasched.aio.Scheduler`.
The job functions may be plain functions or `async def` (RQ runs coroutines). The lifespan opens
the Redis client and starts an embedded scheduler instance in every worker process: one of them
leads and enqueues what is due (set HASCHED_EMBEDDED=0 when `hasched run` or `hasched worker`
processes do that instead).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from redis.asyncio import Redis

import hasched.embedded
from hasched import HaschedError, ValidationError
from hasched.aio import Scheduler

REDIS_URL = os.environ.get("HASCHED_REDIS_URL", "redis://localhost:6379/0")
NAMESPACE = os.environ.get("HASCHED_NAMESPACE", "hasched")


class SchedulerService:
    """Run a job now, at a time, or periodically; each call returns the schedule's id."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    async def schedule_job(self, func: str, args: list[Any], kwargs: dict[str, Any], queue: str) -> str:
        """Run as soon as possible: a one-off due now (enqueued by the leader within moments)."""
        s = await self.scheduler.enqueue_in(timedelta(0), func, args=args, kwargs=kwargs, queue=queue)
        return s.id

    async def schedule_at(self, when: datetime, func: str, args: list[Any], kwargs: dict[str, Any],
                          queue: str, id: str | None = None) -> str:  # fmt: skip
        """Run once at `when` (an aware datetime); the id is generated unless given."""
        sid = id or f"at-{uuid.uuid4().hex}"
        return (await self.scheduler.at(sid, when, func, args=args, kwargs=kwargs, queue=queue)).id

    async def schedule_periodic(self, id: str, func: str, *, every: float | None = None,
                                cron: str | None = None, timezone: str = "UTC", args: list[Any],
                                kwargs: dict[str, Any], queue: str,
                                repeat: int | None = None) -> str:  # fmt: skip
        """Run every `every` seconds or at the times of `cron`; declaring it again keeps its progress."""
        if (every is None) == (cron is None):
            raise ValidationError("trigger", "give exactly one of every and cron", schedule_id=id)
        options: dict[str, Any] = {"args": args, "kwargs": kwargs, "queue": queue, "repeat": repeat}
        if every is not None:
            return (await self.scheduler.every(id, every, func, **options)).id
        return (await self.scheduler.cron(id, str(cron), func, timezone=timezone, **options)).id

    async def cancel(self, id: str) -> bool:
        return await self.scheduler.cancel(id)


class Job(BaseModel):
    func: str
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    queue: str = "default"


class JobAt(Job):
    at: datetime
    id: str | None = None


class Periodic(Job):
    id: str
    every: float | None = None
    cron: str | None = None
    timezone: str = "UTC"
    repeat: int | None = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    redis = Redis.from_url(REDIS_URL)
    app.state.service = SchedulerService(Scheduler(redis, NAMESPACE))
    app.state.instance = None
    if os.environ.get("HASCHED_EMBEDDED", "1") == "1":
        app.state.instance = hasched.embedded.start(
            REDIS_URL, NAMESPACE, instance_id=f"api-{os.getpid()}",
            lease_ttl=float(os.environ.get("HASCHED_LEASE_TTL", "10")),
            retry_period=float(os.environ.get("HASCHED_RETRY_PERIOD", "1")),
        )  # fmt: skip
    yield
    if app.state.instance is not None:
        app.state.instance.stop()  # releases the lease: another worker process leads at once
    await redis.aclose()


app = FastAPI(lifespan=lifespan)


@app.exception_handler(HaschedError)
async def refused(request: Request, e: HaschedError) -> JSONResponse:
    field = getattr(e, "field", None)
    return JSONResponse(
        {"error": str(e), "field": field}, status_code=422 if isinstance(e, ValueError) else 404
    )


@app.post("/jobs")
async def schedule_job(job: Job, request: Request) -> dict[str, str]:
    service: SchedulerService = request.app.state.service
    return {"id": await service.schedule_job(job.func, job.args, job.kwargs, job.queue)}


@app.post("/jobs/at")
async def schedule_at(job: JobAt, request: Request) -> dict[str, str]:
    service: SchedulerService = request.app.state.service
    return {"id": await service.schedule_at(job.at, job.func, job.args, job.kwargs, job.queue, job.id)}


@app.post("/jobs/periodic")
async def schedule_periodic(job: Periodic, request: Request) -> dict[str, str]:
    service: SchedulerService = request.app.state.service
    sid = await service.schedule_periodic(job.id, job.func, every=job.every, cron=job.cron,
                                          timezone=job.timezone, args=job.args, kwargs=job.kwargs,
                                          queue=job.queue, repeat=job.repeat)  # fmt: skip
    return {"id": sid}


@app.get("/schedules")
async def schedules(request: Request) -> list[dict[str, Any]]:
    service: SchedulerService = request.app.state.service
    found, _ = await service.scheduler.describe_all()
    return found


@app.delete("/schedules/{sid}")
async def cancel(sid: str, request: Request) -> dict[str, bool]:
    return {"cancelled": await request.app.state.service.cancel(sid)}


@app.get("/leader")
async def leader(request: Request) -> dict[str, Any]:
    instance = request.app.state.instance
    return {"pid": os.getpid(), "leader": bool(instance and instance.is_leader)}


@app.get("/metrics")
async def metrics(request: Request) -> Response:
    instance = request.app.state.instance
    body = generate_latest(instance.registry) if instance is not None else b""
    return Response(body, media_type=CONTENT_TYPE_LATEST)
