"""The leader lease as seen by one instance: acquire, renew, release, and when to give up.

Redis holds the truth (`acquire.lua`, `renew.lua`, `release.lua`); this object only remembers
what the instance was granted and when it last heard so, on the local monotonic clock. It steps
down by itself when no renewal succeeded within 2/3 of the TTL, well before the key can expire,
so two instances never both believe they lead for long. Even then they could not both enqueue:
every commit checks the lease and epoch inside Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hasched._keys import lease_value
from hasched._scripts import Scripts


class Lease:
    """One instance's view of the leader lease."""

    def __init__(
        self, scripts: Scripts, instance_id: str, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._scripts = scripts
        self.instance_id = instance_id
        self.ttl = ttl
        self._clock = clock
        self.held = False
        self.epoch = 0  # of the lease held, or the highest seen
        self.holder: str | None = None
        self._confirmed_at = 0.0

    @property
    def value(self) -> str:
        """The lease key's value while this instance holds it."""
        return lease_value(self.instance_id, self.epoch)

    @property
    def ttl_ms(self) -> int:
        return max(1, round(self.ttl * 1000))

    def try_acquire(self) -> bool:
        """Ask Redis for the lease; True when granted (with a new, higher epoch)."""
        sent_at = self._clock()
        grant = self._scripts.acquire(self.instance_id, self.ttl_ms, self.epoch)
        self.holder = grant.holder
        self.epoch = max(self.epoch, grant.epoch)
        if grant.granted:
            self.held, self._confirmed_at = True, sent_at
        return grant.granted

    def renew(self) -> bool:
        """Extend the lease; False means it was lost (expired or taken over)."""
        sent_at = self._clock()
        if self._scripts.renew(self.value, self.ttl_ms):
            self._confirmed_at = sent_at
            return True
        self.held = False
        return False

    def release(self) -> bool:
        """Give the lease up and wake the followers."""
        self.held = False
        return self._scripts.release(self.value)

    def step_down(self) -> None:
        """Stop acting as leader (lost, fenced, or out of touch)."""
        self.held = False

    def renew_due(self) -> bool:
        """Renew every TTL/3."""
        return self._clock() - self._confirmed_at >= self.ttl / 3

    def out_of_touch(self) -> bool:
        """No renewal succeeded within 2/3 of the TTL: another instance may take over soon."""
        return self.held and self._clock() - self._confirmed_at > self.ttl * 2 / 3

    def seconds_to_renew(self) -> float:
        return max(0.0, self._confirmed_at + self.ttl / 3 - self._clock())
