"""The `hasched` command line (SPEC 4). Exit codes: 0 ok, 1 runtime failure, 2 bad input."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from redis.exceptions import RedisError

from hasched import __version__
from hasched._commands import COMMANDS
from hasched._model import CATCHUP_POLICIES, OVERLAP_POLICIES
from hasched._settings import DEFAULT_NAMESPACE, DEFAULT_REDIS_URL
from hasched.errors import HaschedError, ScheduleNotFound, ValidationError


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one `error:` line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"HASCHED_{name}", default)


def _common() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument(
        "--redis-url",
        default=_env("REDIS_URL", DEFAULT_REDIS_URL),
        help="redis:// or rediss:// URL (env HASCHED_REDIS_URL)",
    )
    p.add_argument(
        "--namespace",
        default=_env("NAMESPACE", DEFAULT_NAMESPACE),
        help="key namespace (env HASCHED_NAMESPACE)",
    )
    p.add_argument("--sentinel", default=_env("SENTINEL"), help="HOST:PORT[,HOST:PORT...]")
    p.add_argument("--sentinel-master", default=_env("SENTINEL_MASTER"), help="Sentinel master name")
    p.add_argument("--tls-ca-file", default=_env("TLS_CA_FILE"), help="CA bundle for rediss://")
    p.add_argument("--tls-cert-file", default=_env("TLS_CERT_FILE"), help="client certificate (rediss://)")
    p.add_argument("--tls-key-file", default=_env("TLS_KEY_FILE"), help="client private key (rediss://)")
    p.add_argument("--sentinel-username", default=_env("SENTINEL_USERNAME"),
                   help="ACL user on the sentinels themselves (env HASCHED_SENTINEL_USERNAME)")  # fmt: skip
    p.add_argument("--sentinel-password", default=_env("SENTINEL_PASSWORD"),
                   help="password of the sentinels themselves; prefer env HASCHED_SENTINEL_PASSWORD, "
                        "a flag shows in the process list")  # fmt: skip
    return p


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    root = _Parser(prog="hasched", description="High-availability scheduler for RQ.")
    root.add_argument("--version", action="version", version=f"hasched {__version__}")
    sub = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_run(sub.add_parser("run", parents=[common], help="run one scheduler instance"))
    st = sub.add_parser("status", parents=[common], help="leader, instances, lag")
    st.add_argument("--json", action="store_true")
    _add_next(sub.add_parser("next", parents=[common], help="print the next fire times"))
    sched = sub.add_parser("schedule", help="manage schedules")
    ssub = sched.add_subparsers(dest="action", required=True, parser_class=_Parser)
    _add_schedule_add(ssub.add_parser("add", parents=[common], help="create or replace a schedule"))
    ls = ssub.add_parser("list", parents=[common], help="list schedules")
    ls.add_argument("--json", action="store_true")
    show = ssub.add_parser("show", parents=[common], help="show one schedule")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    sync = sub.add_parser("sync", parents=[common], help="upsert the schedules of a TOML file")
    sync.add_argument("file")
    sync.add_argument("--prune", action="store_true", help="remove file-made schedules not in the file")
    sync.add_argument("--prune-all", action="store_true", help="remove every schedule not in the file")
    sync.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")
    _add_import(sub.add_parser("import-rq-scheduler", parents=[common],
                               help="create hasched schedules from rq-scheduler's jobs"))  # fmt: skip
    for action in ("rm", "pause", "resume", "trigger"):
        ssub.add_parser(action, parents=[common], help=f"{action} a schedule").add_argument("id")
    return root


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--instance-id", default=_env("INSTANCE_ID"))
    p.add_argument("--metrics-addr", default=_env("METRICS_ADDR", "0.0.0.0:9464"))
    p.add_argument("--lease-ttl", type=float, default=float(_env("LEASE_TTL", "10") or 10))
    p.add_argument("--retry-period", type=float, default=float(_env("RETRY_PERIOD", "1") or 1))
    p.add_argument("--schedules", default=_env("SCHEDULES"))
    p.add_argument("--log-format", choices=("json", "console"), default=_env("LOG_FORMAT"))
    p.add_argument(
        "--log-level", default=_env("LOG_LEVEL", "info"), choices=("debug", "info", "warning", "error")
    )


def _add_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="report what would be imported, write nothing")
    p.add_argument("--remove-source", action="store_true",
                   help="remove imported jobs from rq-scheduler, so they never fire under both")  # fmt: skip
    p.add_argument("--local-timezone", help="IANA zone of rq-scheduler's host (default: this host's)")
    p.add_argument("--json", action="store_true")


def _add_next(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?")
    p.add_argument("--cron")
    p.add_argument("--tz", default="UTC")
    p.add_argument("--every", type=float)
    p.add_argument("--start")
    p.add_argument("-n", type=int, default=5)
    p.add_argument("--from", dest="from_")
    p.add_argument("--json", action="store_true")


def _add_schedule_add(p: argparse.ArgumentParser) -> None:
    p.add_argument("--id", required=True)
    p.add_argument("--func", required=True)
    trig = p.add_mutually_exclusive_group(required=True)
    trig.add_argument("--cron")
    trig.add_argument("--every", type=float)
    trig.add_argument("--at")
    p.add_argument("--tz", default="UTC")
    p.add_argument("--args", default="[]")
    p.add_argument("--kwargs", default="{}")
    p.add_argument("--meta", default="{}")
    p.add_argument("--queue", default="default")
    p.add_argument("--repeat", type=int)
    p.add_argument("--start")
    p.add_argument("--end")
    p.add_argument("--jitter", type=float, default=0.0)
    p.add_argument("--catchup", choices=CATCHUP_POLICIES, default="latest")
    p.add_argument("--catchup-window", type=float, default=86400.0)
    p.add_argument("--overlap", choices=OVERLAP_POLICIES, default="allow")
    for opt in ("--timeout", "--result-ttl", "--ttl", "--failure-ttl"):
        p.add_argument(opt, type=int)
    p.add_argument("--description")
    p.add_argument("--paused", action="store_true")
    p.add_argument("--replace", action="store_true")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors become one `error:` line on stderr."""
    args = build_parser().parse_args(argv)
    name = args.command if args.command != "schedule" else f"schedule {args.action}"
    try:
        return COMMANDS[name](args)
    except (ValidationError, ScheduleNotFound) as e:
        return _fail(str(e), 2)
    except HaschedError as e:
        return _fail(str(e), 2 if isinstance(e, ValueError) else 1)
    except RedisError as e:
        return _fail(f"redis: {type(e).__name__}: {_safe(e)}", 1)
    except KeyboardInterrupt:
        return 1


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _safe(e: Any) -> str:
    """An exception's text, one line (redis-py never puts the password in its messages)."""
    return " ".join(str(e).split())
