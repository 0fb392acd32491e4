"""What each command of the `hasched` command line accepts: the schedule commands' options here,
the long-running processes' (run, worker, web) in hasched._runopts, help texts in hasched._clihelp.

Every option's help says what it is, its unit and its default; an option that may come from the
environment names its HASCHED_* variable (checked after parsing, see hasched._argtypes).
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Callable

from hasched._argtypes import count, one_of, seconds, whole_seconds
from hasched._choices import STATES, TEXT_LIMIT
from hasched._model import CATCHUP_POLICIES, OVERLAP_POLICIES
from hasched._runopts import add_run, add_web, add_worker


def add_json(what: str) -> Callable[[ArgumentParser], None]:
    def add(p: ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help=f"print {what}")

    return add


def add_id(p: ArgumentParser) -> None:
    p.add_argument("id", help="the schedule's id")


def add_show(p: ArgumentParser) -> None:
    add_id(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (default: key: value lines)")


def add_list(p: ArgumentParser) -> None:
    p.add_argument(
        "--match",
        metavar="GLOB",
        help="only ids matching this glob (* ? [...]), e.g. 'report-*' (default: every id)",
    )
    p.add_argument(
        "--queue", metavar="Q", help="only schedules enqueuing on this RQ queue (default: every queue)"
    )
    p.add_argument(
        "--state",
        choices=STATES,
        help="only active, paused, failing (latest run failed) or finished (no fire left) schedules "
        "(default: all)",
    )
    p.add_argument(
        "--limit",
        type=count,
        metavar="N",
        help=f"print at most N schedules (default: {TEXT_LIMIT} as text, all with --json)",
    )
    p.add_argument(
        "--after",
        metavar="ID",
        help="start after this id, the last of the previous page (default: from the first id)",
    )
    p.add_argument("--json", action="store_true",
                   help="print a JSON list (default: a table on a terminal, else tab-separated lines "
                        "with the same columns and no header)")  # fmt: skip


def add_history(p: ArgumentParser) -> None:
    add_id(p)
    p.add_argument(
        "-n", type=count, default=20, metavar="N", help="how many records, 1 to 10000 (default: %(default)s)"
    )
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of records (default: a table on a terminal, else "
                        "tab-separated lines with the same columns and no header)")  # fmt: skip


def add_pause(p: ArgumentParser) -> None:
    add_id(p)
    p.add_argument(
        "--note", metavar="TEXT", help="who paused it and why, shown until the resume (default: no note)"
    )


def add_backfill(p: ArgumentParser) -> None:
    add_id(p)
    p.add_argument("--from", dest="from_", required=True, metavar="ISO",
                   help="start of the range, excluded: ISO 8601 with a UTC offset or Z")  # fmt: skip
    p.add_argument("--to", required=True, metavar="ISO",
                   help="end of the range, included, not after now (ISO 8601, offset or Z)")  # fmt: skip
    p.add_argument(
        "--overlap",
        type=one_of(*OVERLAP_POLICIES),
        metavar="POLICY",
        help=f"overlap policy for these fires: {', '.join(OVERLAP_POLICIES)} (default: the schedule's)",
    )
    p.add_argument("--dry-run", action="store_true",
                   help="print each fire time it would enqueue, write nothing")  # fmt: skip


def add_import(p: ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="report what would be imported, write nothing")
    p.add_argument(
        "--remove-source",
        action="store_true",
        help="remove imported jobs from rq-scheduler, so they never fire under both",
    )
    p.add_argument(
        "--local-timezone", metavar="ZONE", help="IANA zone of rq-scheduler's host (default: this host's)"
    )
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")


def add_sync(p: ArgumentParser) -> None:
    p.add_argument("file", help="TOML file with one [[schedule]] table per schedule")
    p.add_argument("--prune", action="store_true", help="remove file-made schedules not in the file")
    p.add_argument("--prune-all", action="store_true", help="remove every schedule not in the file")
    p.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")


def add_next(p: ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="a stored schedule's id (or give --cron or --every)")
    trig = p.add_mutually_exclusive_group()  # or the ID of a stored schedule
    trig.add_argument("--cron", metavar="EXPR", help="a cron expression instead of ID, 5 or 6 fields")
    trig.add_argument("--every", type=seconds, metavar="SECONDS", help="an interval in seconds instead of ID")
    p.add_argument(
        "--tz",
        default="UTC",
        metavar="ZONE",
        help="IANA zone the --cron fields are read in (default: %(default)s)",
    )
    p.add_argument(
        "--start",
        metavar="ISO",
        help="first fire of --every, ISO 8601 with an offset (required with --every)",
    )
    p.add_argument(
        "-n", type=count, default=5, metavar="N", help="how many, 1 to 10000 (default: %(default)s)"
    )
    p.add_argument("--from", dest="from_", metavar="ISO", help="times after this one (default: now)")
    p.add_argument("--json", action="store_true", help="print a JSON list")


def add_schedule(p: ArgumentParser) -> None:
    p.add_argument(
        "--id", required=True, help="the schedule's id, [A-Za-z0-9_-]{1,128}, unique in the namespace"
    )
    p.add_argument("--func", required=True, metavar="PATH", help="the job's dotted path (module.function)")
    trig = p.add_mutually_exclusive_group(required=True)
    trig.add_argument(
        "--cron", metavar="EXPR", help="fire on a cron expression (5 or 6 fields), read in --tz"
    )
    trig.add_argument("--every", type=seconds, metavar="SECONDS", help="fire every SECONDS (0.01 or more)")
    trig.add_argument("--at", metavar="ISO", help="fire once, at this ISO 8601 time with an offset")
    p.add_argument("--tz", default="UTC", metavar="ZONE", help="IANA zone of --cron (default: %(default)s)")
    p.add_argument(
        "--args",
        default="[]",
        metavar="JSON",
        help="positional arguments, a JSON list (default: %(default)s)",
    )
    p.add_argument(
        "--kwargs",
        default="{}",
        metavar="JSON",
        help="keyword arguments, a JSON object (default: %(default)s)",
    )
    p.add_argument(
        "--meta", default="{}", metavar="JSON", help="RQ job meta, a JSON object (default: %(default)s)"
    )
    p.add_argument("--queue", default="default", help="RQ queue the jobs go to (default: %(default)s)")
    p.add_argument(
        "--repeat",
        type=count,
        metavar="N",
        help="fire N times in total, missed ones included (default: no limit)",
    )
    p.add_argument(
        "--start", metavar="ISO", help="no fire before this time; --every counts from it (default: now)"
    )
    p.add_argument("--end", metavar="ISO", help="no fire after this time (default: never)")
    p.add_argument(
        "--jitter",
        type=seconds,
        default=0.0,
        metavar="SECONDS",
        help="delay each fire by a fixed pseudo-random 0 to SECONDS (default: %(default)s)",
    )
    p.add_argument(
        "--catchup",
        choices=CATCHUP_POLICIES,
        default="latest",
        help="of the fires missed while no leader ran, enqueue the latest, all or none (skip) "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--catchup-window",
        type=seconds,
        default=86400.0,
        metavar="SECONDS",
        help="missed fires older than this many seconds are not caught up (default: %(default)s)",
    )
    p.add_argument(
        "--overlap",
        choices=OVERLAP_POLICIES,
        default="allow",
        help="what a fire does while the previous job is queued or started: skip it, buffer_one or"
        " buffer_all (wait for its end), cancel_other or terminate_other it (default: %(default)s)",
    )
    for opt, what in (
        ("--timeout", "RQ job timeout"),
        ("--result-ttl", "how long RQ keeps a result"),
        ("--ttl", "RQ drops the job if not started within this"),
        ("--failure-ttl", "how long RQ keeps a failed job"),
    ):
        p.add_argument(opt, type=whole_seconds, metavar="SECONDS", help=f"{what}, in seconds (default: RQ's)")
    p.add_argument("--description", metavar="TEXT", help="free text, shown by show (default: none)")
    p.add_argument("--paused", action="store_true", help="create it paused")
    p.add_argument(
        "--pause-on-failure", action="store_true", help="pause it, with a note, when one of its runs fails"
    )
    p.add_argument(
        "--history",
        type=count,
        default=100,
        metavar="N",
        help="run records kept, 1 to 10000 (default: %(default)s)",
    )
    p.add_argument("--replace", action="store_true", help="replace a schedule with the same id")


# Command -> the function that adds its own options (the common ones come from cli._common).
OPTIONS: dict[str, Callable[[ArgumentParser], None]] = {
    "run": add_run,
    "worker": add_worker,
    "status": add_json("one JSON object"),
    "next": add_next,
    "sync": add_sync,
    "import-rq-scheduler": add_import,
    "web": add_web,
    "schedule add": add_schedule,
    "schedule list": add_list,
    "schedule show": add_show,
    "schedule rm": add_id,
    "schedule history": add_history,
    "schedule pause": add_pause,
    "schedule resume": add_id,
    "schedule trigger": add_id,
    "schedule backfill": add_backfill,
}
