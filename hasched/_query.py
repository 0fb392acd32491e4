"""Which schedules a listing returns: filters, and paging over the id index in id order.

A page reads the index (`Keys.ids`) in chunks from its `after` bound and stops as soon as it has
`limit` matches, so its cost follows the page (and how rare the matches are), never the number
of stored schedules. A glob's literal prefix narrows the range read: `--match 'report-*'` reads
only the ids that start with `report-`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from fnmatch import fnmatchcase

from hasched._choices import STATES, ListState
from hasched._records import Stored
from hasched._store import Store
from hasched.errors import InvalidRecord, ValidationError

MAX_CHUNK = 1000
_GLOB_META = re.compile(r"[*?\[]")


def state_of(paused: bool, next_fire: object) -> str:
    """`paused`, `active` (a fire to come) or `finished` (none left): the listing's STATE."""
    return "paused" if paused else ("active" if next_fire is not None else "finished")


@dataclass(frozen=True, slots=True)
class Query:
    """What a listing asks for; every field optional (None matches everything)."""

    match: str | None = None
    queue: str | None = None
    state: ListState | None = None
    limit: int | None = None
    after: str | None = None

    def __post_init__(self) -> None:
        for name in ("match", "queue", "after"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValidationError(name, f"must be a string, got {value!r}")
        if self.state is not None and self.state not in STATES:
            raise ValidationError("state", f"must be one of {', '.join(STATES)}, got {self.state!r}")
        limit = self.limit
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise ValidationError("limit", f"must be a whole number of at least 1, got {limit!r}")

    @property
    def prefix(self) -> str:
        """The literal start of the glob: every match begins with it."""
        return "" if self.match is None else _GLOB_META.split(self.match, 1)[0]

    def wants(self, stored: Stored, last_status: str | None) -> bool:
        """Whether one readable schedule passes the filters (its id already passed `match`)."""
        s = stored.schedule
        if self.queue is not None and s.queue != self.queue:
            return False
        if self.state == "failing":
            return last_status == "failed"
        return self.state is None or self.state == state_of(s.paused, stored.state.next_us)

    def id_wanted(self, sid: str) -> bool:
        return self.match is None or fnmatchcase(sid, self.match)


@dataclass(frozen=True, slots=True)
class Page:
    """The schedules of one page in id order, and the unreadable ones met on the way (their ids
    matched the glob; no other filter can be checked on them)."""

    found: list[Stored]
    bad: list[InvalidRecord]
    resume_after: str | None = None  # where to read on from, when `until` passed before the end


def page(store: Store, q: Query, until: float | None = None) -> Page:
    """The schedules `q` selects, at most `q.limit` of them, first id after `q.after`.

    A filter that matches few schedules may have to read far into the index; with `until` (a
    `time.monotonic()` deadline) reading stops at the first chunk that ends after it (one chunk
    at least, so paging always advances) and `resume_after` names the last id read."""
    store.ensure_index()
    found: list[Stored] = []
    bad: list[InvalidRecord] = []
    after, chunk = q.after, _chunk_size(q)
    while q.limit is None or len(found) < q.limit:
        if until is not None and after != q.after and time.monotonic() > until:
            return Page(found, bad, resume_after=after)
        ids = store.page_ids(after, chunk, q.prefix)
        if not ids:
            break
        after = ids[-1]
        _keep(store, q, ids, found, bad)
        if len(ids) < chunk:
            break
    return Page(found[: q.limit], bad)


def _keep(store: Store, q: Query, ids: list[str], found: list[Stored], bad: list[InvalidRecord]) -> None:
    """Load the schedules among `ids` that `q` may want; add the wanted ones to `found`, the
    unreadable ones to `bad`."""
    wanted = [sid for sid in ids if q.id_wanted(sid)]
    statuses = store.last_statuses(wanted) if q.state == "failing" and wanted else [None] * len(wanted)
    for loaded, status in zip(store.load_many(wanted), statuses, strict=True):
        if isinstance(loaded, InvalidRecord):
            bad.append(loaded)
        elif loaded is not None and q.wants(loaded, status):
            found.append(loaded)


def _chunk_size(q: Query) -> int:
    """Ids read a round trip: the page itself when nothing filters, more when filters drop some."""
    if q.limit is None:
        return MAX_CHUNK
    filtered = q.queue is not None or q.state is not None or q.match not in (None, q.prefix + "*")
    return min(MAX_CHUNK, max(100, 4 * q.limit) if filtered else q.limit)
