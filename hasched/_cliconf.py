"""Settings from the parsed command line: where Redis is, and the options of an instance.

Shared by every command (`hasched._commands`) and by `hasched worker` (`hasched._worker`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hasched._faults import FaultHooks
from hasched._keys import NAMESPACE_RE
from hasched._settings import Connection, RunSettings, default_instance_id, redact
from hasched.errors import ValidationError

if TYPE_CHECKING:  # the rest is imported by the commands that need it: the CLI starts faster
    from hasched._model import Schedule


def connection_of(args: argparse.Namespace) -> Connection:
    """Validated connection settings from the common flags."""
    _check_url(args.redis_url)
    if not NAMESPACE_RE.fullmatch(args.namespace or ""):
        raise ValidationError("namespace", f"must match [A-Za-z0-9_.:-]{{1,64}}, got {args.namespace!r}")
    sentinel: tuple[tuple[str, int], ...] = ()
    if args.sentinel:
        sentinel = tuple(_host_port("sentinel", part) for part in args.sentinel.split(","))
        if not args.sentinel_master:
            raise ValidationError("sentinel-master", "is required with --sentinel")
    for flag in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
        path = getattr(args, flag)
        if path and not os.path.isfile(path):
            raise ValidationError(flag.replace("_", "-"), f"no such file: {path}")
    if bool(args.tls_cert_file) != bool(args.tls_key_file):
        raise ValidationError("tls-key-file", "--tls-cert-file and --tls-key-file go together")
    return Connection(args.redis_url, sentinel, args.sentinel_master, args.namespace,
                      args.tls_ca_file, args.tls_cert_file, args.tls_key_file,
                      args.sentinel_username, args.sentinel_password)  # fmt: skip


def _check_url(url: str) -> None:
    """A URL redis-py can use; its errors would otherwise surface as a bare ValueError."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError as e:  # its text names the bad part (never the password)
        raise ValidationError("redis-url", f"not a valid URL: {e}") from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValidationError(
            "redis-url", f"must start with redis://, rediss:// or unix://, got {redact(url)}"
        )


def _host_port(name: str, text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ValidationError(name, f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def load_schedules(path: str) -> list[Schedule]:
    """The --schedules file, its errors named after the option (or its HASCHED_ variable)."""
    from hasched._sync import load_file

    try:
        return load_file(path)
    except ValidationError as e:
        if e.field != "file":
            raise
        raise ValidationError("schedules", e.message) from None


def run_settings(args: argparse.Namespace) -> RunSettings:
    """`hasched run`'s settings, validated."""
    from hasched._http import parse_addr

    if args.lease_ttl < 1:
        raise ValidationError("lease-ttl", f"must be at least 1 second, got {args.lease_ttl}")
    if args.retry_period <= 0:
        raise ValidationError("retry-period", f"must be more than 0, got {args.retry_period}")
    instance_id = args.instance_id or default_instance_id()
    if "|" in instance_id or not instance_id.isprintable() or len(instance_id) > 200:
        raise ValidationError("instance-id", f"must be printable, without '|', got {instance_id!r}")
    if args.metrics_addr:
        parse_addr(args.metrics_addr)
    log_format = args.log_format or ("console" if sys.stderr.isatty() else "json")
    return RunSettings(
        connection=connection_of(args),
        instance_id=instance_id,
        metrics_addr=args.metrics_addr,
        lease_ttl=args.lease_ttl,
        retry_period=args.retry_period,
        schedules=args.schedules,
        log_format=log_format,
        log_level=args.log_level,
        faults=FaultHooks.from_env(),
    )
