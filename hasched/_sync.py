"""Declarative schedules: a TOML file with one `[[schedule]]` table per schedule (the README's field names).

`plan_sync` compares the file with what is stored and `apply_sync` writes only the difference:
an unchanged file writes nothing, a schedule whose fire times did not change keeps its progress
(no re-fire, no skipped fire), and `--prune` removes only schedules that came from a file.
Several instances syncing the same file at once is safe: every write checks the revision it read.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hasched import _codec
from hasched._bulk import Progress, checked, save_many
from hasched._model import Schedule
from hasched._records import Stored
from hasched._store import Store
from hasched._write import keep_interval_start
from hasched.errors import InvalidRecord, ValidationError

FILE_SOURCE = "file"
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_SCHEDULES = 10_000


@dataclass(slots=True)
class SyncPlan:
    """What a sync would do: schedules to create, to change (with the fields that differ), to
    remove, and how many are already as the file says."""

    create: list[Schedule] = field(default_factory=list)
    change: list[tuple[Schedule, list[str]]] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    unchanged: int = 0

    def lines(self, dry_run: bool) -> list[str]:
        """One line per action, for the CLI."""
        verb = "would " if dry_run else ""
        out = [f"{verb}create {s.id}" for s in self.create]
        out += [f"{verb}change {s.id}: {', '.join(fields)}" for s, fields in self.change]
        out += [f"{verb}remove {sid}" for sid in self.remove]
        out.append(f"unchanged {self.unchanged}")
        return out


def load_file(path: str | Path) -> list[Schedule]:
    """Parse and validate a schedule file; any problem raises ValidationError naming it."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise ValidationError("file", f"{p} is larger than {MAX_FILE_BYTES} bytes")
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ValidationError("file", f"cannot read {p}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValidationError("file", f"{p} is not valid TOML: {e}") from None
    return parse_tables(data)


def parse_tables(data: dict[str, Any]) -> list[Schedule]:
    """Schedules from parsed TOML (`[[schedule]]` tables only)."""
    unknown = sorted(set(data) - {"schedule"})
    if unknown:
        raise ValidationError(unknown[0], "unknown top-level key (only [[schedule]] tables are allowed)")
    tables = data.get("schedule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValidationError("schedule", "must be an array of tables: [[schedule]]")
    if len(tables) > MAX_SCHEDULES:
        raise ValidationError("schedule", f"{len(tables)} schedules, more than {MAX_SCHEDULES} in one file")
    schedules = [_from_table(t) for t in tables]
    seen: set[str] = set()
    for s in schedules:
        if s.id in seen:
            raise ValidationError("id", "appears twice in the file", schedule_id=s.id)
        seen.add(s.id)
    return schedules


def _from_table(table: dict[str, Any]) -> Schedule:
    # TOML offset date-times arrive as aware datetimes; local ones as naive (rejected by name).
    return _codec.from_dict({**table, "source": FILE_SOURCE})


def plan_sync(store: Store, wanted: list[Schedule], *, prune: bool, prune_all: bool = False) -> SyncPlan:
    """Compare the file's schedules with the stored ones."""
    ids = [s.id for s in wanted]
    stored = dict(zip(ids, store.load_many(ids), strict=True))
    plan = SyncPlan()
    for s in wanted:
        old = stored[s.id]
        if old is None or isinstance(old, InvalidRecord):
            plan.create.append(s)
            continue
        diff = differences(old.schedule, keep_interval_start(s, old.schedule))
        if diff:
            plan.change.append((s, diff))
        else:
            plan.unchanged += 1
    if prune or prune_all:
        names = {s.id for s in wanted}
        plan.remove.extend(
            x.schedule.id for x in store.iter_all()
            if isinstance(x, Stored) and x.schedule.id not in names
            and (prune_all or x.schedule.source == FILE_SOURCE)
        )  # fmt: skip
    return plan


def differences(a: Schedule, b: Schedule) -> list[str]:
    """The names of the fields whose stored form differs."""
    da, db = _codec.to_dict(a), _codec.to_dict(b)
    return sorted(k for k in da if da[k] != db[k])


def apply_sync(store: Store, plan: SyncPlan, progress: Progress | None = None) -> None:
    """Write the plan: creates and changes in atomic chunks (`hasched._bulk`, `progress(done,
    total)` after each), written as replaces, so a create that another syncing instance made
    first (same file, same data) or an unreadable record is simply written over; then the
    removals."""
    save_many(store, checked([*plan.create, *(s for s, _ in plan.change)]), replace=True, progress=progress)
    for sid in plan.remove:
        store.delete(sid)


def sync_schedules(store: Store, wanted: list[Schedule], *, prune: bool = False, prune_all: bool = False,
                   dry_run: bool = False, log: Any = None, file: str | Path | None = None,
                   progress: Progress | None = None) -> SyncPlan:  # fmt: skip
    """Compare `wanted` with what is stored and (unless dry_run) write the difference.

    The one home of "sync a file": `hasched sync`, `hasched run --schedules` and its SIGHUP
    reload all come here. With a `log`, an applied sync is logged as `hasched.sync.applied`.
    """
    plan = plan_sync(store, wanted, prune=prune, prune_all=prune_all)
    if dry_run:
        return plan
    apply_sync(store, plan, progress)
    if log is not None:
        log.info("hasched.sync.applied", created=len(plan.create), changed=len(plan.change),
                 unchanged=plan.unchanged, file=None if file is None else str(file))  # fmt: skip
    return plan


def sync_file(store: Store, path: str | Path, *, prune: bool = False, prune_all: bool = False,
              dry_run: bool = False, log: Any = None) -> SyncPlan:  # fmt: skip
    """Load, compare and (unless dry_run) apply a schedule file."""
    return sync_schedules(store, load_file(path), prune=prune, prune_all=prune_all, dry_run=dry_run,
                          log=log, file=path)  # fmt: skip
