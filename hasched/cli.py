"""The `hasched` command line (README: Command line). Exit codes: 0 ok, 1 runtime failure, 2 bad input."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from hasched._argtypes import env as _env
from hasched._argtypes import resolve_env
from hasched._clihelp import ABOUT
from hasched._cliopts import OPTIONS
from hasched._commands import COMMANDS
from hasched._settings import DEFAULT_NAMESPACE, DEFAULT_REDIS_URL
from hasched.errors import HaschedError, ScheduleNotFound, ValidationError

ROOT_EPILOG = """\
examples:
  hasched schedule add --id nightly --func app.tasks.report --cron '0 3 * * *' --tz Europe/Paris
  hasched schedule list
  hasched run --lease-ttl 10
  hasched web
  hasched worker high default

Every command takes --redis-url (or --sentinel and --sentinel-master) and --namespace; options
also come from HASCHED_* environment variables, named in each command's --help.
Exit codes: 0 ok, 1 runtime failure (Redis down, credentials refused), 2 bad input.
Run 'hasched COMMAND --help' for a command's options."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one `error:` line and exit code 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


class _Version(argparse.Action):
    """`--version`: the installed version, read only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        import hasched

        print(f"hasched {hasched.__version__}")
        parser.exit()


def _common() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument(
        "--redis-url",
        default=_env("REDIS_URL", DEFAULT_REDIS_URL),
        metavar="URL",
        help=f"Redis to use: redis://, rediss:// (TLS) or unix:// URL; user:password@ allowed, never "
        f"printed (env HASCHED_REDIS_URL; default {DEFAULT_REDIS_URL})",
    )
    p.add_argument(
        "--namespace",
        default=_env("NAMESPACE", DEFAULT_NAMESPACE),
        metavar="NS",
        help=f"prefix of every key hasched writes, [A-Za-z0-9_.:-]{{1,64}} "
        f"(env HASCHED_NAMESPACE; default {DEFAULT_NAMESPACE})",
    )
    p.add_argument(
        "--sentinel",
        default=_env("SENTINEL"),
        metavar="HOST:PORT[,...]",
        help="find the primary through these Sentinels instead of --redis-url "
        "(env HASCHED_SENTINEL; default: off)",
    )
    p.add_argument(
        "--sentinel-master",
        default=_env("SENTINEL_MASTER"),
        metavar="NAME",
        help="Sentinel master name, required with --sentinel (env HASCHED_SENTINEL_MASTER; default: none)",
    )
    p.add_argument(
        "--tls-ca-file",
        default=_env("TLS_CA_FILE"),
        metavar="PATH",
        help="CA bundle to verify a rediss:// server (env HASCHED_TLS_CA_FILE; default: the system's)",
    )
    p.add_argument(
        "--tls-cert-file",
        default=_env("TLS_CERT_FILE"),
        metavar="PATH",
        help="client certificate for rediss://, with --tls-key-file "
        "(env HASCHED_TLS_CERT_FILE; default: none)",
    )
    p.add_argument(
        "--tls-key-file",
        default=_env("TLS_KEY_FILE"),
        metavar="PATH",
        help="client private key for rediss:// (env HASCHED_TLS_KEY_FILE; default: none)",
    )
    p.add_argument(
        "--sentinel-username",
        default=_env("SENTINEL_USERNAME"),
        metavar="USER",
        help="ACL user on the sentinels themselves (env HASCHED_SENTINEL_USERNAME; default: none)",
    )
    p.add_argument(
        "--sentinel-password",
        default=_env("SENTINEL_PASSWORD"),
        metavar="PASSWORD",
        help="password of the sentinels themselves; prefer env HASCHED_SENTINEL_PASSWORD, "
        "a flag shows in the process list (default: none)",
    )
    return p


def _command(sub: Any, name: str, parents: list[_Parser], key: str | None = None) -> _Parser:
    about, examples = ABOUT[key or name]
    parser: _Parser = sub.add_parser(
        name, parents=parents, help=about, description=about[0].upper() + about[1:] + ".",
        epilog="examples:\n" + examples,
    )  # fmt: skip
    return parser


def build_parser() -> argparse.ArgumentParser:
    common = [_common()]
    root = _Parser(prog="hasched", description="High-availability scheduler for RQ.", epilog=ROOT_EPILOG)
    root.add_argument("--version", action=_Version, nargs=0, help="show program's version number and exit")
    root.set_defaults(usage_of=root)  # printed when no command is given
    sub = root.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in ("run", "worker", "status", "next", "schedule", "sync", "import-rq-scheduler", "web"):
        if name == "schedule":
            _add_schedule(_command(sub, name, []), common)
        else:
            OPTIONS[name](_command(sub, name, common))
    return root


def _add_schedule(sched: _Parser, common: list[_Parser]) -> None:
    sched.set_defaults(usage_of=sched)  # printed when no action is given
    actions = sched.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    for action in ("add", "list", "show", "history", "pause", "resume", "trigger", "backfill", "rm"):
        key = f"schedule {action}"
        OPTIONS[key](_command(actions, action, common, key))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors become one `error:` line on stderr."""
    try:
        try:
            return _main(argv)
        finally:  # a reader gone away (`| head`) may only show when the last output is flushed
            sys.stdout.flush()
    except BrokenPipeError:
        # Stop quietly, as Unix tools do. Python flushes stdout once more at exit: point it at
        # devnull so that flush does not fail and print a traceback of its own.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None or (args.command == "schedule" and args.action is None):
        print(args.usage_of.format_help(), end="", file=sys.stderr)  # the overview, not just "required"
        return 2
    name = args.command if args.command != "schedule" else f"schedule {args.action}"
    sources: dict[str, str] = {}
    try:
        sources = resolve_env(args)
        return COMMANDS[name](args)
    except ValidationError as e:
        return _fail(_named(e, sources), 2)
    except ScheduleNotFound as e:
        return _fail(str(e), 2)
    except HaschedError as e:
        return _fail(str(e), 2 if isinstance(e, ValueError) else 1)
    except KeyboardInterrupt:
        return 1
    except Exception as e:
        return _redis_failure(e)


def _redis_failure(e: Exception) -> int:
    """A Redis error as one line (exit 1); anything else raised on. redis-py is imported here
    only if a command loaded it: an exception cannot be a RedisError otherwise."""
    if "redis" not in sys.modules:
        raise e
    from redis.exceptions import RedisError

    from hasched._retry import is_credentials_error

    if not isinstance(e, RedisError):
        raise e
    if is_credentials_error(e):
        return _fail(f"redis refused the credentials or permissions: {type(e).__name__}: {_safe(e)}", 1)
    return _fail(f"redis: {type(e).__name__}: {_safe(e)}", 1)


def _named(e: ValidationError, sources: dict[str, str]) -> str:
    """The error, naming the HASCHED_* variable when the bad value came from one."""
    var = sources.get(e.field) if e.schedule_id is None else None
    return f"{var}: {e.message}" if var else str(e)


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _safe(e: Any) -> str:
    """An exception's text, one line (redis-py never puts the password in its messages)."""
    return " ".join(str(e).split())
