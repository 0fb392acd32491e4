"""Every Prometheus metric hasched exports (README: Metrics and endpoints), on a registry of hasched's own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from hasched import __version__

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# The Redis operations `hasched_redis_errors_total{op}` distinguishes (the daemon's loop steps).
REDIS_OPS = ("lease", "heartbeat", "tick")
# Run waits and durations: from a few ms to a day.
RUN_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0)
RUN_ENDS = ("finished", "failed", "stopped", "canceled", "unknown")
TICK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The metric families of one instance. Followers export them too (leader = 0)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry if registry is not None else CollectorRegistry()
        self.leader = Gauge("hasched_leader", "1 while this instance holds the lease", registry=r)
        self.leader_epoch = Gauge(
            "hasched_leader_epoch", "Epoch of the lease this instance last saw", registry=r
        )
        self.heartbeat = Gauge(
            "hasched_heartbeat_timestamp_seconds",
            "Unix time of this instance's last successful heartbeat",
            registry=r,
        )
        self.lease_renewals = Counter(
            "hasched_lease_renewals", "Lease renewals by result", ["result"], registry=r
        )
        self.transitions = Counter(
            "hasched_leader_transitions", "Leadership changes of this instance", ["event"], registry=r
        )
        self.fires_enqueued = Counter(
            "hasched_fires_enqueued", "Fires enqueued by this instance", ["queue"], registry=r
        )
        self.fires_skipped = Counter(
            "hasched_fires_skipped", "Fires not enqueued, by reason", ["reason"], registry=r
        )
        self.fire_lag = Histogram(
            "hasched_fire_lag_seconds",
            "Enqueue time minus due time (the nominal fire time plus its jitter)",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.tick_duration = Histogram(
            "hasched_tick_duration_seconds", "One pass of the leader loop", buckets=TICK_BUCKETS, registry=r
        )
        self.schedules = Gauge(
            "hasched_schedules", "Stored schedules by state (leader)", ["state"], registry=r
        )
        self.next_fire = Gauge(
            "hasched_next_fire_seconds",
            "Seconds until the earliest next fire; negative means behind (leader)",
            registry=r,
        )
        self.instances = Gauge("hasched_instances", "Live instances in the registry", registry=r)
        self.redis_errors = Counter("hasched_redis_errors", "Failed Redis operations", ["op"], registry=r)
        self.schedules_invalid = Counter(
            "hasched_schedules_invalid", "Stored schedules skipped as unreadable", registry=r
        )
        self.runs = Counter(
            "hasched_runs", "Run ends observed, by queue and status (leader)", ["queue", "status"], registry=r
        )
        self.run_wait = Histogram(
            "hasched_run_wait_seconds",
            "Enqueue to a worker starting the job: whether the workers keep up (leader)",
            ["queue"],
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self.run_duration = Histogram(
            "hasched_run_duration_seconds", "Job start to end (leader)", ["queue"], buckets=RUN_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.runs_in_flight = Gauge(
            "hasched_runs_in_flight", "Runs enqueued whose end has not been seen yet (leader)", registry=r
        )
        self.build_info = Gauge("hasched_build_info", "Always 1", ["version"], registry=r)
        self.build_info.labels(version=__version__).set(1)
        self._prime()

    def _prime(self) -> None:
        """Create every labelled series at 0, so dashboards and rate() see them from the start."""
        for result in ("ok", "lost", "error"):
            self.lease_renewals.labels(result=result)
        for event in ("acquired", "lost", "released"):
            self.transitions.labels(event=event)
        for reason in ("claimed", "missed", "overlap", "fenced"):
            self.fires_skipped.labels(reason=reason)
        for state in ("active", "paused"):
            self.schedules.labels(state=state)
        for op in REDIS_OPS:
            self.redis_errors.labels(op=op)
        self.fires_enqueued.labels(queue="default")
        for status in RUN_ENDS:
            self.runs.labels(queue="default", status=status)
        self.run_wait.labels(queue="default")
        self.run_duration.labels(queue="default")
