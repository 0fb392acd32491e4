"""A real Prometheus scrapes three running instances through a failover; every dashboard panel
and every alert rule must evaluate through its HTTP API, and every panel must return data (the
run panels too: a worker runs the fires and the new leader tracks their ends)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster import ClusterFactory
from helpers import redis_now, wait_for
from redis import Redis
from redis_server import free_port, require

from hasched import Scheduler

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "hasched.rules.yml"
# Grafana's variables, as a user who picked "All" would have them.
GRAFANA_VARS = {"$job": ".*", "$instance": ".*", "$__rate_interval": "20s"}
# The run metrics, by the names users query (the contract); histograms without their suffixes.
RUN_METRICS = {"hasched_runs_total", "hasched_run_wait_seconds", "hasched_run_duration_seconds",
               "hasched_runs_in_flight"}  # fmt: skip
RUN_METRIC_RE = re.compile(r"\bhasched_runs?_[a-z_]+")


def run_metrics_in(expr: str) -> set[str]:
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in RUN_METRIC_RE.findall(expr)}


class Prometheus:
    def __init__(self, workdir: Path, targets: list[str]) -> None:
        self.binary = require("prometheus")
        self.port = free_port()
        shutil.copy(RULES, workdir / "hasched.rules.yml")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["hasched.rules.yml"],
            "scrape_configs": [{"job_name": "hasched", "static_configs": [{"targets": targets}]}],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Prometheus:
        args = [self.binary, f"--config.file={self.workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}"]  # fmt: skip
        log = (self.workdir / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(args, stdout=log, stderr=log)
        wait_for(lambda: self._ready(), timeout=30)
        return self

    def _ready(self) -> bool:
        try:
            return bool(self.get("/-/ready"))
        except OSError:
            return False

    def get(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if path.startswith("/api") else body

    def query(self, expr: str) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self.get("/api/v1/query", query=expr)
        except urllib.error.HTTPError as e:
            result = json.loads(e.read())
        return result

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)


def panel_exprs() -> list[tuple[str, str]]:
    board = json.loads((ROOT / "grafana" / "hasched.json").read_text())
    out = []
    for p in board["panels"]:
        for t in p["targets"]:
            expr = t["expr"]
            for var, val in GRAFANA_VARS.items():
                expr = expr.replace(var, val)
            out.append((p["title"], expr))
    return out


def rule_exprs() -> list[tuple[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(r.get("alert") or r.get("record"), r["expr"]) for g in groups for r in g["rules"]]


def failing_panels(prom: Prometheus) -> list[tuple[str, str, dict[str, Any]]]:
    """The dashboard panels whose query fails or returns no data (the run panels included: the
    worker runs the fires and the leader tracks their ends)."""
    failures = []
    for title, expr in panel_exprs():
        answer = prom.query(expr)
        if answer.get("status") != "success" or not answer["data"]["result"]:
            failures.append((title, expr, answer))
    return failures


def test_runs_are_watched_by_the_contract_names() -> None:
    panels = {name for _, expr in panel_exprs() for name in run_metrics_in(expr)}
    rules = {name for _, expr in rule_exprs() for name in run_metrics_in(expr)}
    assert panels == RUN_METRICS
    assert rules == {"hasched_runs_total", "hasched_run_wait_seconds"}


def scalar(prom: Prometheus, expr: str) -> float | None:
    result = prom.query(expr).get("data", {}).get("result")
    return float(result[0]["value"][1]) if result else None


def test_dashboard_and_alerts_evaluate_in_a_real_prometheus(
    cluster_factory: ClusterFactory, redis: Redis, tmp_path: Path
) -> None:
    cluster = cluster_factory(namespace="pe", lease_ttl=1.5)
    for name in ("a", "b", "c"):
        cluster.start_instance(name, metrics=True)
    cluster.start_worker()
    prom = Prometheus(tmp_path, [f"127.0.0.1:{p}" for p in cluster.metrics_ports.values()]).start()
    try:
        leader, _ = cluster.wait_leader()
        Scheduler(redis, "pe").every("p", 0.2, "jobs.record", start=redis_now(redis))
        # Prometheus has seen the first leader's fires (a rate needs two scrapes)
        wait_for(lambda: (scalar(prom, "sum(rate(hasched_fires_enqueued_total[20s]))") or 0) > 0, timeout=30)
        cluster.instances[leader].signal(signal.SIGKILL)
        _, new_epoch = cluster.wait_leader(exclude=leader)
        # scraped after the failover: one leader, the new epoch, and every panel has data
        wait_for(lambda: scalar(prom, "max(hasched_leader_epoch)") == new_epoch, timeout=30)
        wait_for(lambda: scalar(prom, "sum(hasched_leader)") == 1.0, timeout=30)
        wait_for(lambda: not failing_panels(prom), timeout=30)
        assert failing_panels(prom) == []

        for name, expr in rule_exprs():
            answer = prom.query(expr)
            assert answer.get("status") == "success", (name, expr, answer)
        health = prom.get("/api/v1/rules")["data"]["groups"]
        bad = [(r["name"], r.get("lastError")) for g in health for r in g["rules"] if r["health"] != "ok"]
        assert bad == []
    finally:
        prom.stop()
