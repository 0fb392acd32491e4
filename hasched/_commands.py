"""What each CLI command does, given its parsed arguments.

Each command imports what it needs when it runs (Redis's client, the daemon, RQ...), so the
command line starts in a few tens of milliseconds and `--help` loads none of it.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hasched.errors import ScheduleNotFound, StartupError, ValidationError

if TYPE_CHECKING:
    from datetime import datetime

    from hasched._store import Store
    from hasched.api import Scheduler


def _store(args: argparse.Namespace) -> Store:
    from hasched._cliconf import connection_of
    from hasched._connect import connect
    from hasched._store import Store

    conn = connection_of(args)
    return Store(connect(conn), conn.namespace)


def _scheduler(args: argparse.Namespace) -> Scheduler:
    from hasched.api import Scheduler

    store = _store(args)
    return Scheduler(store.redis, store.keys.namespace)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


# `hasched run` owns its process, so its garbage collector is tuned for a leader: what start-up
# made is frozen (never scanned again) and full passes come rarely. The per-fire objects are freed
# by reference counting; a full pass over the leader's caches (tens of ms at 10,000 schedules)
# would hold up every fire due meanwhile (bench/README.md, the sustained load).
GC_THRESHOLDS = (20_000, 20, 50)


def cmd_run(args: argparse.Namespace) -> int:
    import signal

    from hasched import _log
    from hasched._cliconf import load_schedules, run_settings
    from hasched._connect import connect
    from hasched._daemon import Daemon
    from hasched._http import serve
    from hasched._systemd import Notifier

    settings = run_settings(args)
    _log.configure(settings.log_format, settings.log_level)
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    # A call blocked longer than a third of the lease is worth abandoning and retrying.
    schedules = load_schedules(settings.schedules) if settings.schedules else None
    redis = connect(settings.connection, timeout=max(0.5, settings.lease_ttl / 3))
    daemon = Daemon(settings, redis, schedules=schedules, notifier=Notifier())
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: daemon.request_stop())
    signal.signal(signal.SIGHUP, lambda *_: daemon.request_reload())
    endpoints = serve(settings.metrics_addr, daemon.metrics.registry, daemon.health, daemon.status)
    try:
        daemon.run()
    finally:
        if endpoints is not None:
            endpoints.stop()
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from hasched._progress import ProgressBar
    from hasched._sync import load_file, sync_schedules

    wanted = load_file(args.file)  # bad input fails before Redis is even asked
    with ProgressBar("syncing") as bar:
        plan = sync_schedules(_store(args), wanted, prune=args.prune, prune_all=args.prune_all,
                              dry_run=args.dry_run, progress=bar)  # fmt: skip
    print("\n".join(plan.lines(args.dry_run)))
    return 0


def cmd_import_rq_scheduler(args: argparse.Namespace) -> int:
    import dataclasses

    from hasched._progress import ProgressBar
    from hasched.compat._migrate import import_rq_scheduler

    s = _scheduler(args)
    with ProgressBar("importing") as bar:
        report = import_rq_scheduler(s.connection, s, dry_run=args.dry_run, remove_source=args.remove_source,
                                     local_timezone=args.local_timezone, progress=bar)  # fmt: skip
    _print_json(dataclasses.asdict(report)) if args.json else print("\n".join(report.lines()))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from hasched._status import render_text, status

    st = status(_store(args))
    _print_json(st) if args.json else print(render_text(st))
    return 0


def cmd_next(args: argparse.Namespace) -> int:
    from datetime import datetime

    from hasched._model import parse_datetime
    from hasched.api import make, next_fire_times

    after = parse_datetime("from", args.from_) if args.from_ else None
    zone = args.tz if args.cron else "UTC"  # times print in the zone the cron fields mean
    if args.id:
        sched = _scheduler(args)
        times = sched.next_fire_times(args.id, args.n, after)
        schedule = sched.get(args.id)
        zone = schedule.timezone if schedule.cron else "UTC"
    elif args.cron or args.every is not None:
        start = parse_datetime("start", args.start) if args.start else None
        probe = make(
            id="next",
            func="hasched.next",
            cron=args.cron,
            every=args.every,
            timezone=args.tz,
            start=start if args.every is not None else None,
        )
        if args.every is not None and start is None:
            raise ValidationError("start", "is required with --every (fires are start + k * every)")
        times = next_fire_times(probe, args.n, after or datetime.now().astimezone())
    else:
        raise ValidationError("trigger", "give a schedule ID, --cron or --every")
    out = [_local(t, zone) for t in times]
    _print_json(out) if args.json else print("\n".join(out))
    return 0


def _local(t: datetime, tz: str) -> str:
    from zoneinfo import ZoneInfo

    return t.astimezone(ZoneInfo(tz)).isoformat()


def cmd_add(args: argparse.Namespace) -> int:
    from hasched._model import parse_datetime
    from hasched.api import make

    fields: dict[str, Any] = {
        "args": _json_arg("args", args.args, list),
        "kwargs": _json_arg("kwargs", args.kwargs, dict),
        "meta": _json_arg("meta", args.meta, dict),
        "queue": args.queue,
        "repeat": args.repeat,
        "jitter": args.jitter,
        "catchup": args.catchup,
        "catchup_window": args.catchup_window,
        "overlap": args.overlap,
        "timeout": args.timeout,
        "result_ttl": args.result_ttl,
        "ttl": args.ttl,
        "failure_ttl": args.failure_ttl,
        "description": args.description,
        "paused": args.paused,
        "pause_on_failure": args.pause_on_failure,
        "history": args.history,
        "timezone": args.tz,
        "cron": args.cron,
        "every": args.every,
    }
    for name in ("at", "start", "end"):
        value = getattr(args, name)
        fields[name] = parse_datetime(name, value) if value else None
    schedule = make(id=args.id, func=args.func, **fields)
    print(_scheduler(args).add(schedule, replace=args.replace).id)
    return 0


def _json_arg(name: str, text: str, kind: type) -> Any:
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ValidationError(name, f"not valid JSON ({e})") from None
    if not isinstance(value, kind):
        raise ValidationError(name, f"must be a JSON {'list' if kind is list else 'object'}")
    return value


def cmd_list(args: argparse.Namespace) -> int:
    import dataclasses

    from hasched import _listing
    from hasched._history import summaries
    from hasched._query import Query, page
    from hasched.api import describe

    limit = args.limit if args.limit is not None or args.json else _listing.TEXT_LIMIT
    query = Query(match=args.match, queue=args.queue, state=args.state, limit=limit, after=args.after)
    store = _store(args)  # one more than asked, to tell the reader whether another page follows
    got = page(store, dataclasses.replace(query, limit=limit and limit + 1))
    for err in got.bad:
        print(f"warning: {err}", file=sys.stderr)
    shown = got.found[:limit]
    found = [describe(x) for x in shown]
    if args.json:
        _print_json(found)
        lines = []
    else:  # each line with its last run: the page's histories in one round trip
        recents = [summary["recent"][:1] for summary in summaries(store, shown, 0)]
        lines = _listing.render([{**d, "recent": r} for d, r in zip(found, recents, strict=True)],
                                table=sys.stdout.isatty())  # fmt: skip
    if lines:
        print("\n".join(lines))
    if limit is not None and len(got.found) > limit:
        print(f"note: more schedules follow; next page: --after {found[-1]['id']}", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from hasched import _runs_text

    d = _scheduler(args).describe(args.id)
    _print_json(d) if args.json else print("\n".join(_runs_text.show_lines(d)))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from hasched import _runs_text

    records = _scheduler(args).history(args.id, args.n)
    if args.json:
        _print_json(records)
        return 0
    lines = _runs_text.render(records, table=sys.stdout.isatty())
    if lines:
        print("\n".join(lines))
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    print(_scheduler(args).pause(args.id, note=args.note).id)
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from hasched._model import parse_datetime

    sched = _scheduler(args)
    start, end = parse_datetime("from", args.from_), parse_datetime("to", args.to)
    try:
        done = sched.backfill(args.id, start, end, args.overlap, dry_run=args.dry_run)
    except ValidationError as e:  # the API's names for the range are the options' here
        flag = {"start": "from", "end": "to"}.get(e.field, e.field)
        raise ValidationError(flag, e.message, schedule_id=e.schedule_id) from None
    if args.dry_run:
        schedule = sched.get(args.id)
        zone = schedule.timezone if schedule.cron else "UTC"
        for t in done.enqueued:
            print(_local(t, zone))
        print(f"would enqueue {len(done.enqueued)} fires of {args.id} ({done.already} enqueued before)")
        return 0
    extra = (
        f", {len(done.waiting)} waiting, {len(done.skipped)} skipped for overlap"
        if done.waiting or done.skipped
        else ""
    )
    print(f"enqueued {len(done.enqueued)} fires of {args.id} ({done.already} enqueued before{extra})")
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    from hasched._cliconf import connection_of

    try:  # an optional extra: the core never imports it
        from hasched.web._serve import serve
    except ImportError as e:
        raise StartupError(f"the web UI needs its extra: pip install 'hasched[web]' ({e})") from None
    return serve(args, connection_of(args))


def _simple(action: Callable[[Scheduler, str], Any]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        result = action(_scheduler(args), args.id)
        print(result if isinstance(result, str) else args.id)
        return 0

    return run


def _rm(s: Scheduler, sid: str) -> str:
    if not s.cancel(sid):
        raise ScheduleNotFound(sid)
    return sid


def cmd_worker(args: argparse.Namespace) -> int:
    from hasched._worker import run_worker  # RQ's worker machinery only for this command

    return run_worker(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "worker": cmd_worker,
    "status": cmd_status,
    "sync": cmd_sync,
    "import-rq-scheduler": cmd_import_rq_scheduler,
    "next": cmd_next,
    "web": cmd_web,
    "schedule add": cmd_add,
    "schedule list": cmd_list,
    "schedule show": cmd_show,
    "schedule rm": _simple(_rm),
    "schedule history": cmd_history,
    "schedule pause": cmd_pause,
    "schedule resume": _simple(lambda s, sid: s.resume(sid)),
    "schedule trigger": _simple(lambda s, sid: s.trigger(sid).id),  # prints the RQ job id
    "schedule backfill": cmd_backfill,
}

__all__ = ["COMMANDS"]
