"""Bad values from flags and HASCHED_* variables: one `error:` line naming where it came from, exit 2.
And help: `hasched` or `hasched schedule` alone prints the overview; every option has help text."""

from __future__ import annotations

import argparse

import pytest
from helpers import run_cli
from redis_server import RedisServer

from hasched.cli import build_parser

QUIET = {"HASCHED_METRICS_ADDR": ""}  # no HTTP port, should a case ever get as far as starting

ENV_CASES = [
    ("status", "HASCHED_REDIS_URL", "garbage", "must start with redis://, rediss:// or unix://"),
    ("status", "HASCHED_REDIS_URL", "redis://:secret@127.0.0.1:port/0", "not a valid URL"),
    ("status", "HASCHED_NAMESPACE", "a b", "must match"),
    ("status", "HASCHED_SENTINEL", "no-port", "expected HOST:PORT, got 'no-port'"),
    ("status", "HASCHED_TLS_CA_FILE", "/nonexistent/ca.pem", "no such file"),
    ("status", "HASCHED_TLS_CERT_FILE", "/nonexistent/cert.pem", "no such file"),
    ("status", "HASCHED_TLS_KEY_FILE", "/nonexistent/key.pem", "no such file"),
    ("run", "HASCHED_INSTANCE_ID", "a|b", "must be printable, without '|'"),
    ("run", "HASCHED_METRICS_ADDR", "nowhere", "expected HOST:PORT, got 'nowhere'"),
    ("run", "HASCHED_LEASE_TTL", "abc", "expected a number of seconds, got 'abc'"),
    ("run", "HASCHED_LEASE_TTL", "nan", "expected a number of seconds, got 'nan'"),
    ("run", "HASCHED_LEASE_TTL", "0.5", "must be at least 1 second"),
    ("run", "HASCHED_RETRY_PERIOD", "soon", "expected a number of seconds, got 'soon'"),
    ("run", "HASCHED_RETRY_PERIOD", "0", "must be more than 0"),
    ("run", "HASCHED_SCHEDULES", "/nonexistent/schedules.toml", "cannot read /nonexistent/schedules.toml"),
    ("run", "HASCHED_LOG_FORMAT", "xml", "expected one of json, console, got 'xml'"),
    ("run", "HASCHED_LOG_LEVEL", "loud", "expected one of debug, info, warning, error, got 'loud'"),
]


@pytest.mark.parametrize(("command", "var", "value", "message"), ENV_CASES)
def test_a_bad_environment_value_is_one_error_line_naming_the_variable(
    redis_server: RedisServer, command: str, var: str, value: str, message: str
) -> None:
    r = run_cli(command, redis_url=redis_server.url, env={**QUIET, var: value})
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"error: {var}: ") and message in r.stderr, r.stderr
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    assert "secret" not in r.stderr


def test_sentinel_master_from_the_environment_is_named_when_missing(redis_server: RedisServer) -> None:
    env = {"HASCHED_SENTINEL": "127.0.0.1:1", "HASCHED_SENTINEL_MASTER": ""}
    r = run_cli("status", redis_url=redis_server.url, env=env)
    assert r.returncode == 2 and r.stderr == "error: HASCHED_SENTINEL_MASTER: is required with --sentinel\n"


def test_a_flag_overrides_a_bad_variable_and_its_own_error_names_the_flag(redis_server: RedisServer) -> None:
    env = {**QUIET, "HASCHED_LEASE_TTL": "abc"}
    r = run_cli("run", "--lease-ttl", "0.5", redis_url=redis_server.url, env=env)
    assert r.returncode == 2 and r.stderr == "error: lease-ttl: must be at least 1 second, got 0.5\n"


ADD = ("schedule", "add", "--id", "x", "--func", "a.b")
FLAG_CASES = [
    (("run", "--metrics-addr", ""), "--lease-ttl", "abc", "expected a number of seconds"),
    (("run", "--metrics-addr", ""), "--lease-ttl", "inf", "expected a number of seconds"),
    (("run", "--metrics-addr", ""), "--retry-period", "abc", "expected a number of seconds"),
    ((*ADD,), "--every", "x", "expected a number of seconds"),
    ((*ADD, "--every", "5"), "--jitter", "x", "expected a number of seconds"),
    ((*ADD, "--every", "5"), "--catchup-window", "a day", "expected a number of seconds"),
    ((*ADD, "--every", "5"), "--repeat", "1.5", "expected a whole number, got '1.5'"),
    ((*ADD, "--every", "5"), "--timeout", "5m", "expected a whole number of seconds"),
    ((*ADD, "--every", "5"), "--result-ttl", "x", "expected a whole number of seconds"),
    ((*ADD, "--every", "5"), "--ttl", "x", "expected a whole number of seconds"),
    ((*ADD, "--every", "5"), "--failure-ttl", "x", "expected a whole number of seconds"),
    (("next", "--start", "2026-01-01T00:00:00Z"), "--every", "x", "expected a number of seconds"),
    (("next", "--cron", "* * * * *"), "-n", "many", "expected a whole number, got 'many'"),
]


@pytest.mark.parametrize(("args", "flag", "value", "message"), FLAG_CASES)
def test_a_bad_numeric_flag_is_one_error_line_naming_the_flag(
    redis_server: RedisServer, args: tuple[str, ...], flag: str, value: str, message: str
) -> None:
    r = run_cli(*args, flag, value, redis_url=redis_server.url)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"error: argument {flag}: {message}"), r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_out_of_range_numbers_are_refused_by_name(redis_server: RedisServer) -> None:
    r = run_cli("next", "--cron", "* * * * *", "-n", "0", redis_url=redis_server.url)
    assert r.returncode == 2 and r.stderr.startswith("error: n: must be a whole number from 1 to 10000")
    r = run_cli(*ADD, "--every", "-5", redis_url=redis_server.url)
    assert r.returncode == 2 and r.stderr.startswith('error: schedule "x": every: ')


@pytest.mark.parametrize(("args", "parts"), [
    ((), ("usage: hasched", "run ", "schedule ", "import-rq-scheduler", "examples:", "Exit codes")),
    (("schedule",), ("usage: hasched schedule", "add ", "list ", "trigger ", "examples:")),
])  # fmt: skip
def test_a_command_alone_prints_its_overview_and_exits_2(
    args: tuple[str, ...], parts: tuple[str, ...]
) -> None:
    r = run_cli(*args)
    assert r.returncode == 2 and r.stdout == ""
    assert "the following arguments are required" not in r.stderr
    for part in parts:
        assert part in r.stderr, (part, r.stderr)


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser, by its full name ('schedule add', 'run', ...)."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[f"{prefix}{name}"] = sub
                    walk(sub, f"{prefix}{name} ")

    walk(build_parser(), "")
    return found


def test_every_option_has_help_and_every_command_examples() -> None:
    parsers = _parsers()
    assert {"run", "status", "next", "sync", "schedule add", "schedule list", "schedule rm"} <= set(parsers)
    for name, parser in parsers.items():
        assert parser.epilog and parser.epilog.startswith("examples:\n  hasched "), name
        alternatives = {a for group in parser._mutually_exclusive_groups for a in group._group_actions}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, (name, action.option_strings or action.dest)
            takes_value = action.nargs != 0 and action.option_strings and action not in alternatives
            if takes_value and not action.required:  # an optional value says what happens without it
                assert "default" in action.help or "required" in action.help, (name, action.option_strings)


def test_help_shows_units_defaults_and_examples() -> None:
    r = run_cli("schedule", "add", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "--every SECONDS fire every SECONDS" in text
    assert "--catchup-window SECONDS missed fires older than this many seconds" in text
    assert "(default: 86400.0)" in text and "(default: latest)" in text
    assert "examples: hasched schedule add --id nightly" in text
    r = run_cli("run", "--help", env={"HASCHED_REDIS_URL": "redis://:hunter2@h:1/0"})
    text = " ".join(r.stdout.split())
    assert "(env HASCHED_LEASE_TTL; default 10)" in text and "hunter2" not in r.stdout
