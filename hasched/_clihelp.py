"""What each command of the `hasched` command line does, and the examples at the end of its --help."""

from __future__ import annotations

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
