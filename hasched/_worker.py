"""`hasched worker`: an RQ worker and a scheduler instance in one process (README: Deploying).

The RQ worker runs in the main thread, as under `rq worker`: it owns SIGTERM and SIGINT and forks
a work horse per job (unless its class says otherwise). The scheduler instance is the `hasched
run` loop (`Daemon`) in a second thread. The two live and die together:

- SIGTERM or SIGINT: the scheduler half stops at once and releases the lease (another host takes
  over within moments), the worker finishes its current job (RQ's warm shutdown). A second
  signal is RQ's cold shutdown: the job is killed.
- The scheduler thread dies: the worker is asked to stop as on SIGTERM, and the process exits 1.
- The worker's loop ends without being asked (an unhandled error): the scheduler is stopped,
  and the process exits 1. Never half alive: a supervisor restarts the whole.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import dataclass
from types import FrameType
from typing import Any

from redis import Redis
from rq.serializers import resolve_serializer
from rq.utils import import_attribute

from hasched import _log
from hasched._cliconf import connection_of, load_schedules, run_settings
from hasched._connect import connect
from hasched._daemon import Daemon
from hasched._faults import FaultHooks, InjectedCrash, take
from hasched._http import HttpEndpoints, serve
from hasched._systemd import Notifier
from hasched.errors import ValidationError

DEQUEUE_STRATEGIES = ("default", "random", "round_robin")


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """The RQ half's options, as `rq worker` takes them."""

    queues: tuple[str, ...]
    worker_class: Any
    job_class: Any
    queue_class: Any
    serializer: Any
    name: str | None
    logging_level: str
    dequeue_strategy: str
    worker_ttl: int
    results_ttl: int
    burst: bool


def worker_options(args: argparse.Namespace) -> WorkerOptions:
    """The RQ half's options, checked; classes imported (after --path is added to sys.path)."""
    sys.path[:0] = [p for p in args.path if p not in sys.path]
    if args.dequeue_strategy not in DEQUEUE_STRATEGIES:
        raise ValidationError("dequeue-strategy", f"must be one of {', '.join(DEQUEUE_STRATEGIES)}")
    if args.worker_ttl < 30:
        raise ValidationError("worker-ttl", f"must be at least 30 seconds, got {args.worker_ttl}")
    return WorkerOptions(
        queues=tuple(args.queues + args.more_queues) or ("default",),
        worker_class=_imported("worker-class", args.worker_class),
        job_class=_imported("job-class", args.job_class),
        queue_class=_imported("queue-class", args.queue_class),
        serializer=_serializer(args.serializer),
        name=args.name,
        logging_level=args.logging_level.upper(),
        dequeue_strategy=args.dequeue_strategy,
        worker_ttl=args.worker_ttl,
        results_ttl=args.results_ttl,
        burst=args.burst,
    )


def _imported(field: str, path: str) -> Any:
    try:
        return import_attribute(path)
    except (ImportError, AttributeError, ValueError) as e:
        raise ValidationError(field, f"cannot import {path!r} ({e})") from None


def _serializer(path: str | None) -> Any:
    if path is None:
        return None
    try:
        return resolve_serializer(path)
    except (ImportError, AttributeError, ValueError, NotImplementedError) as e:
        raise ValidationError("serializer", f"cannot use {path!r} ({e})") from None


def build_worker(opts: WorkerOptions, connection: Redis) -> Any:
    """The RQ worker, made as `rq worker` makes it."""
    queues = [opts.queue_class(q, connection=connection, job_class=opts.job_class, serializer=opts.serializer)
              for q in opts.queues]  # fmt: skip
    return opts.worker_class(queues, name=opts.name, connection=connection, job_class=opts.job_class,
                             queue_class=opts.queue_class, serializer=opts.serializer,
                             worker_ttl=opts.worker_ttl, default_result_ttl=opts.results_ttl)  # fmt: skip


class WorkerProcess:
    """Both halves of one `hasched worker` process; `run()` returns the exit code."""

    def __init__(self, worker: Any, daemon: Daemon | None, opts: WorkerOptions, faults: FaultHooks) -> None:
        self.worker = worker
        self.daemon = daemon
        self.opts = opts
        self.faults = faults
        self.log = _log.get(instance_id=daemon.instance_id if daemon else None, worker=worker.name)
        self._asked_to_stop = False
        self._scheduler_failed = False
        self._thread = threading.Thread(target=self._scheduler_main, name="hasched-scheduler", daemon=True)
        self._rq_request_stop = worker.request_stop

    def run(self) -> int:
        # Until RQ installs its own handlers, a signal only records the request.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop_scheduler(asked=True))
        # RQ installs `self.request_stop` for SIGTERM/SIGINT: ours stops the scheduler half first.
        self.worker.request_stop = self._on_signal
        self.worker._install_signal_handlers = self._install_rq_handlers
        if self.daemon is not None and self.opts.burst:
            self.daemon.run_once()
        elif self.daemon is not None:
            self._thread.start()
        self._arm_worker_crash_hook()
        try:
            worker_ok = self._work()  # RQ's cold shutdown leaves by SystemExit, through `finally`
        finally:
            self._stop_scheduler(asked=False)
            if self._thread.is_alive():
                self._thread.join()
        if self._scheduler_failed or not worker_ok:
            return 1
        return 0

    def _work(self) -> bool:
        """Run the RQ worker; False when its loop ended without being asked to."""
        if self._asked_to_stop:
            return not self._scheduler_failed
        try:
            self.worker.work(burst=self.opts.burst, logging_level=self.opts.logging_level,
                             dequeue_strategy=self.opts.dequeue_strategy)  # fmt: skip
        except Exception as e:
            self.log.error("hasched.worker.crashed", error=type(e).__name__, message=str(e))
            return False
        if not (self._asked_to_stop or self.opts.burst):
            self.log.error("hasched.worker.crashed", error="worker loop ended", message="see RQ's log above")
            return False
        return True

    def _install_rq_handlers(self) -> None:
        """RQ's handlers, then a signal that came before them: RQ's loop stops at its next turn."""
        type(self.worker)._install_signal_handlers(self.worker)
        if self._asked_to_stop:
            self.worker._stop_requested = True

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop_scheduler(asked=True)
        self._rq_request_stop(signum, frame)  # RQ's warm shutdown (may raise StopRequested)

    def _stop_scheduler(self, *, asked: bool) -> None:
        self._asked_to_stop = self._asked_to_stop or asked
        if self.daemon is not None:
            self.daemon.request_stop()  # the thread releases the lease and leaves the registry

    def _scheduler_main(self) -> None:
        assert self.daemon is not None
        try:
            self.daemon.run()
        except Exception as e:
            self.log.error("hasched.worker.scheduler_crashed", error=type(e).__name__, message=str(e))
            self._scheduler_failed = True
        if not self._asked_to_stop:  # died, or ended on its own: take the worker down with it
            self._scheduler_failed = True
            os.kill(os.getpid(), signal.SIGTERM)

    def _arm_worker_crash_hook(self) -> None:
        """Test hook (hasched._faults): interrupt the worker's loop with an exception."""
        trigger = self.faults.crash_worker
        if trigger is None:
            return

        def crash(*_: Any) -> None:
            raise InjectedCrash("test hook: worker loop crashed")

        def watch() -> None:
            while not take(trigger):
                if self._asked_to_stop:
                    return
                threading.Event().wait(0.05)
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)

        signal.signal(signal.SIGUSR1, crash)
        threading.Thread(target=watch, name="hasched-crash-hook", daemon=True).start()


def run_worker(args: argparse.Namespace) -> int:
    """`hasched worker`: see the module docstring."""
    if args.rq_url:
        args.redis_url = args.rq_url
    opts = worker_options(args)
    if args.no_scheduler:
        conn = connection_of(args)
        return _run(build_worker(opts, connect(conn, timeout=opts.worker_ttl)), None, opts, None)
    settings = run_settings(args)
    _log.configure(settings.log_format, settings.log_level)
    schedules = load_schedules(settings.schedules) if settings.schedules else None
    # RQ blocks in BLPOP for up to worker_ttl - 15 s: its client must wait longer than that.
    worker = build_worker(opts, connect(settings.connection, timeout=opts.worker_ttl))
    redis = connect(settings.connection, timeout=max(0.5, settings.lease_ttl / 3))
    daemon = Daemon(settings, redis, schedules=schedules, notifier=Notifier())
    endpoints = serve(settings.metrics_addr, daemon.metrics.registry, daemon.health, daemon.status)
    return _run(worker, daemon, opts, endpoints)


def _run(worker: Any, daemon: Daemon | None, opts: WorkerOptions, endpoints: HttpEndpoints | None) -> int:
    try:
        return WorkerProcess(worker, daemon, opts, FaultHooks.from_env()).run()
    finally:
        if endpoints is not None:
            endpoints.stop()
