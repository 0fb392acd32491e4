"""systemd support: the unit files pass `systemd-analyze verify`, the sd_notify protocol of
`Notifier` against real datagram sockets, and a real `hasched run` talking to a stand-in service
manager (READY, STATUS, WATCHDOG, STOPPING; a stuck loop falls silent, a lost Redis does not)."""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import BIN, Cluster, ClusterFactory
from helpers import wait_for
from redis import Redis
from redis_server import RedisServer
from rq import Queue
from rq.job import JobStatus

from hasched._faults import HANG_FILE_ENV, FaultHooks
from hasched._systemd import (
    Notifier,
    follower_status,
    leader_status,
    loop_progress,
    redis_status,
    socket_address,
    stall_limit,
    watchdog_seconds,
)
from hasched.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "deploy" / "systemd"


# -- a stand-in service manager ------------------------------------------------------------------


class Manager:
    """A unix datagram socket that records every sd_notify message as (monotonic time, fields)."""

    def __init__(self, abstract: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hs-notify-"))  # short: sun_path holds 108 bytes
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"hasched-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self.sock.bind(b"\0" + name.encode())
            self.address = "@" + name
        else:
            self.address = str(self.dir / "notify.sock")
            self.sock.bind(self.address)
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self._lock:
                self.messages.append((time.monotonic(), fields))

    def seen(self, key: str, value: str | None = None, since: float = 0.0) -> list[float]:
        """When messages with `key` (equal to `value`, if given) arrived after `since`."""
        with self._lock:
            return [t for t, f in self.messages if t > since and key in f and value in (None, f[key])]

    def statuses(self, since: float = 0.0) -> list[str]:
        with self._lock:
            return [f["STATUS"] for t, f in self.messages if t > since and "STATUS" in f]

    def wait(self, key: str, value: str | None = None, *, since: float = 0.0, timeout: float = 10) -> float:
        """The time the first matching message arrived; fails the test after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.seen(key, value, since)
            if found:
                return found[0]
            time.sleep(0.01)
        raise AssertionError(f"no {key}={value or '*'} within {timeout}s; got {self.messages}")

    def wait_status(self, prefix: str, *, since: float = 0.0, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [s for s in self.statuses(since) if s.startswith(prefix)]
            if found:
                return found[0]
            time.sleep(0.01)
        raise AssertionError(f"no STATUS={prefix}... within {timeout}s; got {self.statuses()}")

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture()
def manager() -> Iterator[Manager]:
    m = Manager()
    yield m
    m.close()


def max_gap(times: list[float]) -> float:
    return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


# -- the unit files ------------------------------------------------------------------------------


def require_tool(binary: str, hint: str) -> str:
    """The path of `binary`; fails under CI, skips with the reason elsewhere."""
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} not found on PATH ({hint})"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    return str(path)


def unit_directives(path: Path) -> dict[str, list[str]]:
    """`Section.Key` -> every value assigned to it, in order."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return out


def installable_copy(tmp_path: Path, name: str) -> Path:
    """The unit in a scratch dir, pointed at binaries and files that exist on this machine."""
    text = (UNITS / name).read_text()
    text = text.replace("/opt/hasched/venv/bin/", f"{BIN}/")
    env = tmp_path / "hasched.env"
    shutil.copy(UNITS / "hasched.env.example", env)
    text = text.replace("EnvironmentFile=/etc/hasched/hasched.env", f"EnvironmentFile={env}")
    text = text.replace("WorkingDirectory=/opt/hasched", f"WorkingDirectory={tmp_path}")
    settings = [line for line in text.splitlines() if not line.startswith("#")]
    assert not [line for line in settings if "/opt/hasched" in line], "a path the test did not rewrite"
    dest = tmp_path / name
    dest.write_text(text)
    return dest


@pytest.mark.parametrize(
    ("template", "unit"),
    [("hasched.service", "hasched.service"), ("hasched-worker@.service", "hasched-worker@default.service")],
)
def test_units_pass_systemd_analyze_verify(tmp_path: Path, template: str, unit: str) -> None:
    analyze = require_tool("systemd-analyze", "apt-get install systemd")
    installable_copy(tmp_path, template)
    # No running systemd needed: verify loads the unit (instantiating the template) from its path.
    env = {**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_UNIT_PATH": f"{tmp_path}:"}
    proc = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / unit)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)  # fmt: skip
    output = proc.stdout + proc.stderr
    print(output)
    assert proc.returncode == 0, output
    # Unknown keys and bad values are warnings with exit code 0: any line about our unit fails.
    about_unit = [line for line in output.splitlines() if template in line or unit in line]
    assert about_unit == [], output


@pytest.mark.parametrize("unit", ["hasched.service", "hasched-worker@default.service"])
def test_units_are_hardened(tmp_path: Path, unit: str) -> None:
    analyze = require_tool("systemd-analyze", "apt-get install systemd")
    installable_copy(tmp_path, "hasched-worker@.service" if "@" in unit else unit)
    proc = subprocess.run([analyze, "security", "--offline=yes", "--no-pager", str(tmp_path / unit)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)  # fmt: skip
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", proc.stdout + proc.stderr)
    if found is None:
        pytest.skip(f"this systemd-analyze has no offline security report:\n{proc.stderr}")
    print(proc.stdout)
    assert float(found.group(1)) <= 2.0, proc.stdout  # systemd rates 0-2 as "OK"


def test_scheduler_unit_contract() -> None:
    d = unit_directives(UNITS / "hasched.service")
    expected = {"Type": "notify", "NotifyAccess": "main", "WatchdogSec": "30", "Restart": "always",
                "RestartSec": "2", "User": "hasched", "Group": "hasched", "KillSignal": "SIGTERM",
                "ExecStart": "/opt/hasched/venv/bin/hasched run", "UMask": "0077",
                "CapabilityBoundingSet": "", "EnvironmentFile": "/etc/hasched/hasched.env",
                "MemoryDenyWriteExecute": "yes"}  # fmt: skip
    for key, value in expected.items():
        assert d.get(f"Service.{key}") == [value], key
    # a graceful handoff needs well under a second; a stuck stop is killed after TimeoutStopSec
    assert 10 <= int(d["Service.TimeoutStopSec"][0]) <= 120


def test_worker_unit_contract() -> None:
    d = unit_directives(UNITS / "hasched-worker@.service")
    assert d["Service.ExecStart"] == ["/opt/hasched/venv/bin/rq worker $RQ_QUEUES"]
    assert "RQ_QUEUES=%i" in d["Service.Environment"]  # the instance name is the default queue
    assert d["Service.KillMode"] == ["mixed"]  # SIGTERM to rq only: warm shutdown, job finishes
    assert d["Service.KillSignal"] == ["SIGTERM"]
    assert d["Service.User"] == ["hasched"]
    hardening = unit_directives(UNITS / "hasched.service")
    for key in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
                "RestrictAddressFamilies", "CapabilityBoundingSet", "SystemCallArchitectures"):  # fmt: skip
        assert d[f"Service.{key}"] == hardening[f"Service.{key}"], key


@pytest.mark.slow
def test_rq_worker_finishes_its_job_on_sigterm(redis_server: RedisServer, redis: Redis) -> None:
    """What hasched-worker@.service relies on (KillMode=mixed: SIGTERM to rq only): warm shutdown."""
    job = Queue("default", connection=redis).enqueue("time.sleep", 1.5)
    worker = subprocess.Popen([str(BIN / "rq"), "worker", "--url", redis_server.url, "default"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_for(lambda: job.get_status(refresh=True) == JobStatus.STARTED, timeout=10)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
        assert job.get_status(refresh=True) == JobStatus.FINISHED
    finally:
        worker.kill()
        output = worker.communicate()[0]
        print(output.decode(errors="replace"))


def test_env_example_documents_every_run_setting() -> None:
    text = (UNITS / "hasched.env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    run = commands.choices["run"]
    wanted = {f"HASCHED_{a.dest.upper()}" for a in run._actions if a.dest != "help"}
    assert wanted - documented == set()
    assert {"RQ_REDIS_URL", "RQ_QUEUES"} <= documented
    for line in text.splitlines():  # systemd's EnvironmentFile syntax: VAR=value or comments
        assert not line or line.startswith("#") or re.fullmatch(r"[A-Z][A-Z0-9_]*=\S*", line), line


# -- Notifier against real sockets -----------------------------------------------------------------


def test_without_notify_socket_everything_is_a_no_op() -> None:
    n = Notifier({})
    assert not n.enabled
    assert n.watchdog_seconds is None
    assert not n.ready("x") and not n.status("y") and not n.stopping() and not n.reloading()
    assert not n.watchdog()
    assert not n.start_watchdog(lambda: True)
    FaultHooks.from_env({}).loop_pass()  # returns at once
    n.close()


def test_messages_reach_a_path_socket(manager: Manager) -> None:
    n = Notifier({"NOTIFY_SOCKET": manager.address})
    assert n.enabled
    assert n.ready(follower_status("a"))
    manager.wait("READY", "1")
    assert manager.seen("STATUS", "follower; leader is a")  # in the same datagram as READY=1
    assert not n.ready(follower_status("a"))  # READY once; same STATUS not repeated
    assert n.status(leader_status(7))
    assert not n.status(leader_status(7))
    assert n.stopping()
    manager.wait("STOPPING", "1")
    manager.wait("STATUS", "leader epoch 7")
    assert manager.statuses() == ["follower; leader is a", "leader epoch 7"]
    assert len(manager.seen("READY")) == 1
    n.close()


def test_abstract_socket_names() -> None:
    m = Manager(abstract=True)
    try:
        assert m.address.startswith("@")
        n = Notifier({"NOTIFY_SOCKET": m.address})
        assert n.ready()
        m.wait("READY", "1")
        n.close()
    finally:
        m.close()


def test_reloading_carries_the_monotonic_clock_and_rearms_ready(manager: Manager) -> None:
    n = Notifier({"NOTIFY_SOCKET": manager.address})
    n.ready()
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert n.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    t = manager.wait("RELOADING", "1")
    usec = int(next(f for when, f in manager.messages if when == t)["MONOTONIC_USEC"])
    assert before <= usec <= after
    assert n.ready()
    manager.wait("READY", "1", since=t)
    n.close()


def test_a_missing_manager_is_not_an_error(tmp_path: Path) -> None:
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    assert n.enabled
    assert not n.ready() and not n.status("x") and not n.watchdog()
    n.close()


class Probe:
    """A progress probe for the watchdog thread that counts how often it was asked."""

    def __init__(self, *, moving: bool = True, broken: bool = False) -> None:
        self.moving, self.broken, self.calls = moving, broken, 0

    def __call__(self) -> bool:
        self.calls += 1
        if self.broken:
            raise RuntimeError("probe")
        return self.moving


def watchdog_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "hasched-watchdog"]


def test_watchdog_pings_only_while_the_loop_makes_progress(manager: Manager) -> None:
    n = Notifier({"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "400000"})
    assert n.watchdog_seconds == 0.4
    probe = Probe()
    assert n.start_watchdog(probe)
    assert not n.start_watchdog(probe)  # one thread only
    wait_for(lambda: len(manager.seen("WATCHDOG", "1")) >= 4, timeout=10)  # pings keep coming
    probe.moving = False
    stuck_at, asked = time.monotonic(), probe.calls
    wait_for(lambda: probe.calls >= asked + 3, timeout=10)  # asked three times while stuck
    assert len(manager.seen("WATCHDOG", since=stuck_at)) <= 1  # at most one already on its way
    resumed_at = time.monotonic()
    probe.moving = True
    manager.wait("WATCHDOG", "1", since=resumed_at, timeout=5)
    n.close()
    assert watchdog_threads() == []  # the pinging thread is gone: no more pings


def test_until_ready_pings_extend_the_start_timeout(manager: Manager) -> None:
    n = Notifier({"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "200000"})
    assert n.start_watchdog(lambda: True)
    wait_for(lambda: len(manager.seen("EXTEND_TIMEOUT_USEC", "200000")) >= 2)  # one watchdog period each
    n.ready()
    ready_at = manager.wait("READY", "1")
    wait_for(lambda: len(manager.seen("WATCHDOG", "1", since=ready_at)) >= 2)
    assert manager.seen("EXTEND_TIMEOUT_USEC", since=ready_at) == []
    n.close()


def test_a_failing_progress_probe_counts_as_stuck(manager: Manager) -> None:
    n = Notifier({"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": "100000"})
    probe = Probe(broken=True)
    assert n.start_watchdog(probe)
    wait_for(lambda: probe.calls >= 3)
    assert manager.seen("WATCHDOG") == []
    n.close()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_settings(env: dict[str, str], expected: float | None) -> None:
    assert watchdog_seconds(env, os.getpid()) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/run/systemd/notify", "/run/systemd/notify"),
        ("@abc", b"\0abc"),
        ("@", None),
        ("", None),
        ("vsock:2:1234", None),
        ("relative/path", None),
    ],
)
def test_socket_addresses(value: str, expected: str | bytes | None) -> None:
    assert socket_address(value) == expected


def test_status_texts_and_stall_limit() -> None:
    assert leader_status(3) == "leader epoch 3"
    assert follower_status("host-1") == "follower; leader is host-1"
    assert follower_status(None) == "follower; leader is none"
    assert redis_status(ConnectionError("x")) == "redis unreachable: ConnectionError"
    assert stall_limit(30, 10) == 30
    assert stall_limit(1, 2) == 4.5  # never shorter than a Redis call that times out plus backoff
    last = time.monotonic()
    assert loop_progress(lambda: last, 10)()
    assert not loop_progress(lambda: last - 11, 10)()


def test_hang_hook_blocks_while_the_file_exists(tmp_path: Path) -> None:
    hang = tmp_path / "hang"
    hooks = FaultHooks.from_env({HANG_FILE_ENV: str(hang)})
    hooks.loop_pass()  # no file: no hang
    hang.touch()
    done = threading.Event()
    t = threading.Thread(target=lambda: (hooks.loop_pass(), done.set()), daemon=True)
    t.start()
    assert not done.wait(0.3)
    hang.unlink()
    assert done.wait(2)


# -- a real `hasched run` under a stand-in manager (needs hasched._systemd wired into the daemon) --

LEASE_TTL = 1.0
WATCHDOG_USEC = 1_000_000  # pings every 0.5 s
NOT_WIRED = "is hasched._systemd wired into Daemon / cmd_run?"


@pytest.fixture()
def sd_cluster(private_redis: RedisServer, cluster_factory: ClusterFactory) -> Cluster:
    return cluster_factory(private_redis.url, namespace="sd", lease_ttl=LEASE_TTL)  # private: paused below


def notify_env(manager: Manager, **extra: str) -> dict[str, str]:
    # WATCHDOG_PID empty: whatever an outer service manager set, the pings are for our child
    return {"NOTIFY_SOCKET": manager.address, "WATCHDOG_USEC": str(WATCHDOG_USEC), "WATCHDOG_PID": "",
            **extra}  # fmt: skip


@pytest.mark.slow
def test_run_notifies_ready_status_watchdog_and_stopping(
    sd_cluster: Cluster, manager: Manager, tmp_path: Path
) -> None:
    hang = tmp_path / "hang"
    proc = sd_cluster.start_instance("solo", env=notify_env(manager, **{HANG_FILE_ENV: str(hang)}))
    try:
        ready_at = manager.wait("READY", "1", timeout=15)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{NOT_WIRED}") from None
    manager.wait_status("leader epoch ", timeout=5)  # alone: it leads
    wait_for(lambda: len(manager.seen("WATCHDOG", "1", since=ready_at)) >= 4, timeout=10)
    pings = manager.seen("WATCHDOG", "1", since=ready_at)
    # what systemd enforces: never a whole WATCHDOG_USEC without a ping (they come every half)
    assert max_gap(pings) < WATCHDOG_USEC / 1e6, pings

    # A stuck loop must fall silent, so that systemd kills and restarts it.
    hang.touch()
    limit = stall_limit(WATCHDOG_USEC / 1e6, LEASE_TTL)
    silent_since = wait_for_silence(manager, quiet=2.2, timeout=limit + 4)  # > 2 x WATCHDOG_USEC
    assert proc.alive()
    hang.unlink()
    manager.wait("WATCHDOG", "1", since=silent_since, timeout=5)  # going round again

    stop_at = time.monotonic()
    proc.signal(signal.SIGTERM)
    manager.wait("STOPPING", "1", since=stop_at, timeout=5)
    assert proc.popen is not None and proc.popen.wait(10) == 0


def wait_for_silence(manager: Manager, *, quiet: float, timeout: float) -> float:
    """Until no WATCHDOG=1 came for `quiet` seconds; returns the time of the last one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pings = manager.seen("WATCHDOG", "1")
        last = pings[-1] if pings else 0.0
        if time.monotonic() - last >= quiet:
            return last
        time.sleep(0.05)
    raise AssertionError(f"the watchdog kept pinging {timeout}s after the loop got stuck")


@pytest.mark.slow
def test_run_reports_follower_then_takeover(sd_cluster: Cluster, manager: Manager) -> None:
    sd_cluster.start_instance("first")
    sd_cluster.wait_leader()
    second = sd_cluster.start_instance("second", env=notify_env(manager))
    try:
        manager.wait("READY", "1", timeout=15)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{NOT_WIRED}") from None
    assert manager.statuses()[0] == "follower; leader is first"
    stop_at = time.monotonic()
    assert sd_cluster.instances["first"].stop() == 0  # SIGTERM: a graceful handoff
    status = manager.wait_status("leader epoch ", since=stop_at, timeout=5)
    assert int(status.rsplit(" ", 1)[1]) >= 2
    assert manager.seen("STATUS", since=stop_at)[0] - stop_at < 1.5
    assert second.stop() == 0
    manager.wait("STOPPING", "1", since=stop_at)


@pytest.mark.slow
def test_run_waits_for_redis_before_ready(manager: Manager, cluster_factory: ClusterFactory) -> None:
    server = RedisServer()  # its port is chosen, but nothing listens there yet
    cluster = cluster_factory(server.url, namespace="sd", lease_ttl=LEASE_TTL)
    try:
        cluster.start_instance("early", env=notify_env(manager))
        status = manager.wait_status("redis unreachable: ", timeout=15)
        assert status == "redis unreachable: ConnectionError"
        manager.wait("EXTEND_TIMEOUT_USEC", str(WATCHDOG_USEC), timeout=5)  # the start is extended
        assert manager.seen("READY") == []
        up_at = time.monotonic()
        server.start()
        manager.wait("READY", "1", since=up_at, timeout=10)
        manager.wait_status("leader epoch ", since=up_at, timeout=5)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{NOT_WIRED}\n{cluster.report()}") from None
    finally:
        cluster.stop()
        server.stop()


@pytest.mark.slow
def test_redis_unreachable_is_not_a_stuck_loop(
    sd_cluster: Cluster, manager: Manager, private_redis: RedisServer
) -> None:
    sd_cluster.start_instance("solo", env=notify_env(manager))
    try:
        manager.wait("READY", "1", timeout=15)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{NOT_WIRED}") from None
    manager.wait_status("leader epoch ", timeout=5)
    paused_at = time.monotonic()
    private_redis.pause()
    try:
        status = manager.wait_status("redis unreachable: ", since=paused_at, timeout=5)
        assert status in ("redis unreachable: TimeoutError", "redis unreachable: ConnectionError"), status
        # well past the stall limit: still pinging, because the loop goes round in its retries
        past_limit = paused_at + stall_limit(WATCHDOG_USEC / 1e6, LEASE_TTL) + 1.5
        wait_for(lambda: manager.seen("WATCHDOG", "1", since=past_limit), timeout=15)
        pings = manager.seen("WATCHDOG", "1", since=paused_at)
        assert max_gap([paused_at, *pings]) < WATCHDOG_USEC / 1e6, pings  # what systemd enforces
    finally:
        private_redis.resume()
    resumed_at = time.monotonic()
    manager.wait_status("leader epoch ", since=resumed_at, timeout=10)
    assert not manager.seen("READY", since=paused_at)  # READY=1 once per start


@pytest.mark.slow
def test_sighup_reloads_the_schedules_file_between_reloading_and_ready(
    sd_cluster: Cluster, manager: Manager, tmp_path: Path
) -> None:
    schedules = tmp_path / "schedules.toml"
    schedules.write_text('[[schedule]]\nid = "x"\nfunc = "app.t.f"\nevery = 60.0\n')
    proc = sd_cluster.start_instance("r", env=notify_env(manager), extra_args=("--schedules", str(schedules)))
    ready_at = manager.wait("READY", "1", timeout=15)
    schedules.write_text(schedules.read_text() + '[[schedule]]\nid = "y"\nfunc = "app.t.f"\nevery = 60.0\n')
    proc.signal(signal.SIGHUP)
    reloading_at = manager.wait("RELOADING", "1", since=ready_at, timeout=10)
    manager.wait("READY", "1", since=reloading_at, timeout=10)
    assert sd_cluster.client().hexists("{sd}:defs", "y")
