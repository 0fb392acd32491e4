"""`settings.HASCHED`, read once and checked: any problem is one ValidationError naming the key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hasched._keys import NAMESPACE_RE
from hasched._model import Schedule
from hasched._settings import DEFAULT_NAMESPACE, DEFAULT_REDIS_URL
from hasched._sync import parse_tables
from hasched.errors import ValidationError

SETTING = "HASCHED"
KEYS = ("REDIS_URL", "NAMESPACE", "SCHEDULES")


@dataclass(frozen=True, slots=True)
class DjangoSettings:
    """What `settings.HASCHED` says (defaults as `hasched`'s own)."""

    redis_url: str = DEFAULT_REDIS_URL
    namespace: str = DEFAULT_NAMESPACE
    schedules: tuple[Schedule, ...] = field(default_factory=tuple)


def read(settings: Any) -> DjangoSettings:
    """`settings.HASCHED` checked: the keys, their types, and every schedule as a schedule file's."""
    raw = getattr(settings, SETTING, {})
    if not isinstance(raw, Mapping):
        raise ValidationError(SETTING, f"must be a dict, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ValidationError(f"{SETTING}[{unknown[0]!r}]", f"unknown key (known: {', '.join(KEYS)})")
    url = raw.get("REDIS_URL", DEFAULT_REDIS_URL)
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValidationError(f"{SETTING}['REDIS_URL']", "must be a redis://, rediss:// or unix:// URL")
    namespace = raw.get("NAMESPACE", DEFAULT_NAMESPACE)
    if not isinstance(namespace, str) or not NAMESPACE_RE.fullmatch(namespace):
        raise ValidationError(
            f"{SETTING}['NAMESPACE']", f"must match [A-Za-z0-9_.:-]{{1,64}}, got {namespace!r}"
        )
    tables = raw.get("SCHEDULES", [])
    if not isinstance(tables, list | tuple) or not all(isinstance(t, Mapping) for t in tables):
        raise ValidationError(f"{SETTING}['SCHEDULES']", "must be a list of dicts, one per schedule")
    try:
        schedules = parse_tables({"schedule": [dict(t) for t in tables]})
    except ValidationError as e:
        where = f" (schedule {e.schedule_id})" if e.schedule_id else ""
        raise ValidationError(f"{SETTING}['SCHEDULES']", f"{e.field}: {e.message}{where}") from None
    return DjangoSettings(url, namespace, tuple(schedules))
