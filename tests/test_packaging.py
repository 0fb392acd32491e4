"""The package as a user gets it: a wheel built from this tree carries `py.typed`, the Lua scripts
and the license; it builds without setuptools warnings; installed in a fresh virtualenv, away from
this checkout, it reports the version of pyproject.toml and runs a real `hasched run` whose Lua
scripts come from the installed package. Installing fetches the dependencies with pip (~20 s)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from redis import Redis
from redis_server import RedisServer

from hasched._keys import Keys, parse_lease

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[1]
# What a checkout holds besides the sources: never part of a build.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "results"
)
# A warning class printed by the build backend (pip's own "WARNING:" lines are not these).
BACKEND_WARNING = re.compile(r"\b\w*Warning\b")


@dataclass(frozen=True)
class Installed:
    """A wheel built from a copy of this tree, installed into a fresh virtualenv."""

    source: Path
    wheel: Path
    build_output: str
    venv: Path

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            capture_output=True, text=True, timeout=60, cwd=cwd, env=clean_env(),
        )  # fmt: skip


def clean_env() -> dict[str, str]:
    """This environment without what would let a child import hasched from the checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def pip(*args: str, cwd: Path) -> str:
    """Run this interpreter's pip (`--python` points it at another environment); its output."""
    proc = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          timeout=540, cwd=cwd, env=clean_env())  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    return output


def bare_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    return path


def backend_warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if BACKEND_WARNING.search(line)]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "src"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)  # a clean tree: no stale build/ to reuse
    dist = tmp / "dist"
    build_output = pip("wheel", "--no-deps", "--wheel-dir", str(dist), str(source), cwd=tmp)
    (wheel,) = dist.glob("hasched-*.whl")
    venv = bare_venv(tmp / "venv")
    pip("--python", str(venv / "bin" / "python"), "install", str(wheel), cwd=tmp)
    return Installed(source, wheel, build_output, venv)


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    """A working directory that is not the checkout, so nothing is imported from it."""
    work = tmp_path / "elsewhere"
    work.mkdir()
    return work


def project() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return dict(tomllib.load(f)["project"])


def test_lock_pins_what_pyproject_allows() -> None:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    pins = dict(line.split("==", 1) for line in lines if line and not line.startswith("#"))
    pins = {canonicalize_name(name): version for name, version in pins.items()}
    meta = project()
    for requirement in map(Requirement, [*meta["dependencies"], *meta["optional-dependencies"]["hiredis"]]):
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"requirements.lock does not pin {requirement.name}"
        assert requirement.specifier.contains(pin, prereleases=True), (requirement, pin)


@pytest.mark.slow
def test_wheel_carries_py_typed_lua_scripts_and_license(installed: Installed) -> None:
    lua = sorted(f"hasched/lua/{p.name}" for p in (ROOT / "hasched" / "lua").glob("*.lua"))
    assert lua, "no Lua scripts in the tree"
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        fields = wheel.read(metadata).decode()
    assert "hasched/py.typed" in names
    assert set(lua) <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)
    assert "License-Expression: MIT" in fields.splitlines()
    assert "Classifier: Typing :: Typed" in fields.splitlines()
    assert not any(n.startswith(("tests/", "chaos/", "bench/", "demo/")) for n in names)


@pytest.mark.slow
def test_wheel_does_not_publish_dev_tools(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        lines = wheel.read(metadata).decode().splitlines()
    extras = [x.removeprefix("Provides-Extra: ") for x in lines if x.startswith("Provides-Extra:")]
    assert extras == ["hiredis", "web", "django"]
    assert "Requires-Dist: rq<4,>=2.0" in lines


@pytest.mark.slow
def test_builds_without_setuptools_warnings(installed: Installed, tmp_path: Path) -> None:
    assert backend_warnings(installed.build_output) == [], installed.build_output
    venv = bare_venv(tmp_path / "editable")
    output = pip("--python", str(venv / "bin" / "python"), "install", "--no-deps", "-e",
                 str(installed.source), cwd=tmp_path)  # fmt: skip
    assert backend_warnings(output) == [], output


@pytest.mark.slow
def test_installed_version_is_pyproject_version(installed: Installed, outside: Path) -> None:
    proc = installed.run("hasched", "--version", cwd=outside)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"hasched {project()['version']}"


@pytest.mark.slow
def test_installed_package_is_typed(installed: Installed, outside: Path) -> None:
    proc = installed.run("python", "-c", "import hasched; print(hasched.__file__)", cwd=outside)
    assert proc.returncode == 0, proc.stderr
    package = Path(proc.stdout.strip()).parent
    assert package.is_relative_to(installed.venv), package  # not this checkout
    assert (package / "py.typed").is_file()


@pytest.fixture()
def installed_run(installed: Installed, outside: Path, redis_server: RedisServer) -> Iterator[Path]:
    log = outside / "run.log"
    args = [str(installed.venv / "bin" / "hasched"), "run", "--redis-url", redis_server.url,
            "--namespace", "pkg", "--instance-id", "from-wheel", "--lease-ttl", "2",
            "--metrics-addr", "", "--log-format", "json"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=out, cwd=outside, env=clean_env())
    try:
        yield log
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.mark.slow
def test_installed_run_takes_the_lease(redis: Redis, installed_run: Path) -> None:
    lease = Keys("pkg").lease

    def holder() -> str | None:
        raw = redis.get(lease)
        return None if raw is None else parse_lease(raw)[0]

    try:
        assert wait_for(lambda: holder() == "from-wheel", timeout=30)
    except AssertionError:
        raise AssertionError(installed_run.read_text(errors="replace")) from None
