"""A real redis-server on a free loopback port, for tests and the chaos harness.

Never touches a Redis the machine already runs (6379): every server here gets its own port and
its own temporary directory. `HASCHED_TEST_REDIS=docker` runs each in a container instead (see
`docker_env`). With CI set, a missing redis-server or Docker engine is a failure, not a skip.
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

import docker_env
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


def require(binary: str, package: str | None = None) -> str:
    """The path of `binary`; fails under CI, skips with the reason elsewhere. `package` is the
    Debian package that brings it, when its name differs from the binary's."""
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} not found on PATH (make test installs it: apt-get install {package or binary})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class RedisServer:
    """One redis-server process: start, kill, restart on the same port, pause, resume."""

    def __init__(
        self, *, appendonly: bool = False, extra: tuple[str, ...] = (), password: str | None = None
    ) -> None:
        self.prepare()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hasched-redis-"))
        self.appendonly = appendonly
        self.extra = (*extra, "--requirepass", password) if password else extra
        self.password = password
        self.proc: subprocess.Popen[bytes] | None = None

    def prepare(self) -> None:
        """What this kind of server needs before it can start: here the redis-server binary."""
        self.binary = require("redis-server")

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> Redis:
        return Redis(host="127.0.0.1", port=self.port, password=self.password)

    def args(self, directory: str) -> list[str]:
        """redis-server's options: this port on 127.0.0.1, no RDB snapshots, AOF if asked."""
        return ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", directory,
                "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always",
                *self.extra]  # fmt: skip

    def start(self) -> RedisServer:
        args = [self.binary, *self.args(str(self.dir)), "--logfile", str(self.dir / "redis.log")]
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

    def describe(self) -> str:
        return f"local {self.binary}"


class DockerRedis(RedisServer):
    """`HASCHED_TEST_REDIS=docker`: the same server in a container (host network, 127.0.0.1 only,
    its directory bind-mounted at /data so an AOF outlives the container's process). Killing,
    pausing and restarting it are `docker kill`/`start`, `pause`/`unpause` and `restart`."""

    def prepare(self) -> None:
        """A Docker engine and the Redis image (fails under CI, else skips, when there is none)."""
        self.image = docker_env.redis_image()
        self.container: docker_env.Container | None = None

    def start(self) -> DockerRedis:
        if self.container is None:
            args = ("redis-server", *self.args("/data"))
            name = docker_env.container_name("redis", self.port)
            self.container = docker_env.Container(name, self.image, args, {self.dir: "/data"}).run()
        else:
            self.container.do("start")
        wait_until_answers(self.client, f"container {self.container.name}, port {self.port}")
        return self

    def kill(self) -> None:
        if self.container is not None:
            self.container.do("kill")  # SIGKILL to the container's redis-server

    def restart(self) -> None:
        """`docker restart`: SIGTERM, then the same container starts again."""
        assert self.container is not None
        self.container.do("restart")
        wait_until_answers(self.client, f"container {self.container.name}, port {self.port}")

    def pause(self) -> None:
        assert self.container is not None
        self.container.do("pause")  # the cgroup freezer: the process stops, its sockets stay open

    def resume(self) -> None:
        assert self.container is not None
        self.container.do("unpause")

    def stop(self) -> None:
        if self.container is not None:
            self.container.remove()
        shutil.rmtree(self.dir, ignore_errors=True)

    def describe(self) -> str:
        return f"docker {self.image}"


def backend() -> str:
    """`HASCHED_TEST_REDIS`: "local" (default: redis-server processes) or "docker" (containers)."""
    chosen = os.environ.get("HASCHED_TEST_REDIS", "local")
    if chosen not in ("local", "docker"):
        raise ValueError(f"HASCHED_TEST_REDIS must be local or docker, not {chosen!r}")
    return chosen


def backend_summary() -> list[str]:
    """What ran, for the end of the test output: the backend and each Docker image used."""
    lines = [f"redis backend: {backend()} (HASCHED_TEST_REDIS=local|docker)"]
    return lines + [f"docker image {image}: {how}" for image, how in docker_env.IMAGES.items()]


def new_server(
    *, appendonly: bool = False, extra: tuple[str, ...] = (), password: str | None = None
) -> RedisServer:
    """A (not yet started) server of the chosen backend."""
    kind = DockerRedis if backend() == "docker" else RedisServer
    return kind(appendonly=appendonly, extra=extra, password=password)


def shared_server() -> RedisServer:
    """The server behind the `redis_server` fixture, of the chosen backend."""
    return new_server().start()
