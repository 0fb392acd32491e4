"""The `hasched run` loop: renew or acquire, tick if leader, heartbeat, sleep until due or woken."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from typing import Any

from redis import Redis
from tenacity import RetryCallState, Retrying

from hasched import _log
from hasched._connect import check_eviction_policy
from hasched._jobs import iso_utc
from hasched._lease import Lease
from hasched._metrics import Metrics
from hasched._model import Schedule
from hasched._release import OVERLAP_INTERVAL, Releaser, report_release
from hasched._retry import is_credentials_error, redis_backoff, retry_redis
from hasched._settings import RunSettings
from hasched._status import status
from hasched._store import Store
from hasched._sync import load_file, sync_schedules
from hasched._systemd import (
    Notifier,
    follower_status,
    leader_status,
    loop_progress,
    redis_status,
    stall_limit,
)
from hasched._tick import Ticker, TickReport
from hasched._tracker import BUSY_READ_BATCH, READ_BATCH, TRACK_GAP, TRACK_INTERVAL, Tracker, report_runs
from hasched._triggers import US
from hasched._waker import Waker
from hasched.errors import HaschedError


class Daemon:
    """One scheduler instance. `run()` blocks until `request_stop()` (SIGTERM/SIGINT)."""

    def __init__(self, settings: RunSettings, redis: Redis, metrics: Metrics | None = None,
                 schedules: list[Schedule] | None = None,
                 notifier: Notifier | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.instance_id = settings.instance_id
        self.store = Store(redis, settings.connection.namespace)
        self.lease = Lease(self.store.scripts, self.instance_id, settings.lease_ttl)
        self.ticker = Ticker(self.store, redis, settings.faults)
        self.tracker = Tracker(self.store)
        self.releaser = Releaser(self.store)
        self.metrics = metrics if metrics is not None else Metrics()
        self.log = _log.get(instance_id=self.instance_id)
        self.notifier = notifier if notifier is not None else Notifier({})  # {}: off unless given
        self._redis = redis
        self._to_sync = schedules  # from --schedules, written at the first pass that reaches Redis
        self._contacted = False
        self._reload = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._next_acquire = 0.0
        self._next_heartbeat = 0.0
        self._next_track = 0.0
        self._in_flight = False  # runs were in flight at the last tracker pass
        self._op = "lease"
        self.redis_ok_at = 0.0  # monotonic time Redis last answered
        self.loop_at = time.monotonic()  # monotonic time the loop last went round

    # -- control ---------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while the loop goes round and Redis answered within the lease TTL."""
        now, ttl = time.monotonic(), self.settings.lease_ttl
        loop_age, redis_age = now - self.loop_at, now - self.redis_ok_at
        ok = loop_age <= ttl and redis_age <= ttl
        detail = {"ok": ok, "loop_age_seconds": round(loop_age, 3), "leader": self.lease.held,
                  "redis_age_seconds": round(redis_age, 3), "instance_id": self.instance_id}  # fmt: skip
        return ok, detail

    def status(self) -> dict[str, Any]:
        """`hasched status --json` as this instance sees it."""
        return status(self.store)

    def request_stop(self) -> None:
        """Ask the loop to finish its pass, release the lease and return."""
        self._stop.set()
        self._wake.set()

    def request_reload(self) -> None:
        """Re-read the --schedules file at the next pass (SIGHUP)."""
        self._reload = True
        self._wake.set()

    def _on_wake(self, kind: str) -> None:
        if kind in ("lease", "resubscribed"):
            self._next_acquire = 0.0  # the lease is free (or may have become so): ask at once
        self._wake.set()

    def run(self) -> None:
        """Run until stopped. Redis outages are waited out with backoff, never fatal; a Redis that
        refuses the credentials before its first full pass raises (a misconfiguration)."""
        waker = Waker(self._redis, self.store.keys.wake, self._on_wake)
        waker.start()
        retrying = Retrying(
            retry=retry_redis(contacted=lambda: self.redis_ok_at > 0),  # a full pass went through
            wait=redis_backoff,
            reraise=True,
            stop=lambda _: self._stop.is_set(),
            sleep=self._pause,
            before_sleep=self._on_redis_error,
        )
        self.log.info(
            "hasched.instance.started",
            namespace=self.settings.connection.namespace,
            redis=self.settings.connection.describe(),
        )
        limit = stall_limit(self.notifier.watchdog_seconds or 0.0, self.settings.lease_ttl)
        self.notifier.start_watchdog(loop_progress(lambda: self.loop_at, limit))
        try:
            while not self._stop.is_set():
                try:
                    timeout = retrying(self._iteration)
                except Exception:
                    if self._stop.is_set():
                        break
                    raise
                self._sleep(timeout)
        finally:
            self.notifier.stopping()
            waker.stop()
            self._shutdown()
            self.notifier.close()

    def run_once(self) -> bool:
        """One pass, then leave: take the lease if it is free, enqueue everything due, release
        it. Returns whether this pass led (False while another instance holds the lease).
        For `hasched worker --burst` and rq-scheduler's `run(burst=True)`."""
        try:
            self._iteration()
            return self.lease.held
        finally:
            self._shutdown()

    @property
    def is_leader(self) -> bool:
        """This instance holds the lease and renewed it recently enough to act on it."""
        return self.lease.held and not self.lease.out_of_touch()

    def _pause(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _sleep(self, timeout: float) -> None:
        if timeout > 0 and self._wake.wait(timeout):
            self._wake.clear()

    # -- one pass --------------------------------------------------------------------------

    def _iteration(self) -> float:
        """One pass of the loop; returns how long to sleep before the next one."""
        self.settings.faults.loop_pass()  # test-only hook, a no-op unless armed
        self.loop_at = time.monotonic()
        self._op = "lease"
        if not self._contacted:
            self._first_contact()
        if self._reload:
            self._reload_file()
        self._lease_step()
        self._op = "heartbeat"
        self._heartbeat_step()
        self.redis_ok_at = time.monotonic()
        self._notify_state()
        if self.lease.held:
            self._op = "tick"
            wait = self._lead()
        else:
            wait = self._next_acquire - time.monotonic()
        return max(0.0, min(wait, self._next_heartbeat - time.monotonic()))

    def _first_contact(self) -> None:
        """Once Redis first answers: refuse a Redis that may evict our keys, sync the file."""
        check_eviction_policy(self._redis, self.log)
        if self._to_sync is not None:
            sync_schedules(self.store, self._to_sync, log=self.log, file=self.settings.schedules)
        self._to_sync = None
        self._contacted = True

    def _reload_file(self) -> None:
        """SIGHUP: sync the schedules file again. A broken file is reported and changes nothing."""
        self._reload = False
        path = self.settings.schedules
        if path is None:
            self.log.warning("hasched.sync.no_file", reason="SIGHUP without --schedules")
            return
        self.notifier.reloading()
        try:
            wanted = load_file(path)
        except HaschedError as e:
            self.log.error("hasched.sync.invalid", file=path, error=str(e))
        else:
            sync_schedules(self.store, wanted, log=self.log, file=path)
        finally:
            self.notifier.ready()

    def _notify_state(self) -> None:
        """READY=1 after the first pass that reached Redis and heartbeat; STATUS= when it changes."""
        lease = self.lease
        if lease.held:
            text = leader_status(lease.epoch)
        else:
            text = follower_status(lease.holder if lease.holder != self.instance_id else None)
        self.notifier.ready(text)  # READY=1 (with STATUS=) once, then only STATUS= changes

    def _lease_step(self) -> None:
        lease = self.lease
        if lease.held:
            if lease.out_of_touch():
                self._lost("out_of_touch")
            elif lease.renew_due():
                if lease.renew():
                    self.metrics.lease_renewals.labels(result="ok").inc()
                else:
                    self.metrics.lease_renewals.labels(result="lost").inc()
                    self._lost("renew_rejected")
        elif time.monotonic() >= self._next_acquire:
            if lease.try_acquire():
                self.metrics.transitions.labels(event="acquired").inc()
                self.metrics.leader.set(1)
                self.log.info("hasched.lease.acquired", epoch=lease.epoch)
            else:
                period = self.settings.retry_period
                self._next_acquire = time.monotonic() + period * random.uniform(0.8, 1.2)
        self.metrics.leader_epoch.set(lease.epoch)

    def _lost(self, reason: str) -> None:
        self.lease.step_down()
        self.metrics.leader.set(0)
        self.metrics.next_fire.set(0)  # only the leader's view of the schedules is meaningful
        self.metrics.transitions.labels(event="lost").inc()
        self.log.warning("hasched.lease.lost", epoch=self.lease.epoch, reason=reason)

    def _heartbeat_step(self) -> None:
        if time.monotonic() < self._next_heartbeat:
            return
        ttl_ms = round(self.settings.lease_ttl * 1000)
        beat_ms = self.store.scripts.heartbeat(self.instance_id, forget_after_ms=2 * ttl_ms)
        self.metrics.heartbeat.set(beat_ms / 1000)
        self.metrics.instances.set(self._redis.zcard(self.store.keys.instances))
        if self.lease.held:
            for state, count in self.store.counts().items():
                self.metrics.schedules.labels(state=state).set(count)
        self._next_heartbeat = time.monotonic() + self.settings.heartbeat_interval

    def _lead(self) -> float:
        """Enqueue everything due; return the time until the next fire or lease renewal."""
        started, fired, waited = time.perf_counter(), False, False
        while True:
            now_us, read_at = self.store.now_us(), time.perf_counter()
            report = self.ticker.tick(self.lease.value, self.lease.epoch, now_us)
            self.loop_at = self.redis_ok_at = time.monotonic()
            self._record(report, read_at)
            waited = waited or bool(report.outcome.waiting)
            if report.outcome.fenced:
                self._fenced(report)
                return 0.0
            fired = fired or report.planned > 0
            if not report.full or self.lease.renew_due():
                break
        if not self._track(fired):
            return 0.0
        overlap = self.releaser.run(self.lease.value, hint=waited)
        report_release(overlap, self.metrics, self.log)
        if overlap.fenced:
            self._lost("fenced")
            return 0.0
        earliest, now_us = self.store.earliest_due_at_now()
        self.metrics.tick_duration.observe(time.perf_counter() - started)
        self.metrics.next_fire.set(0 if earliest is None else (earliest - now_us) / US)
        to_fire = self.settings.lease_ttl if earliest is None else (earliest - now_us) / US
        if self._in_flight:
            to_fire = min(to_fire, TRACK_INTERVAL)  # see ends within a few seconds of them
        if overlap.busy:
            to_fire = min(to_fire, OVERLAP_INTERVAL)  # a waiting fire goes soon after its turn comes
        return min(to_fire, self.lease.seconds_to_renew())

    def _track(self, fired: bool) -> bool:
        """A tracker pass when one is due (a busy leader tracks every TRACK_GAP at most, reading
        fewer runs while it fires); False when the lease turned out not to be ours."""
        if time.monotonic() < self._next_track:
            return True
        runs = self.tracker.track(self.lease.value, BUSY_READ_BATCH if fired else READ_BATCH)
        report_runs(runs, self.metrics, self.log)
        if runs.fenced:
            self._lost("fenced")
            return False
        self._in_flight = runs.in_flight > 0
        self._next_track = time.monotonic() + TRACK_GAP
        return True

    def _record_enqueued(self, report: TickReport, read_at: float) -> None:
        enqueued, m = report.outcome.enqueued, self.metrics
        enqueued_us = report.now_us + round((time.perf_counter() - read_at) * US)
        for queue, count in Counter(fire.queue for fire in enqueued).items():
            m.fires_enqueued.labels(queue=queue).inc(count)
        observe = m.fire_lag.observe
        for fire in enqueued:
            observe(max(0, enqueued_us - fire.due_us) / US)
        if enqueued and self.log.is_enabled_for(logging.DEBUG):  # a line per fire: only if shown
            epoch = self.lease.epoch
            for fire in enqueued:
                self.log.debug("hasched.fire.enqueued", schedule_id=fire.schedule_id,
                               fire_time=fire.fire_time, job_id=fire.job_id, epoch=epoch)  # fmt: skip

    def _record(self, report: TickReport, read_at: float) -> None:
        out, m = report.outcome, self.metrics
        self._record_enqueued(report, read_at)
        for reason, fires in (("claimed", out.claimed), ("overlap", out.overlap)):
            m.fires_skipped.labels(reason=reason).inc(len(fires))
            for fire in fires:
                self.log.info(
                    f"hasched.fire.{reason}", schedule_id=fire.schedule_id, fire_time=fire.fire_time
                )
        for fire in out.waiting:
            self.log.info("hasched.fire.waiting", schedule_id=fire.schedule_id, fire_time=fire.fire_time,
                          job_id=fire.job_id)  # fmt: skip
        for sid, (count, first_us) in report.missed.items():
            m.fires_skipped.labels(reason="missed").inc(count)
            self.log.info("hasched.fire.missed", schedule_id=sid, fire_time=iso_utc(first_us), count=count)
        for err in report.invalid:
            m.schedules_invalid.inc()
            self.log.error("hasched.schedule.invalid", schedule_id=err.schedule_id, reason=err.reason)
        if out.enqueued:
            self.log.info("hasched.tick.committed", enqueued=len(out.enqueued), epoch=self.lease.epoch)

    def _fenced(self, report: TickReport) -> None:
        self.metrics.fires_skipped.labels(reason="fenced").inc(max(1, report.planned))
        self.log.error("hasched.lease.fenced", epoch=self.lease.epoch, fires=report.planned)
        self._lost("fenced")

    def _on_redis_error(self, state: RetryCallState) -> None:
        exc: Any = state.outcome.exception() if state.outcome else None
        self.metrics.redis_errors.labels(op=self._op).inc()
        if self._op == "lease" and self.lease.held:
            self.metrics.lease_renewals.labels(result="error").inc()
        if self.lease.out_of_touch():
            self._lost("redis_unreachable")
        self.notifier.status(redis_status(exc))
        if is_credentials_error(exc):  # a rotated password or a changed ACL: needs a human
            self.log.error("hasched.redis.auth_failed", op=self._op, error=type(exc).__name__,
                           message=str(exc), attempt=state.attempt_number)  # fmt: skip
            return
        self.log.warning(
            "hasched.redis.error", op=self._op, error=type(exc).__name__, attempt=state.attempt_number
        )

    def _shutdown(self) -> None:
        if self.redis_ok_at > 0:  # else no lease to release, no registry entry to remove
            self._leave()
        self.metrics.leader.set(0)
        self.log.info("hasched.instance.stopped")

    def _leave(self) -> None:
        try:
            if self.lease.held and self.lease.release():
                self.metrics.transitions.labels(event="released").inc()
                self.log.info("hasched.lease.released", epoch=self.lease.epoch)
            self._redis.zrem(self.store.keys.instances, self.instance_id)
        except Exception as e:  # shutting down: report and go
            self.log.warning("hasched.instance.shutdown_error", error=type(e).__name__)
