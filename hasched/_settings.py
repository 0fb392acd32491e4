"""Settings, read once from flags and environment into a frozen value."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from hasched._faults import FaultHooks

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_NAMESPACE = "hasched"


@dataclass(frozen=True, slots=True)
class Connection:
    """Where Redis is: a URL, or Sentinel addresses and a master name."""

    redis_url: str = DEFAULT_REDIS_URL
    sentinel: tuple[tuple[str, int], ...] = ()
    sentinel_master: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None

    def describe(self) -> str:
        """Where we connect, safe to print: never the password."""
        if self.sentinel:
            hosts = ",".join(f"{h}:{p}" for h, p in self.sentinel)
            return f"sentinel://{hosts}/{self.sentinel_master}"
        return redact(self.redis_url)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """Options of `hasched run` (SPEC 4)."""

    connection: Connection = field(default_factory=Connection)
    instance_id: str = ""
    metrics_addr: str = "0.0.0.0:9464"
    lease_ttl: float = 10.0
    retry_period: float = 1.0
    schedules: str | None = None
    log_format: str = "json"
    log_level: str = "info"
    faults: FaultHooks = field(default_factory=FaultHooks)  # test-only, see hasched._faults

    @property
    def heartbeat_interval(self) -> float:
        return self.lease_ttl / 3


def default_instance_id() -> str:
    """hostname-pid, unique enough across hosts and restarts."""
    return f"{socket.gethostname()}-{os.getpid()}"


def redact(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
