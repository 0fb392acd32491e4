"""Real `hasched run` processes over the stored schedules: idle CPU, and a takeover's first tick.

Each instance runs `hasched run --metrics-addr '' --log-format json` (no HTTP endpoint), its log
in the work directory. CPU is read from /proc/<pid>/stat (user + system) over the sampling window.
The first tick after a takeover is timed from the new leader's own log: from its
`hasched.lease.acquired` line to the `hasched.tick.committed` line of the tick that enqueued a
one-off created due right after the old leader died (so the first tick has work to do).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from bench_tasks import noop
from redis import Redis
from scale_load import cpu_s, redis_pid

from hasched import Scheduler
from hasched._triggers import from_us

BIN = Path(sys.executable).parent
LEASE_TTL = 3.0
WAIT_S = 30.0


class Instance:
    """One `hasched run` process and its log."""

    def __init__(self, stack: ExitStack, url: str, ns: str, name: str, workdir: Path) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        argv = [str(BIN / "hasched"), "run", "--redis-url", url, "--namespace", ns, "--instance-id", name,
                "--metrics-addr", "", "--lease-ttl", str(LEASE_TTL), "--log-format", "json"]  # fmt: skip
        out = stack.enter_context(self.log.open("wb"))
        self.proc = stack.enter_context(_running(argv, out))

    def events(self, name: str) -> list[dict[str, Any]]:
        """This instance's log lines for the event `name`, oldest first."""
        out = []
        for raw in self.log.read_text().splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("event") == name:
                out.append(line)
        return out

    def cpu_s(self) -> float:
        return cpu_s(self.proc.pid)


@contextmanager
def _running(argv: list[str], out: Any) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait(check: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


def leader_of(instances: list[Instance]) -> Instance:
    return wait(lambda: next((i for i in instances if i.events("hasched.lease.acquired")), None), "a leader")


def ts(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()


def idle(redis: Redis, instances: list[Instance], seconds: float) -> dict[str, Any]:
    """CPU of the leader, the follower and redis-server over `seconds` with nothing due."""
    leader = leader_of(instances)
    follower = next(i for i in instances if i is not leader)
    time.sleep(2 * LEASE_TTL)  # past start-up: the follower has tried the lease a few times
    rpid = redis_pid(redis)
    before = (leader.cpu_s(), follower.cpu_s(), cpu_s(rpid), time.monotonic())
    time.sleep(seconds)
    after = (leader.cpu_s(), follower.cpu_s(), cpu_s(rpid), time.monotonic())
    span = after[3] - before[3]

    def pct(i: int) -> float:
        return round(100 * (after[i] - before[i]) / span, 3)

    return {"seconds": round(span, 1), "leader_pct": pct(0), "follower_pct": pct(1), "redis_pct": pct(2)}


def takeover(redis: Redis, ns: str, old: Instance, new: Instance, sig: signal.Signals) -> dict[str, Any]:
    """Stop the leader with `sig`; time the new leader's takeover and first tick."""
    api = Scheduler(redis, ns)
    probe = f"probe-{sig.name.lower()}"
    if sig == signal.SIGKILL:
        os.kill(old.proc.pid, sig)
        old.proc.wait()
        killed = time.time()
        sec, usec = redis.time()
        api.at(probe, from_us(int(sec) * 1_000_000 + int(usec)), noop, args=[probe])  # due at once
    else:
        killed = time.time()
        os.kill(old.proc.pid, sig)
        old.proc.wait()
    acquired = wait(lambda: new.events("hasched.lease.acquired"), "the takeover")[0]
    out: dict[str, Any] = {"signal": sig.name, "kill_to_acquired_s": round(ts(acquired) - killed, 3)}
    if sig == signal.SIGKILL:
        committed = wait(lambda: new.events("hasched.tick.committed"), "the first tick")[0]
        out["first_tick_ms"] = round((ts(committed) - ts(acquired)) * 1000, 1)
        out["probe_landed"] = redis.lrange("rq:queue:default", 0, -1) != []
    return out


def run(redis: Redis, url: str, ns: str, workdir: Path, idle_s: float) -> dict[str, Any]:
    """Idle CPU with a leader and a follower; a SIGKILL takeover; a SIGTERM handover."""
    with ExitStack() as stack:
        a, b = (Instance(stack, url, ns, name, workdir) for name in ("scale-a", "scale-b"))
        result: dict[str, Any] = {"idle": idle(redis, [a, b], idle_s)}
        old = leader_of([a, b])
        new = b if old is a else a
        result["sigkill"] = takeover(redis, ns, old, new, signal.SIGKILL)
        c = Instance(stack, url, ns, "scale-c", workdir)
        wait(lambda: c.events("hasched.instance.started"), "a third instance")
        time.sleep(LEASE_TTL)  # it is a follower now, subscribed to the wake-ups
        result["sigterm"] = takeover(redis, ns, new, c, signal.SIGTERM)
    return result
