"""`make demo`: a local Redis, three `hasched run` instances, one `rq worker`, sample schedules
and a live view of who leads and what fired. Ctrl-C stops it all.

Uses the Redis on localhost:6379 under the namespace `hasched-demo` when one answers, else starts
a throwaway `redis-server` on a free loopback port. Kill the leader from another terminal
(the view prints its pid) and watch another instance take over within the lease TTL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis

from hasched import Scheduler
from hasched._status import status
from hasched._store import Store

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
NAMESPACE = "hasched-demo"
QUEUE = "hasched-demo"
RAN = "hasched-demo:ran"
LEASE_TTL = "3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def local_redis(procs: list[subprocess.Popen[bytes]], workdir: Path) -> str:
    """The machine's Redis if it answers, else a throwaway one of our own."""
    try:
        if Redis(socket_connect_timeout=0.5).ping():
            return "redis://127.0.0.1:6379/0"
    except Exception:
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("error: no Redis on localhost:6379 and no redis-server (run `make deps`)")
    port = free_port()
    procs.append(
        subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL,
        )
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            if Redis.from_url(url).ping():
                return url
        except Exception:
            time.sleep(0.05)
    raise SystemExit("error: redis-server did not start")


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    with log.open("ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=out, env=env, start_new_session=True)


def add_samples(redis: Redis) -> None:
    s = Scheduler(redis, NAMESPACE)
    sec, _ = redis.time()
    now = datetime.fromtimestamp(int(sec), UTC)
    s.cron("every-2s", "*/2 * * * * *", "demo_tasks.hello", args=["cron"], queue=QUEUE)
    s.every("every-3s", 3, "demo_tasks.hello", args=["interval"], queue=QUEUE, start=now)
    s.at("in-5s", now + timedelta(seconds=5), "demo_tasks.hello_async", args=["one-off"], queue=QUEUE)


def render(redis: Redis, pids: dict[str, int]) -> str:
    st = status(Store(redis, NAMESPACE))
    lines = [f"hasched demo — namespace {NAMESPACE} — {datetime.now(UTC):%H:%M:%S} UTC", ""]
    lines.append(f"leader: {st['leader'] or '(none: election in progress)'}   epoch {st['epoch']}")
    for inst in st["instances"]:
        mark = "  <- leader" if inst["leader"] else ""
        pid = pids.get(inst["id"], "?")
        lines.append(
            f"  {inst['id']:<8} pid {pid:<7} heartbeat {inst['heartbeat_age_seconds']:4.1f}s ago{mark}"
        )
    lines += ["", "last fires (schedule, nominal fire time, epoch that enqueued it, run lag):"]
    for raw in redis.lrange(RAN, 0, 9):
        e = json.loads(raw)
        fire = datetime.fromisoformat(e["fire_time"])
        lag = e["ran_at"] - fire.timestamp()
        lines.append(
            f"  {e['schedule']:<10} {fire:%H:%M:%S.%f}  epoch {e['epoch']:<3} ran +{lag * 1000:6.1f} ms"
        )
    lines += ["", "try: kill -9 <leader pid> in another terminal; Ctrl-C here stops everything"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=0, help="stop after this many seconds")
    opts = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hasched-demo-"))
    procs: list[subprocess.Popen[bytes]] = []
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        url = local_redis(procs, workdir)
        redis = Redis.from_url(url)
        redis.delete(RAN)
        pids: dict[str, int] = {}
        for i in (1, 2, 3):
            name = f"demo-{i}"
            cmd = [str(BIN / "hasched"), "run", "--redis-url", url, "--namespace", NAMESPACE,
                   "--instance-id", name, "--lease-ttl", LEASE_TTL, "--metrics-addr", "",
                   "--log-format", "json"]  # fmt: skip
            proc = start(cmd, workdir / f"{name}.log")
            procs.append(proc)
            pids[name] = proc.pid
        worker = [str(BIN / "rq"), "worker", "--url", url, "-w", "rq.worker.SimpleWorker", QUEUE]
        procs.append(start(worker, workdir / "worker.log"))
        add_samples(redis)
        deadline = time.monotonic() + opts.duration if opts.duration else float("inf")
        while time.monotonic() < deadline:
            view = render(redis, pids)
            print("\033[2J\033[H" + view if sys.stdout.isatty() else view + "\n", flush=True)
            time.sleep(0.5 if sys.stdout.isatty() else 2)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        print(f"stopped; logs in {workdir}")


if __name__ == "__main__":
    main()
