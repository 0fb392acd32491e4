"""What each command of the `hasched` command line accepts: its options, help and examples.

Every option's help says what it is, its unit and its default; an option that may come from the
environment names its HASCHED_* variable (checked after parsing, see hasched._argtypes).
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Callable

from hasched._argtypes import count, env, one_of, seconds, whole_seconds
from hasched._choices import STATES, TEXT_LIMIT
from hasched._model import CATCHUP_POLICIES, OVERLAP_POLICIES

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "console")

# Command -> (what it does, examples shown at the end of its --help).
ABOUT: dict[str, tuple[str, str]] = {
    "run": ("run one scheduler instance (start two or more for high availability)", """\
  hasched run
  HASCHED_REDIS_URL=redis://:secret@redis:6379/0 hasched run --lease-ttl 5 --schedules /etc/hasched.toml"""),
    "worker": ("run an RQ worker and a scheduler instance in one process (start one per worker)", """\
  hasched worker high default low
  hasched worker -q default --worker-class rq.worker.SimpleWorker --lease-ttl 5
  hasched worker default --no-scheduler"""),
    "status": ("show the leader, the live instances and the lag", """\
  hasched status
  hasched status --json | jq .leader"""),
    "next": ("print the next fire times of a stored schedule or of a trigger", """\
  hasched next nightly -n 3
  hasched next --cron '30 2 * * *' --tz America/New_York
  hasched next --every 90 --start 2026-01-01T00:00:00Z"""),
    "sync": ("create or update the schedules of a TOML file, writing only what changed", """\
  hasched sync schedules.toml --dry-run
  hasched sync schedules.toml --prune"""),
    "import-rq-scheduler": ("create hasched schedules from rq-scheduler's jobs", """\
  hasched import-rq-scheduler --dry-run
  hasched import-rq-scheduler --remove-source"""),
    "web": ("serve the web UI: schedules, their runs, the cluster; pause, resume, trigger, delete", """\
  hasched web
  hasched web --bind 0.0.0.0:8080 --token-file /etc/hasched/web-token --read-only"""),
    "schedule": ("manage schedules: add, list, show, pause, resume, trigger, backfill, rm", """\
  hasched schedule list
  hasched schedule add --help"""),
    "schedule add": ("create a schedule, or replace one with --replace", """\
  hasched schedule add --id nightly --func app.tasks.report --cron '0 3 * * *' --tz Europe/Paris
  hasched schedule add --id poll --func app.tasks.poll --every 30 --queue low --overlap skip"""),
    "schedule list": ("list the schedules in id order, filtered and a page at a time", """\
  hasched schedule list
  hasched schedule list --match 'report-*' --state failing
  hasched schedule list --limit 100 --after report-0099
  hasched schedule list --json | jq -r '.[].id'"""),
    "schedule show": ("show one schedule: its fields, run counters, last outcomes, recent runs and "
                      "upcoming fires", """\
  hasched schedule show nightly
  hasched schedule show nightly --json | jq .last_failure"""),
    "schedule history": ("show what happened to a schedule's fires, newest first", """\
  hasched schedule history nightly
  hasched schedule history nightly -n 100 --json | jq -r '.[] | select(.status == "failed") | .error'"""),
    "schedule rm": ("remove a schedule", "  hasched schedule rm nightly"),
    "schedule pause": ("pause a schedule: no fire until resumed", """\
  hasched schedule pause nightly
  hasched schedule pause nightly --note 'ana: db migration until 14:00'"""),
    "schedule resume": ("resume a paused schedule, from now", "  hasched schedule resume nightly"),
    "schedule trigger": ("enqueue one extra run now; print its RQ job id", "  hasched schedule trigger x"),
    "schedule backfill": ("enqueue the fire times of a past range that were not enqueued before", """\
  hasched schedule backfill nightly --from 2026-03-01T00:00Z --to 2026-03-08T00:00Z --dry-run
  hasched schedule backfill poll --from 2026-03-01T12:00+01:00 --to 2026-03-01T13:00+01:00 --overlap skip"""),
}  # fmt: skip


def add_run(p: ArgumentParser, metrics_default: str = "0.0.0.0:9464") -> None:
    p.add_argument(
        "--instance-id",
        default=env("INSTANCE_ID"),
        metavar="ID",
        help="this instance's name, unique across hosts, without '|' "
        "(env HASCHED_INSTANCE_ID; default: hostname-pid)",
    )
    p.add_argument(
        "--metrics-addr",
        default=env("METRICS_ADDR", metrics_default),
        metavar="HOST:PORT",
        help="serve /metrics, /healthz and /status here; '' turns it off "
        f"(env HASCHED_METRICS_ADDR; default {metrics_default or 'off'})",
    )
    p.add_argument(
        "--lease-ttl",
        type=seconds,
        default=env("LEASE_TTL", 10.0, seconds),
        metavar="SECONDS",
        help="seconds a leader keeps the lease without renewing it, at least 1 "
        "(env HASCHED_LEASE_TTL; default 10)",
    )
    p.add_argument(
        "--retry-period",
        type=seconds,
        default=env("RETRY_PERIOD", 1.0, seconds),
        metavar="SECONDS",
        help="seconds between a follower's tries to take the lease (env HASCHED_RETRY_PERIOD; default 1)",
    )
    p.add_argument(
        "--schedules",
        default=env("SCHEDULES"),
        metavar="FILE",
        help="TOML file of schedules to sync at start and on SIGHUP (env HASCHED_SCHEDULES; default: none)",
    )
    p.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=env("LOG_FORMAT", None, one_of(*LOG_FORMATS)),
        help="log lines as JSON objects, or for people "
        "(env HASCHED_LOG_FORMAT; default: console on a terminal, else json)",
    )
    p.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=env("LOG_LEVEL", "info", one_of(*LOG_LEVELS)),
        help="least important level logged (env HASCHED_LOG_LEVEL; default info)",
    )


def add_worker(p: ArgumentParser) -> None:
    """`rq worker`'s usual options, then `run`'s (a worker host may run several: metrics off)."""
    p.add_argument("queues", nargs="*", metavar="QUEUE", help="queues to work on, in priority order")
    p.add_argument(
        "-q",
        "--queue",
        dest="more_queues",
        action="append",
        default=[],
        metavar="QUEUE",
        help="a queue to work on (repeatable; with QUEUE arguments: after them; default: default)",
    )
    p.add_argument(
        "-u", "--url", dest="rq_url", metavar="URL", help="rq's name for --redis-url (default: --redis-url's)"
    )
    for flags, dest, default, what in (
        (("-w", "--worker-class"), "worker_class", "rq.Worker", "RQ worker class"),
        (("-j", "--job-class"), "job_class", "rq.job.Job", "RQ job class"),
        (("--queue-class",), "queue_class", "rq.Queue", "RQ queue class"),
        (("-S", "--serializer"), "serializer", None, "RQ serializer"),
        (("-n", "--name"), "name", None, "RQ worker name"),
        (("--logging_level", "--logging-level"), "logging_level", "INFO", "RQ's logging level"),
        (("--dequeue-strategy",), "dequeue_strategy", "default", "default, random or round_robin"),
    ):
        shown = default or "RQ's"
        p.add_argument(*flags, dest=dest, default=default, metavar="X", help=f"{what} (default: {shown})")
    p.add_argument(
        "--worker-ttl", type=int, default=420, metavar="SECONDS", help="RQ worker TTL (default 420)"
    )
    p.add_argument(
        "--results-ttl", type=int, default=500, metavar="SECONDS", help="RQ result TTL (default 500)"
    )
    p.add_argument(
        "-P", "--path", action="append", default=[], metavar="DIR", help="add to sys.path (default: none)"
    )
    p.add_argument("-b", "--burst", action="store_true",
                   help="one scheduler pass (if no other instance leads), then work until the queues "
                        "are empty and exit")  # fmt: skip
    p.add_argument(
        "--no-scheduler", action="store_true", help="run the RQ worker alone, no scheduler instance"
    )
    add_run(p, metrics_default="")


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


def add_web(p: ArgumentParser) -> None:
    p.add_argument(
        "--bind",
        default=env("WEB_BIND", "127.0.0.1:8080"),
        metavar="HOST:PORT",
        help="address to serve on; any but a loopback one needs a token "
        "(env HASCHED_WEB_BIND; default 127.0.0.1:8080)",
    )
    p.add_argument(
        "--token-file",
        default=env("WEB_TOKEN_FILE"),
        metavar="FILE",
        help="file holding the token every page and action needs, at least 16 characters; "
        "or give the token itself in env HASCHED_WEB_TOKEN (env HASCHED_WEB_TOKEN_FILE; default: none)",
    )
    p.add_argument(
        "--read-only", action="store_true", help="show everything, change nothing (POST answers 403)"
    )
    p.set_defaults(web_token=env("WEB_TOKEN"))  # never a flag: it would show in the process list


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
