"""Debian hosts in containers with systemd as PID 1, hasched installed by the README's steps.

The image is a `debootstrap --variant=minbase` bookworm with systemd and python3-venv, from the
machine's configured Debian mirror, `docker import`ed and kept under a tag naming the recipe.
Containers cannot reach a package index, so hasched and its pinned dependencies come from a
wheelhouse built on the host (`pip wheel`) and installed with `pip install --no-index`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from docker_env import IMAGES, Container, engine, has_image, unavailable
from helpers import wait_for

REPO = Path(__file__).resolve().parent.parent
PACKAGES = "systemd,systemd-sysv,dbus,python3,python3-venv"
SUITE = "bookworm"
# What systemd needs to run as PID 1 without --privileged; SYS_PTRACE lets the test nsenter a
# service's mount namespace (the units drop every capability themselves).
SYSTEMD_OPTIONS = ("--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE",
                   "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                   "--tmpfs", "/run", "--tmpfs", "/run/lock",
                   "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--stop-signal", "SIGRTMIN+3")  # fmt: skip

# A job for the workers: it tries to write where the hardening forbids it and reports to Redis.
PROBE = """
import errno, json, os
from rq import get_current_job

def attempt_writes():
    out = {}
    for d in ("/var/lib/hasched-probe", "/opt/hasched", "/etc/hasched", "/tmp"):
        try:
            with open(os.path.join(d, "probe-%d" % os.getpid()), "w") as f:
                f.write("x")
            out[d] = "written"
        except OSError as e:
            out[d] = errno.errorcode[e.errno]
    entry = {"host": os.environ.get("HASCHED_INSTANCE_ID"), "uid": os.getuid(), "writes": out}
    get_current_job().connection.rpush("test:probe", json.dumps(entry))
"""


def mirror() -> str:
    """The Debian mirror apt is configured with here (deb.debian.org if none is found)."""
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        text = source.read_text(errors="replace") if source.is_file() else ""
        found = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M) or re.search(
            rf"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s+{SUITE}\s", text, re.M
        )
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


def systemd_image() -> str:
    """The host image: built once (about a minute), then found by its tag."""
    engine()
    tag = f"hasched-systemd:{SUITE}-{hashlib.sha256(PACKAGES.encode()).hexdigest()[:8]}"
    if has_image(tag):
        IMAGES.setdefault(tag, "cached")
        return tag
    if shutil.which("debootstrap") is None:
        unavailable("debootstrap not found (make test installs it: apt-get install debootstrap)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hasched-rootfs-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "root"
        debootstrap = [
            "debootstrap",
            "--variant=minbase",
            f"--include={PACKAGES}",
            SUITE,
            str(root),
            mirror(),
        ]
        subprocess.run(debootstrap, check=True, capture_output=True, timeout=900)
        subprocess.run(f"tar -C {root} -c . | docker import --change 'CMD [\"/sbin/init\"]' - {tag}",
                       shell=True, check=True, capture_output=True, timeout=600)  # fmt: skip
    IMAGES[tag] = f"built this run with debootstrap from {mirror()} in {time.monotonic() - started:.0f} s"
    return tag


# Wheels the host's Python does not need but bookworm's 3.11.2 does (redis wants it before 3.11.3).
FOR_THE_HOSTS_PYTHON = ("async-timeout>=4.0.3",)


def wheelhouse(into: Path) -> Path:
    """hasched and requirements.lock as wheels, built on the host with pip."""
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(into)]
    args = ["-r", str(REPO / "requirements.lock"), str(REPO), *FOR_THE_HOSTS_PYTHON]
    subprocess.run([*pip, *args], check=True, capture_output=True, timeout=600)
    return into


@dataclass
class Host:
    """One container running systemd, named `name` (also its HASCHED_INSTANCE_ID)."""

    name: str
    container: Container

    @classmethod
    def boot(cls, name: str, image: str, wheels: Path, tag: str) -> Host:
        volumes = {wheels: "/wheels:ro", REPO: "/src:ro"}
        c = Container(f"hasched-host-{tag}-{name}", image, ("/sbin/init",), volumes, SYSTEMD_OPTIONS)
        return cls(name, c.run())

    def sh(self, script: str, timeout: float = 120) -> str:
        """Run a shell script as root on the host; its stdout (AssertionError if it fails)."""
        proc = self.container.exec("sh", "-ec", script, timeout=timeout)
        assert proc.returncode == 0, f"{self.name}: {script}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout.strip()

    def wait_booted(self) -> None:
        """Until systemd finished booting (right after `docker run` it does not answer yet)."""

        def state() -> str:
            return self.container.exec("systemctl", "is-system-running", "--wait", timeout=120).stdout.strip()

        wait_for(lambda: state() in ("running", "degraded"), timeout=60)

    def install(self, env: str, schedules: str) -> None:
        """The README's install steps, with the wheelhouse standing in for the package index."""
        self.sh("useradd --system --user-group --no-create-home --home-dir /nonexistent "
                "--shell /usr/sbin/nologin hasched")  # fmt: skip
        self.sh("python3 -m venv /opt/hasched/venv && /opt/hasched/venv/bin/pip install -q --no-index "
                "--find-links /wheels -r /src/requirements.lock hasched", timeout=300)  # fmt: skip
        units = "/src/deploy/systemd/hasched.service /src/deploy/systemd/hasched-worker@.service"
        self.sh(f"install -m 0644 {units} /etc/systemd/system/")
        self.sh("install -d -m 0750 -o root -g hasched /etc/hasched")
        self.write("/etc/hasched/hasched.env", env)
        self.write("/etc/hasched/schedules.toml", schedules)
        self.write("/opt/probe/probe.py", PROBE, mode="0644")
        self.sh(
            "install -d -m 0755 -o hasched -g hasched /var/lib/hasched-probe"
        )  # writable but for hardening
        self.sh(
            "systemctl daemon-reload && systemctl enable --now hasched hasched-worker@default", timeout=120
        )

    def write(self, path: str, text: str, mode: str = "0640") -> None:
        script = (
            f"mkdir -p $(dirname {path}) && cat > {path} && chown root:hasched {path} && chmod {mode} {path}"
        )
        proc = subprocess.run(["docker", "exec", "-i", self.container.name, "sh", "-ec", script],
                              input=text, text=True, capture_output=True)  # fmt: skip
        assert proc.returncode == 0, proc.stderr

    def show(self, unit: str, prop: str) -> str:
        return self.sh(f"systemctl show -p {prop} --value {unit}")

    def journal(self, unit: str = "hasched") -> list[str]:
        return self.sh(f"journalctl -u {unit} -o cat --no-pager").splitlines()

    def remove(self) -> None:
        self.container.remove()
