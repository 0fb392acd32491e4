"""Fixtures for the chaos suite and the end-of-run summary table (also written as JSON)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster import Cluster
from harness import LEASE_TTL, RETRY, VERDICTS, Verdict, Workload
from redis_server import backend_summary, new_server

RESULTS = Path(__file__).resolve().parent / "results"


class Chaos:
    """One scenario's world: a Redis, a cluster on it, a workload, and the faults injected."""

    def __init__(self, name: str, *, appendonly: bool = False) -> None:
        self.name = name
        self.server = new_server(appendonly=appendonly).start()
        self.cluster = Cluster(self.server.url, namespace="chaos", lease_ttl=LEASE_TTL, retry_period=RETRY)
        self.workload = Workload(self.server.client(), "chaos")
        self.faults: list[float] = []

    def start(self, instances: int = 3, workers: int = 2) -> Chaos:
        for i in range(instances):
            self.cluster.start_instance(f"s{i}")
        for _ in range(workers):
            self.cluster.start_worker()
        self.cluster.wait_leader()
        return self

    def fault(self) -> None:
        """Note the (wall-clock, same host as Redis) time a fault is injected."""
        self.faults.append(time.time())

    def finish(self, ran_before: frozenset[tuple[str, int]] = frozenset()) -> Verdict:
        self.workload.wait_done()
        verdict = self.workload.verdict(self.name, self.faults, ran_before)
        verdict.redis = self.server.describe()
        VERDICTS.append(verdict)
        return verdict

    def close(self) -> None:
        self.cluster.stop()
        self.server.stop()


@pytest.fixture()
def chaos(request: pytest.FixtureRequest) -> Iterator[Any]:
    made: list[Chaos] = []

    def make(**kwargs: Any) -> Chaos:
        c = Chaos(request.node.name.removeprefix("test_"), **kwargs)
        made.append(c)
        return c

    yield make
    failed = request.node.rep_call.failed if hasattr(request.node, "rep_call") else False
    for c in made:
        if failed:
            print(c.cluster.report(tail=40))
        c.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in backend_summary():
        terminalreporter.write_line(line)
    if not VERDICTS:
        return
    cols = ["scenario", "faults", "expected", "enqueued", "executed", "duplicates", "missing",
            "not_executed", "worker_lost", "rq_lost_end", "refired", "max_gap_s", "max_lag_s",
            "redis"]  # fmt: skip
    rows = [v.row() for v in VERDICTS]
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in cols]
    terminalreporter.write_sep("=", "hasched chaos summary")
    terminalreporter.write_line("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for r in rows:
        terminalreporter.write_line("  ".join(str(r[c]).ljust(w) for c, w in zip(cols, widths, strict=True)))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    payload = json.dumps(
        [{**v.row(), "gaps_s": v.gaps_s, "examples": v.examples} for v in VERDICTS], indent=2
    )
    (RESULTS / f"{stamp}.json").write_text(payload)
    (RESULTS / "latest.json").write_text(payload)
    terminalreporter.write_line(f"written to {RESULTS / 'latest.json'}")
