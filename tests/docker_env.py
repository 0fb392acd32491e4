"""Docker for the tests: the engine, the Redis image, and containers on the host's loopback.

No registry may be reachable, so the Redis image is `redis:7` only when it is already present or
can be pulled; otherwise it is built here from the machine's own Debian `redis-server` (the binary
and the shared libraries it loads, `docker import`ed, tagged with the Redis version) and kept for
later runs. Every container runs on the host network and binds 127.0.0.1 only.

With CI set, a missing Docker engine is a failure; elsewhere the test skips and says why.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

OFFICIAL = "redis:7"
LOCAL_REPO = "hasched-redis"
# Every container the tests make carries this label (`docker rm -f $(docker ps -aq --filter
# label=hasched-test)` removes what an interrupted run left behind).
LABEL = "hasched-test"
# Which images ran, and whether this run built them: the summary line of tests/ and chaos/.
IMAGES: dict[str, str] = {}


def unavailable(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def docker(*args: str, timeout: float = 60, stdin: bytes | None = None) -> str:
    """Run the docker client; its stdout, or RuntimeError with its stderr."""
    proc = subprocess.run(["docker", *args], input=stdin, capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode(errors="replace").strip()


@functools.cache
def engine() -> str:
    """The Docker engine's version; fails (CI) or skips when no client or engine answers."""
    if shutil.which("docker") is None:
        unavailable("no docker client on PATH (make test installs docker.io and starts dockerd)")
    try:
        return docker("version", "--format", "{{.Server.Version}}", timeout=20)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        unavailable(f"no Docker engine answered (make test starts dockerd): {e}")


def has_image(tag: str) -> bool:
    try:
        docker("image", "inspect", tag)
        return True
    except RuntimeError:
        return False


@functools.cache
def redis_image() -> str:
    """The Redis image to run: HASCHED_REDIS_IMAGE, else redis:7 if present or pullable, else
    the local build from the Debian binary (built once, then cached by its tag)."""
    engine()
    chosen = os.environ.get("HASCHED_REDIS_IMAGE")
    if chosen:
        IMAGES[chosen] = "given by HASCHED_REDIS_IMAGE"
        return chosen
    if has_image(OFFICIAL) or _pulled(OFFICIAL):
        IMAGES[OFFICIAL] = "from the registry"
        return OFFICIAL
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable(
            "no registry answered and no redis-server to build an image from (apt-get install redis-server)"
        )
    tag = f"{LOCAL_REPO}:{redis_version(binary)}"
    if has_image(tag):
        IMAGES[tag] = "cached, built from the Debian redis-server"
        return tag
    started = time.monotonic()
    docker("import", "--change", "ENV PATH=/usr/bin", "--change", "WORKDIR /data",
           "-", tag, stdin=rootfs_tar(Path(binary)), timeout=300)  # fmt: skip
    IMAGES[tag] = f"built this run from the Debian redis-server in {time.monotonic() - started:.1f} s"
    return tag


def _pulled(tag: str) -> bool:
    try:
        docker("pull", "-q", tag, timeout=120)
        return True
    except (RuntimeError, subprocess.TimeoutExpired):
        return False


def redis_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"v=(\d+\.\d+\.\d+)", out)
    if found is None:
        raise RuntimeError(f"cannot read the version of {binary}: {out!r}")
    return found.group(1)


def shared_libraries(binary: Path) -> list[Path]:
    """Every shared object the dynamic loader maps for `binary` (ldd's answer), loader included."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    return [Path(p) for p in re.findall(r"(/\S+) \(0x", out)]


def rootfs_tar(binary: Path) -> bytes:
    """A root file system with nothing but `binary` as /usr/bin/redis-server, its libraries at the
    paths it looks them up by, and empty /data and /tmp."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("data", "tmp", "usr", "usr/bin"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(binary.resolve(), "usr/bin/redis-server")
        for lib in shared_libraries(binary):
            tar.add(lib.resolve(), str(lib).lstrip("/"))  # the file itself, under the name looked up
    return buf.getvalue()


@dataclass
class Container:
    """One container on the host network, made by `run` and removed by `remove`."""

    name: str
    image: str
    command: tuple[str, ...]
    volumes: dict[Path, str] = field(default_factory=dict)
    options: tuple[str, ...] = ()

    def run(self) -> Container:
        mounts = [arg for host, inside in self.volumes.items() for arg in ("-v", f"{host}:{inside}")]
        docker("run", "-d", "--name", self.name, "--label", LABEL, "--network", "host",
               *mounts, *self.options, self.image, *self.command)  # fmt: skip
        return self

    def do(self, action: str, *args: str) -> None:
        """`docker kill|start|pause|unpause|restart|stop NAME`."""
        docker(action, *args, self.name)

    def exec(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", "exec", self.name, *command], capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip

    def logs(self) -> str:
        proc = subprocess.run(["docker", "logs", "--tail", "50", self.name], capture_output=True, text=True)
        return proc.stdout + proc.stderr

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True, timeout=60)


def container_name(kind: str, port: int) -> str:
    return f"hasched-{kind}-{os.getpid()}-{port}"
