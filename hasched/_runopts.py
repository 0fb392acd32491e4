"""The options of the long-running commands: `hasched run`, `hasched worker` and `hasched web`.

Every option's help says what it is, its unit and its default; an option that may come from the
environment names its HASCHED_* variable (checked after parsing, see hasched._argtypes).
"""

from __future__ import annotations

from argparse import ArgumentParser

from hasched._argtypes import env, one_of, seconds

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "console")


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
