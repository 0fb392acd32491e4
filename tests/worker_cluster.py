"""`hasched worker` processes for the tests: a Proc like Cluster's, one RQ worker and one scheduler
instance each (their instance id is also their RQ worker name)."""

from __future__ import annotations

from cluster import BIN, Cluster, Proc


def start_hasched_worker(cluster: Cluster, name: str, *extra: str, env: dict[str, str] | None = None) -> Proc:
    """Start `hasched worker` as instance `name` on the cluster's Redis, namespace and lease."""
    args = [str(BIN / "hasched"), "worker", "--redis-url", cluster.redis_url,
            "--namespace", cluster.namespace, "--instance-id", name,
            "--name", f"{name}-rq", "--lease-ttl", str(cluster.lease_ttl),
            "--retry-period", str(cluster.retry_period), "--log-format", "json", *extra,
            *cluster.queues]  # fmt: skip
    proc = Proc(name, args, cluster.workdir / f"{name}.log", cluster.env(env)).start()
    cluster.instances[name] = proc
    return proc
