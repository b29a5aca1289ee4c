"""Generate days of both CarePlus sources: ticket rows into a sink, log files on disk.

Day 0 only creates tickets. Every later day first deletes ``delete_per_day`` older
tickets, then resolves a ``resolve_fraction`` of the older open ones, then creates its
own tickets. Each day also writes its log files, which reference that day's tickets and
do not depend on the sink, so logs are identical with or without a database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from careplus_spark.synthetic.blocks import file_blocks
from careplus_spark.synthetic.clock import UpdatedAtClock
from careplus_spark.synthetic.logfiles import (
    FileStats,
    plan_day_files,
    write_empty_file,
    write_log_file,
)
from careplus_spark.synthetic.sinks import TicketSink
from careplus_spark.synthetic.spec import GenerateSpec, stream_rng
from careplus_spark.synthetic.tickets import (
    created_seconds,
    new_ticket_batches,
    resolution_updates,
    ticket_prefix,
)

Progress = Callable[[str], None]
_OPEN_PAGE = 5_000


@dataclass(frozen=True, kw_only=True)
class Counts:
    """Counts of what was written (``log_events`` includes duplicates and malformed)."""

    tickets_inserted: int = 0
    tickets_updated: int = 0
    tickets_deleted: int = 0
    log_files: int = 0
    log_events: int = 0
    malformed_blocks: int = 0
    duplicate_events: int = 0
    bytes_written: int = 0


@dataclass(frozen=True, kw_only=True)
class DayStats(Counts):
    """What one day wrote; ``bytes_written`` counts log bytes on disk (gzip compressed)."""

    day: date

    def summary(self) -> str:
        """Return a one-line description for progress output."""
        return (
            f"{self.day.isoformat()}: tickets +{self.tickets_inserted} "
            f"~{self.tickets_updated} -{self.tickets_deleted}; {self.log_files} log files, "
            f"{self.log_events} blocks ({self.malformed_blocks} malformed, "
            f"{self.duplicate_events} duplicates), {self.bytes_written / 1e6:.1f} MB"
        )


@dataclass(frozen=True, kw_only=True)
class GenerateStats(Counts):
    """Totals of a :func:`generate` run, with the per-day detail."""

    days: tuple[DayStats, ...] = ()

    @classmethod
    def of(cls, days: tuple[DayStats, ...]) -> GenerateStats:
        """Sum the counts of ``days``."""
        names = [f.name for f in dataclasses.fields(Counts)]
        return cls(days=days, **{n: sum(getattr(d, n) for d in days) for n in names})


def generate(
    spec: GenerateSpec,
    sink: TicketSink | None,
    logs_dir: Path | None,
    first_day: int = 0,
    progress: Progress | None = None,
    reset: bool | None = None,
) -> GenerateStats:
    """Generate ``spec.days`` days starting at day index ``first_day``.

    Args:
        spec: What to generate.
        sink: Ticket table to write (None: no tickets are written).
        logs_dir: Root folder of the log files (None: no logs are written).
        first_day: Index of the first day; e.g. 3 with ``days=1`` adds a "next day".
        progress: Called with a one-line summary after each day.
        reset: Drop and recreate the ticket table first; default: only when
            ``first_day`` is 0. The table is created when missing in any case.

    Raises:
        ValueError: The spec is invalid or a day falls outside ``start_date``'s year.
    """
    spec.validate()
    if sink is not None:
        sink.create_schema(drop=(first_day == 0) if reset is None else reset)
    days = tuple(
        generate_day(spec, first_day + offset, sink, logs_dir, progress)
        for offset in range(spec.days)
    )
    return GenerateStats.of(days)


def generate_day(
    spec: GenerateSpec,
    day_index: int,
    sink: TicketSink | None,
    logs_dir: Path | None,
    progress: Progress | None = None,
) -> DayStats:
    """Write day ``start_date + day_index`` of both sources (the table must exist).

    Raises:
        ValueError: The spec is invalid, ``day_index`` is negative, or the day is not in
            ``start_date``'s year (ticket ids would repeat).
    """
    spec.validate()
    day = _checked_day(spec, day_index)
    created = created_seconds(spec, day)
    tickets = _write_tickets(spec, day, day_index, created, sink) if sink is not None else Counts()
    logs = _write_logs(spec, day, created, logs_dir) if logs_dir is not None else Counts()
    stats = DayStats(
        day=day,
        tickets_inserted=tickets.tickets_inserted,
        tickets_updated=tickets.tickets_updated,
        tickets_deleted=tickets.tickets_deleted,
        log_files=logs.log_files,
        log_events=logs.log_events,
        malformed_blocks=logs.malformed_blocks,
        duplicate_events=logs.duplicate_events,
        bytes_written=logs.bytes_written,
    )
    if progress is not None:
        progress(stats.summary())
    return stats


def _checked_day(spec: GenerateSpec, day_index: int) -> date:
    if isinstance(day_index, bool) or not isinstance(day_index, int) or day_index < 0:
        raise ValueError(f"day_index must be an integer >= 0, got {day_index!r}")
    day = spec.day_date(day_index)
    if day.year != spec.start_date.year:
        raise ValueError(
            f"day_index {day_index} is {day}, outside {spec.start_date.year}: ticket ids "
            "(TCK + MMDD + sequence) are unique within one year only"
        )
    return day


def _write_tickets(
    spec: GenerateSpec, day: date, day_index: int, created: Sequence[int], sink: TicketSink
) -> Counts:
    clock = UpdatedAtClock(
        stream_rng(spec.seed, day, "updated_at"), spec.updated_at_ties, spec.late_update_fraction
    )
    deleted = updated = inserted = 0
    if day_index > 0:
        deleted = _delete_older(spec, day, sink)
        updated = _resolve_older(spec, day, sink, clock)
    for batch in new_ticket_batches(spec, day, created, clock):
        sink.insert(batch)
        inserted += len(batch)
    return Counts(tickets_inserted=inserted, tickets_updated=updated, tickets_deleted=deleted)


def _delete_older(spec: GenerateSpec, day: date, sink: TicketSink) -> int:
    """Delete ``delete_per_day`` tickets of earlier days picked at random."""
    prefix = ticket_prefix(day)
    total = sink.count_tickets(prefix)
    rng = stream_rng(spec.seed, day, "delete")
    offsets = sorted(rng.sample(range(total), min(spec.delete_per_day, total)))
    return sink.delete(sink.ticket_ids_at(prefix, offsets))


def _resolve_older(spec: GenerateSpec, day: date, sink: TicketSink, clock: UpdatedAtClock) -> int:
    """Resolve a ``resolve_fraction`` of the open tickets of earlier days, page by page."""
    prefix = ticket_prefix(day)
    rng = stream_rng(spec.seed, day, "resolve")
    after, resolved = "", 0
    while page := sink.open_tickets(prefix, after, _OPEN_PAGE):
        updates = resolution_updates(rng, spec, day, [tid for tid, _ in page], clock)
        sink.update(updates)
        resolved += len(updates)
        after = page[-1][0]
    return resolved


def _write_logs(spec: GenerateSpec, day: date, created: Sequence[int], logs_dir: Path) -> Counts:
    totals = FileStats()
    plans = plan_day_files(spec, day, logs_dir)
    for plan in plans:
        if plan.empty:
            stats = write_empty_file(plan)
        else:
            rng = stream_rng(spec.seed, day, f"logs:{plan.index}")
            stats = write_log_file(plan, file_blocks(spec, day, created, plan.index, rng))
        totals = FileStats(
            totals.blocks + stats.blocks,
            totals.malformed + stats.malformed,
            totals.duplicates + stats.duplicates,
            totals.bytes_written + stats.bytes_written,
        )
    return Counts(
        log_files=len(plans),
        log_events=totals.blocks,
        malformed_blocks=totals.malformed,
        duplicate_events=totals.duplicates,
        bytes_written=totals.bytes_written,
    )
