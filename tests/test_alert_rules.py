"""The Prometheus alert rules in deploy/prometheus: promtool accepts them, their unit tests pass,
they use only metrics hasched exports (README: Metrics and endpoints), and every alert has a test
and a runbook section."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PROM_DIR = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
RULES = PROM_DIR / "hasched.rules.yml"
RULES_TEST = PROM_DIR / "hasched.rules.test.yml"
CONFIG = PROM_DIR / "prometheus.yml"
RUNBOOK = PROM_DIR.parent.parent / "README.md"
RUNBOOK_URL = "README.md#"

# The README's metric list: exactly these names exist (histograms as their exported series).
HISTOGRAMS = {
    "hasched_fire_lag_seconds",
    "hasched_tick_duration_seconds",
    "hasched_run_wait_seconds",
    "hasched_run_duration_seconds",
}
METRICS = {
    "hasched_leader",
    "hasched_leader_epoch",
    "hasched_heartbeat_timestamp_seconds",
    "hasched_lease_renewals_total",
    "hasched_leader_transitions_total",
    "hasched_fires_enqueued_total",
    "hasched_fires_skipped_total",
    "hasched_schedules",
    "hasched_next_fire_seconds",
    "hasched_instances",
    "hasched_redis_errors_total",
    "hasched_schedules_invalid_total",
    "hasched_build_info",
    "hasched_runs_total",
    "hasched_runs_in_flight",
} | {f"{h}{suffix}" for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        reason = "promtool is not installed (apt-get install prometheus, or put promtool on PATH)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def run_promtool(*args: str, cwd: Path) -> None:
    proc = subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, (
        f"promtool {' '.join(args)} exited {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )


def alert_names() -> list[str]:
    return re.findall(r"^\s*-\s*alert:\s*(\S+)\s*$", RULES.read_text(), flags=re.M)


def rule_blocks() -> dict[str, str]:
    """alert name -> the text of its rule, up to the next rule."""
    parts = re.split(r"^\s*-\s*alert:\s*", RULES.read_text(), flags=re.M)[1:]
    return {p.split()[0]: p for p in parts}


def test_promtool_check_rules() -> None:
    run_promtool("check", "rules", "--lint=all", "--lint-fatal", RULES.name, cwd=PROM_DIR)


def test_promtool_unit_tests() -> None:
    run_promtool("test", "rules", RULES_TEST.name, cwd=PROM_DIR)


def test_promtool_check_example_config(tmp_path: Path) -> None:
    shutil.copy(CONFIG, tmp_path / CONFIG.name)
    shutil.copy(RULES, tmp_path / RULES.name)  # rule_files is relative to the config
    run_promtool("check", "config", CONFIG.name, cwd=tmp_path)


def test_rules_use_only_exported_metrics() -> None:
    text = "\n".join(  # expressions and annotations, not comments
        line for line in RULES.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    used = set(re.findall(r"\bhasched_[a-z_]+", text))
    assert used, "no hasched_* metric found in the rules"
    assert used <= METRICS, f"not exported by hasched: {sorted(used - METRICS)}"
    # Prometheus's `up` is the only other series, always restricted to the hasched scrape jobs.
    exprs = "\n".join(re.findall(r"^\s+expr:(.*?)(?=^\s+(?:for|labels):)", text, flags=re.M | re.S))
    for match in re.finditer(r"\bup\b(\{[^}]*\})?", exprs):
        assert match.group(1) == '{job=~"hasched.*"}', f"`up` without the hasched job: {match.group(0)}"


def test_every_alert_is_complete() -> None:
    names = alert_names()
    assert len(names) >= 9
    assert len(names) == len(set(names)), "duplicate alert names"
    for name, block in rule_blocks().items():
        assert name.startswith("Hasched"), name
        assert re.search(r"^\s+expr:", block, flags=re.M), name
        assert re.search(r"^\s+severity: (critical|warning)\s*$", block, flags=re.M), name
        for key in ("summary", "description", "runbook_url"):
            assert re.search(rf"^\s+{key}: \S", block, flags=re.M), f"{name}: no {key}"
        assert f"runbook_url: '{RUNBOOK_URL}{name.lower()}'" in block, f"{name}: runbook_url"


def test_every_alert_has_unit_tests() -> None:
    tests = RULES_TEST.read_text()
    for name in alert_names():
        checks = re.findall(rf"alertname: {name}\s*\n\s*exp_alerts:(.*)", tests)
        assert any(c.strip() == "[]" for c in checks), f"{name}: no healthy (silent) test"
        assert any(c.strip() == "" for c in checks), f"{name}: no firing test"


def test_every_alert_has_a_runbook_section() -> None:
    readme = RUNBOOK.read_text()
    match = re.search(r"^## Runbook\s*$", readme, flags=re.M)
    assert match, "README has no Runbook section"
    runbook = readme[match.end() :].split("\n## ", 1)[0]  # up to the next top-level section
    headings = re.findall(r"^### (\S+)\s*$", runbook, flags=re.M)
    # GitHub's anchor for "### HaschedNoLeader" is "#haschednoleader", the runbook_url fragment.
    assert sorted(headings) == sorted(alert_names())
