"""A real hasched cluster for tests: `hasched run` and `rq worker` processes on one Redis.

Used by the multi-process tests here and by the chaos suite. Every process is a real
subprocess; its stderr goes to a log file that `report()` prints when a test fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from redis_server import free_port

from hasched._keys import Keys, parse_lease

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


@dataclass
class Proc:
    """One child process and where its output goes."""

    name: str
    args: list[str]
    log: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        out = self.log.open("ab")
        self.popen = subprocess.Popen(self.args, stdout=out, stderr=out, env=self.env, cwd=HERE)
        out.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if self.popen is None:
            return None
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait(timeout)

    def kill(self) -> None:
        if self.popen is not None and self.alive():
            self.popen.kill()
            self.popen.wait(10)

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines this process wrote."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out


@dataclass
class Cluster:
    """N scheduler instances and M workers sharing one Redis namespace."""

    redis_url: str
    namespace: str = "hasched"
    lease_ttl: float = 2.0
    retry_period: float = 0.2
    queues: tuple[str, ...] = ("default",)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hasched-cluster-")))
    instances: dict[str, Proc] = field(default_factory=dict)
    workers: list[Proc] = field(default_factory=list)
    metrics_ports: dict[str, int] = field(default_factory=dict)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
        env["PYTHONUNBUFFERED"] = "1"
        env.update(extra or {})
        return env

    def start_instance(self, name: str, *, redis_url: str | None = None, metrics: bool = False,
                       extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None,
                       log_level: str = "info", url_in_env: bool = False) -> Proc:  # fmt: skip
        """Start `hasched run` as instance `name` (with /metrics on a free port if asked)."""
        addr = ""
        if metrics:
            self.metrics_ports[name] = free_port()
            addr = f"127.0.0.1:{self.metrics_ports[name]}"
        url = redis_url or self.redis_url
        env = {**(env or {}), "HASCHED_REDIS_URL": url} if url_in_env else env
        args = [str(BIN / "hasched"), "run", *([] if url_in_env else ["--redis-url", url]),
                "--namespace", self.namespace, "--instance-id", name,
                "--lease-ttl", str(self.lease_ttl), "--retry-period", str(self.retry_period),
                "--metrics-addr", addr, "--log-format", "json", "--log-level", log_level,
                *extra_args]  # fmt: skip
        proc = Proc(name, args, self.workdir / f"{name}.log", self.env(env)).start()
        self.instances[name] = proc
        return proc

    def http(self, name: str, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
        """GET an endpoint of instance `name`: (status code, body)."""
        url = f"http://127.0.0.1:{self.metrics_ports[name]}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return int(resp.status), bytes(resp.read())
        except urllib.error.HTTPError as e:
            return int(e.code), bytes(e.read())

    def scrape(self, name: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of instance `name`'s /metrics: (name, sorted labels) -> value."""
        code, body = self.http(name, "/metrics")
        assert code == 200, (name, code)
        samples = {}
        for family in text_string_to_metric_families(body.decode()):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
        return samples

    def metric(self, name: str, sample: str, **labels: str) -> float | None:
        """One sample of instance `name`'s /metrics; None while the endpoint does not answer yet
        or the sample is absent (a predicate for `wait_for`)."""
        try:
            return self.scrape(name).get((sample, tuple(sorted(labels.items()))))
        except urllib.error.URLError:
            return None

    def start_worker(self, name: str | None = None, worker_class: str = "rq.worker.SimpleWorker") -> Proc:
        """An `rq worker` on the cluster's queues (a forking `rq.worker.Worker` can have a job
        stopped with `send_stop_job_command`; the default runs jobs in its own process)."""
        name = name or f"worker{len(self.workers)}"
        args = [
            str(BIN / "rq"),
            "worker",
            "--url",
            self.redis_url,
            "--name",
            f"{name}-{os.getpid()}-{time.monotonic_ns()}",
            "-w",
            worker_class,
            "--path",
            str(HERE),
            *self.queues,
        ]
        proc = Proc(name, args, self.workdir / f"{name}.log", self.env()).start()
        self.workers.append(proc)
        return proc

    def client(self) -> Redis:
        return Redis.from_url(self.redis_url)

    def leader(self) -> tuple[str, int] | None:
        """(instance id, epoch) of the current lease holder, from Redis."""
        raw = self.client().get(Keys(self.namespace).lease)
        return None if raw is None else parse_lease(raw)

    def wait_leader(self, timeout: float = 15, exclude: str | None = None) -> tuple[str, int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.leader()
            if found and found[0] != exclude and found[0] in self.instances:
                return found
            time.sleep(0.01)
        raise AssertionError(f"no leader (other than {exclude}) within {timeout}s\n{self.report()}")

    def report(self, tail: int = 30) -> str:
        parts = []
        for proc in [*self.instances.values(), *self.workers]:
            lines = proc.log.read_text(errors="replace").splitlines()[-tail:] if proc.log.exists() else []
            parts.append(f"--- {proc.name} (alive={proc.alive()}) ---\n" + "\n".join(lines))
        return "\n".join(parts)

    def stop(self) -> None:
        for proc in [*self.instances.values(), *self.workers]:
            proc.stop()


class ClusterFactory(Protocol):
    """The `cluster_factory` fixture: a cluster on `redis_url` (the shared test Redis if None)."""

    def __call__(
        self,
        redis_url: str | None = None,
        *,
        namespace: str = "hasched",
        lease_ttl: float = 2.0,
        retry_period: float = 0.2,
        queues: tuple[str, ...] = ("default",),
    ) -> Cluster: ...


Hasched = Callable[..., subprocess.CompletedProcess[str]]


def console(redis_url: str, namespace: str) -> Hasched:
    """A runner of the `hasched` console script, as a user types it, on one Redis and namespace."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(BIN / "hasched"), *args, "--redis-url", redis_url, "--namespace", namespace]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

    return run
