"""Generate `grafana/hasched.json`, the Grafana dashboard, from this reviewable source.

Why a generator: a dashboard is ~1,000 lines of JSON in which the part worth reviewing (the
PromQL) is buried. Here each panel is one line; `tests/test_dashboard.py` checks that the
committed JSON is exactly what this script produces and that every expression names only metrics
hasched exports. Run `python grafana/generate.py` after editing and commit both files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("hasched.json")
SEL = '{job=~"$job", instance=~"$instance"}'
RATE = "$__rate_interval"


def sel(extra: str = "") -> str:
    """The dashboard's label selector, with extra matchers."""
    return SEL if not extra else SEL[:-1] + ", " + extra + "}"


ACQUIRED = sel('event="acquired"')
LEADER = f"(hasched_leader{SEL} == 1)"


def quantiles(histogram: str, *qs: float) -> list[tuple[str, str]]:
    """p-quantile expressions of a histogram over the dashboard's selection."""
    rate = f"sum by (le) (rate({histogram}_bucket{SEL}[{RATE}]))"
    return [(f"histogram_quantile({q}, {rate})", f"p{round(q * 100)}") for q in qs]


# (title, kind, unit, [(expr, legend)]) — one line a panel, in reading order.
PANELS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("Current leader", "stat", "none", [(f"max by (instance) (hasched_leader{SEL}) == 1", "{{instance}}")]),
    ("Leader epoch", "stat", "none", [(f"max(hasched_leader_epoch{SEL})", "epoch")]),
    ("Live instances", "stat", "none", [(f"max(hasched_instances{SEL})", "instances")]),
    ("Schedules", "stat", "none", [(f"max by (state) (hasched_schedules{SEL})", "{{state}}")]),
    ("Leadership per instance", "timeseries", "none", [(f"hasched_leader{SEL}", "{{instance}}")]),
    ("Failovers (leases acquired)", "timeseries", "short",
     [(f"sum(increase(hasched_leader_transitions_total{ACQUIRED}[{RATE}]))", "acquired")]),
    ("Fire lag p50 / p95 / p99", "timeseries", "s", quantiles("hasched_fire_lag_seconds", 0.5, 0.95, 0.99)),
    ("Fires enqueued by queue", "timeseries", "ops",
     [(f"sum by (queue) (rate(hasched_fires_enqueued_total{SEL}[{RATE}]))", "{{queue}}")]),
    ("Fires skipped by reason", "timeseries", "ops",
     [(f"sum by (reason) (rate(hasched_fires_skipped_total{SEL}[{RATE}]))", "{{reason}}")]),
    ("Heartbeat age per instance", "timeseries", "s",
     [(f"time() - hasched_heartbeat_timestamp_seconds{SEL}", "{{instance}}")]),
    ("Tick duration p50 / p99", "timeseries", "s", quantiles("hasched_tick_duration_seconds", 0.5, 0.99)),
    ("Earliest next fire (negative = behind)", "timeseries", "s",
     [(f"min(hasched_next_fire_seconds{SEL} and on (job, instance) {LEADER})", "next fire in")]),
    ("Redis errors by operation", "timeseries", "ops",
     [(f"sum by (op) (rate(hasched_redis_errors_total{SEL}[{RATE}]))", "{{op}}")]),
    ("Lease renewals by result", "timeseries", "ops",
     [(f"sum by (result) (rate(hasched_lease_renewals_total{SEL}[{RATE}]))", "{{result}}")]),
    ("Invalid stored schedules skipped", "timeseries", "short",
     [(f"sum(increase(hasched_schedules_invalid_total{SEL}[{RATE}]))", "invalid")]),
    ("Run outcomes by status", "timeseries", "ops",
     [(f"sum by (status) (rate(hasched_runs_total{SEL}[{RATE}]))", "{{status}}")]),
    ("Runs in flight", "timeseries", "short",
     [(f"sum(hasched_runs_in_flight{SEL} and on (job, instance) {LEADER})", "in flight")]),
    ("Run wait for a worker p50 / p95", "timeseries", "s", quantiles("hasched_run_wait_seconds", 0.5, 0.95)),
    ("Run duration p50 / p95", "timeseries", "s", quantiles("hasched_run_duration_seconds", 0.5, 0.95)),
]  # fmt: skip


def panel(index: int, title: str, kind: str, unit: str, targets: list[tuple[str, str]]) -> dict[str, Any]:
    small = kind == "stat"
    width, height = (6, 4) if small else (12, 8)
    per_row = 24 // width
    stats_before = min(index, 4)  # the four stats form the first row
    if small:
        x, y = index * width, 0
    else:
        n = index - stats_before
        x, y = (n % per_row) * width, 4 + (n // per_row) * height
    return {
        "id": index + 1,
        "type": kind,
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
        "gridPos": {"x": x, "y": y, "w": width, "h": height},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
        if small
        else {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [target(i, expr, legend) for i, (expr, legend) in enumerate(targets)],
    }


def target(i: int, expr: str, legend: str) -> dict[str, Any]:
    datasource = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    return {"refId": chr(65 + i), "expr": expr, "legendFormat": legend, "datasource": datasource}


def variable(name: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
        "query": {"query": query, "refId": f"{name}-var"},
        "definition": query,
        "refresh": 2,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {},
        "sort": 1,
    }


def dashboard() -> dict[str, Any]:
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "",
                      "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
        ],
        "title": "hasched",
        "uid": "hasched",
        "description": "Leadership, fire lag, throughput and runs of hasched, the HA scheduler for RQ.",
        "tags": ["hasched", "rq"],
        "schemaVersion": 38,
        "version": 1,
        "editable": True,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "templating": {"list": [
            variable("job", "label_values(hasched_build_info, job)"),
            variable("instance", 'label_values(hasched_build_info{job=~"$job"}, instance)'),
        ]},
        "panels": [panel(i, *p) for i, p in enumerate(PANELS)],
    }  # fmt: skip


def render() -> str:
    return json.dumps(dashboard(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}")
