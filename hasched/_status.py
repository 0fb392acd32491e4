"""What `hasched status` and `GET /status` report: one read of the namespace's live state."""

from __future__ import annotations

from typing import Any

from redis.utils import str_if_bytes

from hasched._keys import parse_lease
from hasched._store import Store
from hasched._triggers import US, from_us


def status(store: Store) -> dict[str, Any]:
    """Leader and epoch, live instances with heartbeat age, schedule counts, next fire, lag."""
    k = store.keys
    pipe = store.redis.pipeline(transaction=False)
    pipe.get(k.lease)
    pipe.get(k.epoch)
    pipe.zrange(k.instances, 0, -1, withscores=True)
    lease, epoch_counter, beats = pipe.execute()
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
    }


def _parse_lease(raw: Any) -> tuple[str | None, int]:
    return (None, 0) if raw is None else parse_lease(raw)


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
    return "\n".join(lines)
