"""The Grafana dashboard: generated from its source, importable, naming only real metrics."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

from hasched._metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]
METRIC_RE = re.compile(r"\bhasched_[a-z_]+\b")


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "grafana" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported_names() -> set[str]:
    """Every sample name an instance exports (counters' _total, histograms' _bucket, ...), also
    for a labelled family that has no series yet (a queue's runs appear with its first run)."""
    families = list(Metrics().registry.collect())
    declared = {f.name + suffix for f in families for suffix in SUFFIXES.get(f.type, ("",))}
    return declared | {s.name for f in families for s in f.samples}


def dashboard_exprs() -> list[str]:
    board = json.loads((ROOT / "grafana" / "hasched.json").read_text())
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def test_committed_json_is_what_the_generator_makes() -> None:
    assert (ROOT / "grafana" / "hasched.json").read_text() == generator().render(), (
        "grafana/hasched.json is stale: run python grafana/generate.py"
    )


def test_every_expression_names_only_exported_metrics() -> None:
    exported = exported_names()
    used = {name for expr in dashboard_exprs() for name in METRIC_RE.findall(expr)}
    assert used and used <= exported, used - exported


def test_importable_with_a_datasource_chosen_at_import() -> None:
    board = json.loads((ROOT / "grafana" / "hasched.json").read_text())
    assert [i["name"] for i in board["__inputs"]] == ["DS_PROMETHEUS"]
    assert [v["name"] for v in board["templating"]["list"]] == ["job", "instance"]
    for p in board["panels"]:
        assert p["datasource"]["uid"] == "${DS_PROMETHEUS}"
        assert p["targets"], p["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    titles = " ".join(p["title"].lower() for p in board["panels"])
    for topic in ("leader", "epoch", "failover", "lag", "queue", "skipped", "heartbeat", "instances",
                  "tick", "next fire", "redis errors", "invalid", "run outcomes", "run wait", "run duration",
                  "runs in flight"):  # fmt: skip
        assert topic in titles, topic
