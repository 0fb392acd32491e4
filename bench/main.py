"""`make bench`: the sections of SECTIONS in order, on one private Redis (`--sections` picks
some): bursts and fire lag (bench.py, which also holds the method and the shared helpers), the
sustained load (sustained.py), bulk creation and 1,000,000 stored schedules (scale.py)."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import scale
import sustained

from bench import (
    HERE,
    RESULTS,
    WATCHDOG_S,
    Run,
    Section,
    Watchdog,
    burst_section,
    lag_section,
    progress,
    redis_server,
    report,
    versions,
    write_json,
)


def sustained_section(run: Run) -> dict[str, Any]:
    return sustained.section(run)


# The sections `make bench` runs, in this order (`--sections` picks some). A figure measured in a
# file of its own joins `make bench` by adding its function here: it gets the private Redis, its
# URL and the options, and returns {"markdown": ..., "results": ...} (the 1,000,000-schedule
# figures, for one).
def scale_section(run: Run) -> dict[str, Any]:
    """bench/scale.py with its defaults: bulk creation and the 1,000,000-schedule figures."""
    result = scale.measure(run.r, run.url, run.workdir, scale.parse_args([]))
    return {"markdown": scale.tables(result), "results": [result]}


SECTIONS: dict[str, Section] = {
    "burst-shared": burst_section(distinct=False),
    "burst-distinct": burst_section(distinct=True),
    "lag": lag_section,
    "sustained": sustained_section,
    "scale": scale_section,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark hasched against rq-scheduler")
    p.add_argument("--fires", type=int, default=20_000, help="fires due at one instant (throughput)")
    p.add_argument("--lag-fires", type=int, default=1_000, help="fires spread over --lag-span (lag)")
    p.add_argument("--lag-span", type=float, default=10.0, help="seconds the lag fires are spread over")
    p.add_argument("--rqs-fast-interval", type=float, default=0.01, help="rq-scheduler's short interval")
    p.add_argument("--schedules", type=int, default=10_000, help="schedules of the sustained load")
    p.add_argument("--duration", type=float, default=60.0, help="seconds the sustained load runs")
    p.add_argument(
        "--aligned-duration",
        type=float,
        default=20.0,
        help="seconds of the sustained load with every schedule at the same phase (0: skip)",
    )
    p.add_argument("--only", choices=("hasched", "rq-scheduler"), help="measure one scheduler only")
    p.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"which to run, comma-separated, in order (default: {','.join(SECTIONS)})",
    )
    args = p.parse_args(argv)
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}")
    return args


def _on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def _on_watchdog(_signum: int, _frame: object) -> None:
    raise Watchdog(f"the benchmark ran longer than {WATCHDOG_S} s")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGALRM, _on_watchdog)
    signal.alarm(WATCHDOG_S)
    started = time.monotonic()
    sections: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="hasched-bench-") as tmp, redis_server(Path(tmp)) as (r, url):
            run = Run(r, url, Path(tmp), args)
            for name in args.sections.split(","):
                progress(f"{name}:")
                sections[name] = SECTIONS[name](run)
            meta: dict[str, Any] = {"generated_at": datetime.now(UTC).isoformat(), "versions": versions(r)}
    finally:
        signal.alarm(0)
    meta["params"] = vars(args)
    meta["duration_s"] = time.monotonic() - started
    write_json(sections, meta)
    print(report(sections, meta))
    print(f"\n(run took {meta['duration_s']:.0f} s; raw numbers in {RESULTS.relative_to(HERE.parent)})")
    failed = any("error" in res for s in sections.values() for res in s["results"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
