"""What `hasched status` and `GET /status` report: one read of the namespace's live state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis.utils import str_if_bytes

from hasched._keys import parse_lease
from hasched._store import Store
from hasched._triggers import US, from_us


def status(store: Store) -> dict[str, Any]:
    """Leader and epoch, live instances with heartbeat age, schedule counts, next fire, lag, and
    the latest lease grants (newest first)."""
    k = store.keys
    pipe = store.redis.pipeline(transaction=False)
    pipe.get(k.lease)
    pipe.get(k.epoch)
    pipe.zrange(k.instances, 0, -1, withscores=True)
    pipe.lrange(k.leaders, 0, -1)
    lease, epoch_counter, beats, grants = pipe.execute()
    now_us = store.now_us()
    leader, lease_epoch = _parse_lease(lease)
    instances = [
        {
            "id": str_if_bytes(member),
            "heartbeat_age_seconds": round(max(0.0, now_us / 1000 - score) / 1000, 3),
            "leader": str_if_bytes(member) == leader,
        }
        for member, score in beats
    ]
    earliest = store.earliest_due()
    return {
        "leader": leader,
        "epoch": lease_epoch if leader is not None else int(epoch_counter or 0),
        "instances": sorted(instances, key=lambda i: str(i["id"])),
        "schedules": store.counts(),
        "next_fire": None if earliest is None else from_us(earliest).isoformat(),
        "lag_seconds": 0.0 if earliest is None else round(max(0, now_us - earliest) / US, 6),
        "leadership_changes": [c for c in map(_parse_grant, grants) if c is not None],
    }


def _parse_grant(raw: Any) -> dict[str, Any] | None:
    """{"instance", "epoch", "at"} from a `{ns}:leaders` entry "instance_id|epoch|ms" (an
    instance id may itself hold "|", so it is split from the right); None if unreadable."""
    parts = str_if_bytes(raw).rsplit("|", 2)
    if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    at = datetime.fromtimestamp(int(parts[2]) / 1000, UTC)
    return {"instance": parts[0], "epoch": int(parts[1]), "at": at.isoformat(timespec="milliseconds")}


def _parse_lease(raw: Any) -> tuple[str | None, int]:
    return (None, 0) if raw is None else parse_lease(raw)


_TEXT_CHANGES = 5  # the text form lists the newest few; --json has every one kept


def render_text(st: dict[str, Any]) -> str:
    """The human form of `status`."""
    lines = [
        f"leader:    {st['leader'] or '(none)'}  epoch {st['epoch']}",
        f"schedules: {st['schedules']['active']} active, {st['schedules']['paused']} paused",
        f"next fire: {st['next_fire'] or '-'}  lag {st['lag_seconds']:.3f}s",
        f"instances: {len(st['instances'])}",
    ]
    for inst in st["instances"]:
        mark = " (leader)" if inst["leader"] else ""
        lines.append(f"  {inst['id']}  heartbeat {inst['heartbeat_age_seconds']:.1f}s ago{mark}")
    changes = st.get("leadership_changes") or []
    if changes:
        lines.append("leadership changes (newest first):")
    lines += [f"  {c['at']}  {c['instance']}  epoch {c['epoch']}" for c in changes[:_TEXT_CHANGES]]
    return "\n".join(lines)
