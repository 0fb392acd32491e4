"""A scheduler instance inside any Python process (README: Deploying: pick one).

`start()` runs the same instance loop as `hasched run` (`hasched._daemon.Daemon`) in a daemon
thread of the calling process: a web app, a worker, a Django process. Every process of a pool may
start one; the lease lets one lead and the others wait to take over. Nothing process-wide is
touched: no signal handlers (the host owns them), no logging configuration, no HTTP port unless
`metrics_addr` is given. The instance stops at `stop()` or, failing that, at interpreter exit.

    handle = hasched.embedded.start(redis, namespace="app")
    handle.is_leader   # True in the one process that leads
    handle.registry    # its Prometheus metrics, for the host app to serve
    handle.stop()      # releases the lease; another process takes over at once
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry
from redis import Redis

from hasched import _log
from hasched._connect import SOCKET_TIMEOUT
from hasched._daemon import Daemon
from hasched._http import HttpEndpoints, parse_addr, serve
from hasched._keys import NAMESPACE_RE
from hasched._model import Schedule
from hasched._settings import DEFAULT_NAMESPACE, Connection, RunSettings, default_instance_id, redact
from hasched._sync import load_file
from hasched.errors import ValidationError

__all__ = ["Embedded", "instance", "start"]


class Embedded:
    """A running embedded instance: `is_leader`, `registry`, `stop()`."""

    def __init__(self, daemon: Daemon, endpoints: HttpEndpoints | None) -> None:
        self._daemon = daemon
        self._endpoints = endpoints
        self._pid = os.getpid()
        self.error: BaseException | None = None  # why the loop ended, if it crashed
        self._thread = threading.Thread(target=self._main, name="hasched-embedded", daemon=True)

    def _start(self) -> Embedded:
        self._thread.start()
        atexit.register(self.stop)
        return self

    def _main(self) -> None:
        try:
            self._daemon.run()
        except Exception as e:  # a misconfiguration (credentials refused, evicting Redis): say so
            self.error = e
            self._daemon.log.error("hasched.embedded.crashed", error=type(e).__name__, message=str(e))

    @property
    def instance_id(self) -> str:
        return self._daemon.instance_id

    @property
    def running(self) -> bool:
        """The loop runs (in this process: a forked child has no copy of the thread)."""
        return os.getpid() == self._pid and self._thread.is_alive()

    @property
    def is_leader(self) -> bool:
        """This process holds the lease now (and fires what is due)."""
        return self.running and self._daemon.is_leader

    @property
    def registry(self) -> CollectorRegistry:
        """The instance's Prometheus registry: serve it from the host app (README)."""
        return self._daemon.metrics.registry

    def stop(self, timeout: float | None = None) -> bool:
        """Finish the current pass, release the lease and return; True once the loop ended.
        Waits at most `timeout` seconds (default: one lease renewal period)."""
        atexit.unregister(self.stop)
        self._daemon.request_stop()
        if os.getpid() == self._pid and self._thread.is_alive():
            self._thread.join(self._daemon.settings.lease_ttl / 3 if timeout is None else timeout)
        if self._endpoints is not None:
            self._endpoints.stop()
            self._endpoints = None
        return not self.running


def start(
    redis: Redis | str,
    namespace: str = DEFAULT_NAMESPACE,
    *,
    instance_id: str | None = None,
    lease_ttl: float = 10.0,
    retry_period: float = 1.0,
    schedules: str | Path | Sequence[Schedule] | None = None,
    metrics_addr: str | None = None,
) -> Embedded:
    """Start a scheduler instance in a background thread of this process.

    `redis` is a client (give it a `socket_timeout`, so a Redis that stops answering is noticed
    before the lease runs out) or a URL. `schedules` is a TOML file or a list of `Schedule`s,
    synced once Redis answers. `metrics_addr` ("HOST:PORT") serves /metrics, /healthz and
    /status as `hasched run` does; off by default.
    """
    daemon = instance(redis, namespace, instance_id=instance_id, lease_ttl=lease_ttl,
                      retry_period=retry_period, schedules=schedules, metrics_addr=metrics_addr)  # fmt: skip
    endpoints = serve(metrics_addr, daemon.metrics.registry, daemon.health, daemon.status,
                      option="metrics_addr")  # fmt: skip
    _log.get(instance_id=daemon.instance_id).debug("hasched.embedded.starting", pid=os.getpid())
    return Embedded(daemon, endpoints)._start()


def instance(
    redis: Redis | str,
    namespace: str = DEFAULT_NAMESPACE,
    *,
    instance_id: str | None = None,
    lease_ttl: float = 10.0,
    retry_period: float = 1.0,
    schedules: str | Path | Sequence[Schedule] | None = None,
    metrics_addr: str | None = None,
) -> Daemon:
    """The instance loop `start()` runs, not started: for a caller that runs it in a thread of
    its own (rq-scheduler's `Scheduler.run`). Options as for `start()`."""
    settings = _settings(redis, namespace, instance_id, lease_ttl, retry_period, schedules, metrics_addr)
    client = redis if isinstance(redis, Redis) else _client(redis, lease_ttl)
    return Daemon(settings, client, schedules=_schedules(schedules))


def _settings(redis: Redis | str, namespace: str, instance_id: str | None, lease_ttl: float,
              retry_period: float, schedules: object, metrics_addr: str | None) -> RunSettings:  # fmt: skip
    """The instance's settings, checked as `hasched run` checks its flags."""
    if not isinstance(namespace, str) or not NAMESPACE_RE.fullmatch(namespace):
        raise ValidationError("namespace", f"must match [A-Za-z0-9_.:-]{{1,64}}, got {namespace!r}")
    if not isinstance(lease_ttl, int | float) or lease_ttl < 1:
        raise ValidationError("lease_ttl", f"must be at least 1 second, got {lease_ttl!r}")
    if not isinstance(retry_period, int | float) or retry_period <= 0:
        raise ValidationError("retry_period", f"must be more than 0, got {retry_period!r}")
    iid = instance_id or default_instance_id()
    if "|" in iid or not iid.isprintable() or len(iid) > 200:
        raise ValidationError("instance_id", f"must be printable, without '|', got {iid!r}")
    if metrics_addr:
        parse_addr(metrics_addr)
    url = redis if isinstance(redis, str) else _describe(redis)
    return RunSettings(connection=Connection(redis_url=url, namespace=namespace), instance_id=iid,
                       metrics_addr=metrics_addr or "", lease_ttl=float(lease_ttl),
                       retry_period=float(retry_period),
                       schedules=str(schedules) if isinstance(schedules, str | Path) else None)  # fmt: skip


def _client(url: str, lease_ttl: float) -> Redis:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValidationError("redis", f"must be a Redis client or a redis://, rediss:// or unix:// URL, "
                                       f"got {redact(url)}")  # fmt: skip
    timeout = min(SOCKET_TIMEOUT, max(0.5, lease_ttl / 3))  # as `hasched run`: abandon a stuck call
    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def _schedules(schedules: str | Path | Sequence[Schedule] | None) -> list[Schedule] | None:
    if schedules is None:
        return None
    if isinstance(schedules, str | Path):
        return load_file(schedules)
    wanted = list(schedules)
    if not all(isinstance(s, Schedule) for s in wanted):
        raise ValidationError("schedules", "must be a file path or a list of hasched.Schedule")
    return wanted


def _describe(redis: Redis) -> str:
    """Where a client connects, for the logs (never the password)."""
    kw = redis.connection_pool.connection_kwargs
    if "path" in kw:
        return f"unix://{kw['path']}?db={kw.get('db', 0)}"
    return f"redis://{kw.get('host', 'localhost')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"
