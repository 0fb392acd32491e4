"""systemd integration: the sd_notify protocol (READY, STATUS, STOPPING, RELOADING, WATCHDOG).

Standard library only. Every message is one datagram to the unix socket named by `NOTIFY_SOCKET`
(a path, or an abstract name written with a leading `@`); without that variable every method is a
no-op, so the daemon calls them unconditionally. The environment is read once, when a
`Notifier` is built, never at import.

The watchdog pings `WATCHDOG=1` every `WATCHDOG_USEC / 2`, but only while the caller's
`progress()` says the loop still goes round: a stuck loop falls silent and systemd kills and
restarts the instance. Redis being unreachable is not a stuck loop (the loop keeps going round in
its retry loop), so it keeps pinging then. Until `ready()`, each ping also carries
`EXTEND_TIMEOUT_USEC` (one watchdog period): an instance waiting for Redis at start stays
"activating" as long as it likes instead of hitting `TimeoutStartSec=`, while one stuck before
READY=1 is still killed when its extension runs out.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping


class Notifier:
    """Talks to the service manager; every method is a no-op when not run under systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = socket_address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_seconds = watchdog_seconds(env, os.getpid())
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._ready = False
        self._status: str | None = None

    @property
    def enabled(self) -> bool:
        """True when run under a service manager that listens (NOTIFY_SOCKET is usable)."""
        return self.address is not None

    # -- messages ------------------------------------------------------------------------

    def notify(self, *assignments: str) -> bool:
        """Send `KEY=value` lines as one datagram; False when disabled or the send failed."""
        if self.address is None or not assignments:
            return False
        payload = "\n".join(assignments).encode()
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(payload, self.address)
            except OSError:
                return False  # the manager went away or is busy: never the daemon's problem
        return True

    def ready(self, status: str | None = None) -> bool:
        """READY=1 (once; again only after `reloading()`), optionally with a STATUS= line."""
        if self._ready:
            return self.status(status) if status is not None else False
        lines = ["READY=1", *([f"STATUS={status}"] if status is not None else [])]
        self._ready = self.notify(*lines)
        if self._ready and status is not None:
            self._status = status
        return self._ready

    def status(self, text: str) -> bool:
        """STATUS=text, shown by `systemctl status`; sent only when it differs from the last one."""
        if text == self._status:
            return False
        sent = self.notify(f"STATUS={text}")
        if sent:
            self._status = text
        return sent

    def stopping(self) -> bool:
        """STOPPING=1: shutdown has begun."""
        return self.notify("STOPPING=1")

    def reloading(self) -> bool:
        """RELOADING=1 (with MONOTONIC_USEC, as systemd 253+ wants); send `ready()` when done."""
        self._ready = False
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def watchdog(self) -> bool:
        """One WATCHDOG=1 ping."""
        return self.notify("WATCHDOG=1")

    # -- watchdog thread -----------------------------------------------------------------

    def start_watchdog(self, progress: Callable[[], bool]) -> bool:
        """Ping every WATCHDOG_USEC/2 while `progress()` is true (before `ready()`, extending the
        start timeout too); False when no watchdog is asked for (no NOTIFY_SOCKET, no
        WATCHDOG_USEC, or WATCHDOG_PID names another process)."""
        if self.address is None or self.watchdog_seconds is None or self._watchdog is not None:
            return False
        interval = self.watchdog_seconds / 2
        self._watchdog = threading.Thread(
            target=self._watch, args=(progress, interval), name="hasched-watchdog", daemon=True
        )
        self._watchdog.start()
        return True

    def _watch(self, progress: Callable[[], bool], interval: float) -> None:
        while True:
            try:
                alive = progress()
            except Exception:  # a broken probe must look like a stuck loop, not kill the thread
                alive = False
            if alive and self._ready:
                self.watchdog()
            elif alive:  # still starting (waiting for Redis): keep the start timeout from firing
                self.notify("WATCHDOG=1", f"EXTEND_TIMEOUT_USEC={round(interval * 2_000_000)}")
            if self._closed.wait(interval):
                return

    def close(self) -> None:
        """Stop the watchdog thread and close the socket."""
        self._closed.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def socket_address(value: str) -> str | bytes | None:
    """The address to send to for a NOTIFY_SOCKET value: a path, abstract bytes, or None."""
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return b"\0" + value[1:].encode()
    return None  # unset, or a kind we do not speak (vsock:...)


def watchdog_seconds(environ: Mapping[str, str], pid: int) -> float | None:
    """The watchdog timeout asked for this process, in seconds, or None."""
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(pid):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None


def loop_progress(last_pass: Callable[[], float], limit: float) -> Callable[[], bool]:
    """A `progress` probe: true while the loop went round (monotonic `last_pass()`) within `limit`."""
    return lambda: time.monotonic() - last_pass() < limit


def stall_limit(watchdog: float, lease_ttl: float) -> float:
    """How long the loop may go without a pass before it counts as stuck.

    At least the watchdog timeout, and never less than the longest legitimate gap between two
    passes: a Redis call blocked until its timeout (lease TTL / 3) on connect and again on read,
    plus the retry backoff (at most 2 s). Idle sleeps are shorter (the heartbeat, every TTL / 3).
    """
    return max(watchdog, lease_ttl + 2.5)


def leader_status(epoch: int) -> str:
    return f"leader epoch {epoch}"


def follower_status(leader: str | None) -> str:
    return f"follower; leader is {leader or 'none'}"


def redis_status(error: BaseException | None) -> str:
    return f"redis unreachable: {type(error).__name__ if error is not None else 'unknown error'}"
