"""`manage.py hasched <command> ...`: the hasched command line with settings.HASCHED as defaults.

`manage.py hasched sync [--dry-run] [--prune | --prune-all]` applies `SCHEDULES`; any other
command (`run`, `worker`, `status`, `schedule list`, ...) is `hasched`'s own, with the Redis URL
and namespace taken from the settings unless given as flags. Exit codes are hasched's.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from hasched import cli
from hasched._connect import connect
from hasched._settings import Connection
from hasched._store import Store
from hasched._sync import sync_schedules
from hasched.contrib.django.conf import DjangoSettings, read
from hasched.errors import HaschedError


class Command(BaseCommand):
    help = "Run a hasched command with settings.HASCHED as defaults ('sync' applies SCHEDULES)."

    def run_from_argv(self, argv: list[str]) -> None:
        """Everything after `hasched` goes to hasched's own parser, untouched by Django's."""
        sys.exit(main(argv[2:]))

    def handle(self, *args: Any, **options: Any) -> None:  # call_command("hasched", ...)
        code = main(list(args))
        if code:
            sys.exit(code)


def main(argv: list[str]) -> int:
    try:
        conf = read(settings)
    except HaschedError as e:
        print(f"error: settings.{e}", file=sys.stderr)
        return 2
    if argv[:1] == ["sync"] and not [a for a in argv[1:] if not a.startswith("-")]:
        return _sync(conf, argv[1:])
    os.environ["HASCHED_REDIS_URL"] = conf.redis_url  # defaults: a flag still wins
    os.environ["HASCHED_NAMESPACE"] = conf.namespace
    return cli.main(argv)


def _sync(conf: DjangoSettings, argv: list[str]) -> int:
    """`hasched sync` with SCHEDULES in place of a file."""
    p = argparse.ArgumentParser(
        prog="manage.py hasched sync", description="apply settings.HASCHED['SCHEDULES']"
    )
    p.add_argument("--prune", action="store_true", help="remove file-made schedules not in SCHEDULES")
    p.add_argument("--prune-all", action="store_true", help="remove every schedule not in SCHEDULES")
    p.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")
    args = p.parse_args(argv)
    try:
        store = Store(connect(Connection(redis_url=conf.redis_url, namespace=conf.namespace)), conf.namespace)
        plan = sync_schedules(store, list(conf.schedules), prune=args.prune, prune_all=args.prune_all,
                              dry_run=args.dry_run)  # fmt: skip
    except HaschedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, ValueError) else 1
    except Exception as e:  # Redis down or refusing: one line, as the CLI says it
        print(f"error: redis: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print("\n".join(plan.lines(args.dry_run)))
    return 0
