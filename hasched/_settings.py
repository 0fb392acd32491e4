"""Settings, read once from flags and environment into a frozen value."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from hasched._faults import FaultHooks
from hasched.errors import ValidationError

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_NAMESPACE = "hasched"


@dataclass(frozen=True, slots=True)
class Connection:
    """Where Redis is: a URL, or Sentinel addresses and a master name.

    In Sentinel mode the URL still says who we are on the primary (user, password, db, and TLS
    when it is rediss://) but not where it is: the sentinels tell that. The sentinels themselves
    may need their own user and password, and speak TLS when the primary does.
    """

    redis_url: str = DEFAULT_REDIS_URL
    sentinel: tuple[tuple[str, int], ...] = ()
    sentinel_master: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)

    @property
    def tls(self) -> bool:
        return self.redis_url.startswith("rediss://")

    def describe(self) -> str:
        """Where we connect, safe to print: never a password."""
        if not self.sentinel:
            return redact(self.redis_url)
        hosts = ",".join(f"{h}:{p}" for h, p in self.sentinel)
        sentinels = f"sentinel://{_userinfo(self.sentinel_username, self.sentinel_password)}{hosts}"
        auth = url_auth(self.redis_url)
        scheme = "rediss" if self.tls else "redis"
        primary = f"{scheme}://{_userinfo(auth.username, auth.password)}{self.sentinel_master}/{auth.db}"
        return f"{sentinels}/{self.sentinel_master} primary {primary}"


@dataclass(frozen=True, slots=True)
class UrlAuth:
    """Who we are on a Redis and which database: what Sentinel mode takes from the URL."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    db: int = 0


def url_auth(url: str) -> UrlAuth:
    """The user, password and db of a redis://, rediss:// or unix:// URL (db from path or ?db=)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query).get("db", [""])[0]
    db = query or (parts.path.lstrip("/") if parts.scheme != "unix" else "") or "0"
    if not db.isdigit():
        raise ValidationError("redis-url", f"database must be a number, got {db!r}")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return UrlAuth(username, password, int(db))


def _userinfo(username: str | None, password: str | None) -> str:
    """`user:***@`, `:***@`, `user@` or nothing: who we are, with the password hidden."""
    if password:
        return f"{username or ''}:***@"
    return f"{username}@" if username else ""


@dataclass(frozen=True, slots=True)
class RunSettings:
    """Options of `hasched run` (README: Command line)."""

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
