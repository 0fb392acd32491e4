"""A real redis-server on a free loopback port, for tests and the chaos harness.

Never touches a Redis the machine already runs (6379): every server here gets its own port and
its own temporary directory. With CI set, a missing redis-server is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest
from redis import Redis


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_answers(client: Callable[[], Redis], where: str, timeout: float = 10) -> None:
    """Poll PING until a freshly started redis-server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client().ping():
                return
        except Exception:
            time.sleep(0.02)
    raise RuntimeError(f"redis-server did not start on {where}")


def require(binary: str) -> str:
    """The path of `binary`; fails under CI, skips with the reason elsewhere."""
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} not found on PATH (make test installs it: apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class RedisServer:
    """One redis-server process: start, kill, restart on the same port, pause, resume."""

    def __init__(
        self, *, appendonly: bool = False, extra: tuple[str, ...] = (), password: str | None = None
    ) -> None:
        self.binary = require("redis-server")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hasched-redis-"))
        self.appendonly = appendonly
        self.extra = (*extra, "--requirepass", password) if password else extra
        self.password = password
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> Redis:
        return Redis(host="127.0.0.1", port=self.port, password=self.password)

    def start(self) -> RedisServer:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
            "--logfile",
            str(self.dir / "redis.log"),
            *self.extra,
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_answers(self.client, f"port {self.port}")
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class DockerRedis(RedisServer):
    """`HASCHED_TEST_REDIS=docker`: a `redis:7` container through testcontainers, for a
    developer whose machine has a Docker engine but no redis-server. It serves the shared
    `redis_server` fixture; scenarios that kill, pause or restart Redis always use a local
    redis-server. Needs `pip install 'testcontainers[redis]'`."""

    def __init__(self) -> None:
        self.password = None
        self.container: Any = None
        self.port = 0

    def start(self) -> DockerRedis:
        try:
            from testcontainers.redis import RedisContainer
        except ImportError:
            _unavailable("HASCHED_TEST_REDIS=docker needs: pip install 'testcontainers[redis]'")
        try:
            self.container = RedisContainer("redis:7").start()
        except Exception as e:  # no Docker engine answered
            _unavailable(f"HASCHED_TEST_REDIS=docker, but no Docker engine answered: {e}")
        self.port = int(self.container.get_exposed_port(6379))
        wait_until_answers(self.client, f"container port {self.port}")
        return self

    def stop(self) -> None:
        if self.container is not None:
            self.container.stop()


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def shared_server() -> RedisServer:
    """The server behind the `redis_server` fixture: local by default, Docker when asked."""
    if os.environ.get("HASCHED_TEST_REDIS", "local") == "docker":
        return DockerRedis().start()
    return RedisServer().start()
