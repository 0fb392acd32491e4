"""What `bench/scale.py` stores: a realistic mix of schedules, created through `add_many` or
written straight into Redis in the API's exact records (checked byte for byte).

The mix, by id number modulo 10: 4 one-offs (`remind-<n>`, a reminder per user: its own
arguments and a keyword), 3 crons (`report-<n>`, on queue `reports`, every 10th of them paused),
3 intervals (`poll-<n>`, hourly, their own feed as argument). Every fire is weeks away, so a
leader started over them has nothing due.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from redis import Redis

from hasched import Scheduler
from hasched._codec import encode
from hasched._model import Schedule
from hasched._records import encode_state
from hasched._store import Store
from hasched._triggers import from_us
from hasched._write import plan_write
from hasched.api import make

CHUNK = 10_000
PLACEHOLDER = "IDXXXXXXXXXX"
LATER = timedelta(days=40)


def sid(n: int) -> str:
    """The id of the schedule numbered `n`."""
    kind = n % 10
    prefix = "remind" if kind < 4 else "report" if kind < 7 else "poll"
    return f"{prefix}-{n:07d}"


def schedule(n: int, now_us: int, sid_: str | None = None) -> Schedule:
    """The schedule numbered `n` (under the id `sid_`, default its own)."""
    x, kind = sid_ or sid(n), n % 10
    later = from_us(now_us) + LATER
    if kind < 4:
        return make(id=x, func="app.tasks.remind", at=later, args=[x, "Your appointment is tomorrow"],
                    kwargs={"channel": "email"})  # fmt: skip
    if kind < 7:
        return make(id=x, func="app.tasks.report", cron="30 4 15 * *", queue="reports", paused=n % 100 == 4)
    return make(id=x, func="app.tasks.poll", every=3600, start=later, args=[f"https://feeds.example/{x}"])


def mixed(n: int, now_us: int, offset: int = 0) -> list[Schedule]:
    return [schedule(i, now_us) for i in range(offset, offset + n)]


@dataclass(frozen=True, slots=True)
class Form:
    """One stored form, the id a placeholder: definition, progress, due µs, paused."""

    definition: str
    state: str
    due: int | None
    paused: bool


def forms(now_us: int) -> list[Form]:
    """The stored form of each kind (n % 100 covers them all, paused crons included)."""
    out = []
    for n in range(100):
        w = plan_write(schedule(n, now_us, PLACEHOLDER), now_us)
        out.append(Form(encode(w.schedule), encode_state(w.state), w.due_us, w.schedule.paused))
    return out


def load(redis: Redis, ns: str, n: int, now_us: int) -> float:
    """Write `n` schedules as `add_many` stores them, with pipelines; returns the seconds taken."""
    k = Store(redis, ns).keys
    made = forms(now_us)
    started = time.perf_counter()
    first_rev = int(redis.incrby(k.rev_counter, n)) - n + 1
    for lo in range(0, n, CHUNK):
        pipe = redis.pipeline(transaction=False)
        rows = [(sid(i), made[i % 100], i) for i in range(lo, min(n, lo + CHUNK))]
        pipe.hset(k.defs, mapping={x: f.definition.replace(PLACEHOLDER, x) for x, f, _ in rows})
        pipe.hset(k.rev, mapping={x: first_rev + i for x, _, i in rows})
        pipe.hset(k.state, mapping={x: f.state for x, f, _ in rows})
        pipe.zadd(k.ids, {x: 0 for x, _, _ in rows})
        pipe.zadd(k.due, {x: f.due for x, f, _ in rows if f.due is not None})
        paused = [x for x, f, _ in rows if f.paused]
        if paused:
            pipe.sadd(k.paused, *paused)
        pipe.execute()
    return time.perf_counter() - started


def check_format(redis: Redis, ns: str, now_us: int) -> None:
    """The loaded records equal, byte for byte, what `add_many` stores for the same schedules."""
    probe = f"{ns}-probe"
    Scheduler(redis, probe).add_many(mixed(100, now_us))
    a, b = Store(redis, probe).keys, Store(redis, ns).keys
    ids = [sid(i) for i in range(100)]
    for key_a, key_b in ((a.defs, b.defs), (a.state, b.state)):
        assert redis.hmget(key_a, ids) == redis.hmget(key_b, ids), "loaded records differ from add_many's"
    assert redis.zmscore(a.due, ids) == redis.zmscore(b.due, ids), "due times differ from add_many's"
    assert redis.smismember(a.paused, ids) == redis.smismember(b.paused, ids), "paused differ from add_many's"
    for key in (a.defs, a.rev, a.state, a.due, a.ids, a.paused):
        redis.delete(key)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_pid(redis: Redis) -> int:
    return int(redis.info("server")["process_id"])
