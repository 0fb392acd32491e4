"""Writing many schedules at once (`Scheduler.add_many`, `hasched sync`): every schedule is
checked (and its record encoded) before anything is written, then each chunk is written in one
atomic step, the next chunk planned while Redis writes the one before.

A chunk keeps the single write's rules (`hasched._store.plan_store`): a replace that keeps the
fire times keeps the progress, every write takes a new revision and keeps the id index. A writer
that got in between (CONFLICT, or EXISTS on a replace) makes that chunk be read, planned and
written again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from redis.exceptions import ResponseError

from hasched import _codec
from hasched._model import Schedule, validate
from hasched._pipelined import Pipelined
from hasched._records import Stored, UpsertArgs, plan_store, whole
from hasched._scripts import AfterWrite, upsert_many_call
from hasched._store import MAX_WRITE_ATTEMPTS, Store
from hasched._write import check_at_not_stale
from hasched.errors import ConcurrentUpdate, InvalidRecord, ScheduleExists, ValidationError

DEFAULT_CHUNK = 1000
Progress = Callable[[int, int], None]  # (schedules handled so far, all of them)
Upsert = tuple[UpsertArgs, AfterWrite | None]


def checked(schedules: Iterable[Schedule]) -> list[Schedule]:
    """Every schedule validated, ids distinct; ValidationError naming the first bad one."""
    out, seen = [], set()
    for s in schedules:
        if not isinstance(s, Schedule):
            raise ValidationError("schedules", f"expected Schedule objects, got {type(s).__name__}")
        validate(s, payloads=False)  # `_prechecked` proves them JSON as it encodes the record
        if s.id in seen:
            raise ValidationError("id", "appears twice in one add_many", schedule_id=s.id)
        seen.add(s.id)
        out.append(s)
    return out


def save_many(store: Store, schedules: Sequence[Schedule], *, replace: bool, chunk: int = DEFAULT_CHUNK,
              progress: Progress | None = None) -> int:  # fmt: skip
    """Write `schedules` (already `checked`) in chunks of `chunk`; returns how many were written.
    Raises before writing anything when one cannot be written as read now (ScheduleExists
    without `replace`, a one-off too old, a payload that is not JSON).

    Every schedule is read, checked and encoded first; then each chunk is sent, and the next one
    planned while Redis writes it (`hasched._pipelined`): a large load costs about the larger of
    Python's and Redis's share, not their sum."""
    if chunk < 1:
        raise ValidationError("chunk", f"must be at least 1, got {chunk}")
    now = store.now_us()
    parts = [list(schedules[i : i + chunk]) for i in range(0, len(schedules), chunk)]
    loaded = [_prechecked(store, part, replace, now) for part in parts]
    # planned lazily: each chunk's plan is made while the one before it is in Redis
    todos = (
        _planned(part, olds, texts, replace, now) for part, (olds, texts) in zip(parts, loaded, strict=True)
    )
    written = done = 0
    with store.scripts.upserts() as sender:
        flight: _Flight | None = None
        for part, todo in zip(parts, todos, strict=True):
            if flight is not None:
                written += _landed(store, sender, flight, replace)
                done += len(flight.part)
                _report(progress, done, len(schedules))
            flight = _Flight(part, todo, _sent(store, sender, todo))
        if flight is not None:
            written += _landed(store, sender, flight, replace)
            _report(progress, len(schedules), len(schedules))
    return written


@dataclass(frozen=True, slots=True)
class _Flight:
    """A chunk sent (or, when `sent` is False, to write and wait for)."""

    part: list[Schedule]
    todo: list[Upsert]
    sent: bool


def _sent(store: Store, sender: Pipelined, todo: list[Upsert]) -> bool:
    """Send `todo` without waiting, unless it records more than the schedules (a pause note, a
    missed stretch: those go with it in one MULTI, `_write`)."""
    if not todo or any(after is not None for _, after in todo):
        return False
    sender.send(*upsert_many_call(store.keys, [upsert for upsert, _ in todo]))
    return True


def _landed(store: Store, sender: Pipelined, flight: _Flight, replace: bool) -> int:
    """How many of a chunk were written, once written: its reply read, or it written now; a
    chunk another writer got in the way of is read, planned and written again."""
    if not flight.sent:
        return _write(store, flight.part, flight.todo, replace)
    try:
        sender.receive()
        return len(flight.todo)
    except ResponseError as e:
        _refused(e, replace)
    return _write(store, flight.part, _plan(store, flight.part, replace, store.now_us()), replace)


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


Loaded = tuple[list[Stored | InvalidRecord | None], list[str]]


def _prechecked(store: Store, part: list[Schedule], replace: bool, now_us: int) -> Loaded:
    """What is stored for one chunk, and each schedule's record as given, after every check a
    write could fail on: exists (without `replace`), a one-off too old, a payload not JSON."""
    olds = store.load_many([s.id for s in part])
    for s, old in zip(part, olds, strict=True):
        if old is not None and not replace:
            raise ScheduleExists(s.id)  # as Store.save: only a replace writes over a record
        if s.at is not None and (
            not isinstance(old, Stored) or old.schedule.trigger_key() != s.trigger_key()
        ):
            check_at_not_stale(s, now_us)  # as plan_write: a new one-off, or a new time for it
    return olds, [_codec.encode(s) for s in part]


def _planned(part: list[Schedule], olds: list[Stored | InvalidRecord | None], texts: list[str], replace: bool,
             now_us: int) -> list[Upsert]:  # fmt: skip
    """The writes of one checked chunk (nothing here can fail: `_prechecked` saw to it)."""
    todo = []
    for s, old, text in zip(part, olds, texts, strict=True):
        pending = plan_store(old, whole(s, replace), now_us, repair=replace)
        if not isinstance(pending, Stored):
            todo.append((pending.upsert_args(text if pending.write.schedule is s else None), pending.after()))
    return todo


def _plan(store: Store, part: list[Schedule], replace: bool, now_us: int) -> list[Upsert]:
    """The writes of one chunk over what is stored now (a chunk read again after a refusal)."""
    todo = []
    for s, loaded in zip(part, store.load_many([s.id for s in part]), strict=True):
        try:
            pending = plan_store(loaded, whole(s, replace), now_us, repair=replace)
        except InvalidRecord:
            raise ScheduleExists(s.id) from None  # as Store.save: only a replace repairs it
        if not isinstance(pending, Stored):
            todo.append((pending.upsert_args(), pending.after()))
    return todo


def _write(store: Store, part: list[Schedule], todo: list[Upsert], replace: bool) -> int:
    sid = part[0].id
    for _ in range(MAX_WRITE_ATTEMPTS):
        if not todo:
            return 0
        try:
            store.scripts.upsert_many(todo)
            return len(todo)
        except ResponseError as e:
            sid = _refused(e, replace)
        todo = _plan(store, part, replace, store.now_us())
    raise ConcurrentUpdate(sid, MAX_WRITE_ATTEMPTS)


def _refused(e: ResponseError, replace: bool) -> str:
    """The id a chunk was refused for when another writer got in between; raise otherwise."""
    reason, _, sid = str(e).partition(" ")
    if reason == "EXISTS" and not replace:
        raise ScheduleExists(sid) from None
    if reason not in ("EXISTS", "CONFLICT"):
        raise e
    return sid
