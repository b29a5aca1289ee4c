"""``careplus maintain``: keep a daily lakehouse small and fast (README: Operating).

For every table of the catalog that exists (or those named):

1. **OPTIMIZE** the partitions the commits since the table's last maintenance touched (the
   ``add`` actions of those commits; the cursor ``maintain:<table>`` in ``ops.cursors`` holds
   the version maintained last). A table never maintained, or ``--full``, is considered
   whole; one with no commit since is skipped. Files below ``maintenance.min_file_mb`` are
   packed into files of up to ``target_file_mb``; files whose deletion vectors mark many rows
   are rewritten (their deletion vectors purged). The ``ops`` tables (two ledger appends a
   step) are compacted the same way.
2. The exposed tables' **manifests** are written anew after a rewrite (Athena and Spectrum
   read the compacted files at once; the old ones stay until VACUUM).
3. **VACUUM** with ``maintenance.retention_hours`` (refused below 168 h unless forced), kept
   longer for a table when one of its incremental consumers has not yet read a version that
   old (its change feed needs that version's files).
4. A **report**: per table, live files and bytes (the current snapshot) and stored ones
   (everything in the table's folder) before and after.

The step is recorded in the run ledger as ``maintain`` and holds the run lock (no run writes
meanwhile). ``maintenance.every_hours`` > 0 makes a whole-pipeline ``careplus run`` end with it
when the last maintenance (the cursor ``maintain``) is at least that old.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from careplus_spark.errors import ConfigError
from careplus_spark.exposure import manifests
from careplus_spark.lakehouse import catalog, delta, state, tables
from careplus_spark.lakehouse.maintenance import (
    Compaction,
    Footprint,
    check_retention,
    live,
    optimize,
    partition_filter,
    retention_for_readers,
    stored,
    touched_partitions,
    vacuum,
)
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline.ledger import cursor_values
from careplus_spark.pipeline.report import format_table

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STEP = "maintain"
#: The cursor holding when the last maintenance ran (ISO time, UTC).
LAST_RUN = "maintain"
_MB = 1024 * 1024


def table_cursor(qualified: str) -> str:
    """The cursor of the version of ``qualified`` maintained last: ``maintain:gold.fct_logs``."""
    return f"{LAST_RUN}:{qualified}"


@dataclass(frozen=True)
class Options:
    """What ``careplus maintain`` was asked for (defaults: the configuration's)."""

    tables: tuple[str, ...] = ()
    retention_hours: float | None = None
    vacuum: bool | None = None
    full: bool = False
    force: bool = False


@dataclass(frozen=True)
class TableReport:
    """What maintenance did to one table."""

    table: str
    scope: str
    live_before: Footprint
    live_after: Footprint
    stored_before: Footprint
    stored_after: Footprint
    compaction: Compaction = field(default_factory=Compaction)
    retention_hours: float | None = None
    manifest: bool = False


def selected_tables(names: Sequence[str]) -> list[catalog.Table]:
    """The catalog tables named (all of them when none is).

    Raises:
        ConfigError: a name the catalog does not have.
    """
    if not names:
        return list(catalog.TABLES)
    try:
        wanted = {catalog.table(n).qualified for n in names}
    except KeyError as exc:
        raise ConfigError(f"careplus maintain: {exc.args[0]}") from None
    return [t for t in catalog.TABLES if t.qualified in wanted]


def maintain(
    spark: SparkSession, ctx: RunContext, options: Options = Options(), reports: list[TableReport] | None = None
) -> StepResult:
    """Maintains the tables (see the module docstring); appends a report per table to ``reports``."""
    cfg = ctx.cfg.maintenance
    retention = cfg.retention_hours if options.retention_hours is None else options.retention_hours
    do_vacuum = cfg.vacuum if options.vacuum is None else options.vacuum
    if do_vacuum:
        check_retention(retention, options.force)  # before any work
    cursors_ref = ctx.ref(catalog.CURSORS)
    cursors = cursor_values(spark, cursors_ref)
    exposed = {t.qualified for t in manifests.exposed_tables(ctx.cfg)}
    now = dt.datetime.now(dt.UTC)
    done: list[TableReport] = []
    saved: list[state.CursorState] = []
    for table in selected_tables(options.tables):
        ref = ctx.ref(table)
        if not tables.exists(spark, ref):
            continue
        report = _maintain_table(spark, ctx, table, cursors, options, retention if do_vacuum else None,
                                 table.qualified in exposed, now)
        done.append(report)
        saved.append(state.CursorState(table_cursor(table.qualified), str(delta.latest_version(spark, ref.path)),
                                       run_id=ctx.run_id))
    saved.append(state.CursorState(LAST_RUN, now.isoformat(timespec="seconds"), run_id=ctx.run_id))
    state.save(spark, cursors_ref, *saved)
    if reports is not None:
        reports.extend(done)
    versions = {r.table: r.compaction.version for r in done if r.compaction.version is not None}
    return StepResult(step=STEP, versions=versions, detail=summary(done, retention if do_vacuum else None))


def _maintain_table(
    spark: SparkSession,
    ctx: RunContext,
    table: catalog.Table,
    cursors: Mapping[str, str | None],
    options: Options,
    retention: float | None,
    exposed: bool,
    now: dt.datetime,
) -> TableReport:
    path = ctx.ref(table).path
    live_before, stored_before = live(spark, path), stored(spark, path)
    data_version = delta.latest_version(spark, path)  # what follows is maintenance: no data change
    scope, where = _scope(spark, path, cursors.get(table_cursor(table.qualified)), options.full)
    compaction = Compaction()
    if scope != "unchanged":
        size = ctx.cfg.maintenance
        compaction = optimize(spark, path, where, size.target_file_mb * _MB, size.min_file_mb * _MB,
                              {"run_id": ctx.run_id, "step": STEP})
    manifest = exposed and compaction.version is not None
    if manifest:
        manifests.ensure(spark, ctx.ref(table), manifests.detail(spark, ctx.ref(table)).properties, regenerate=True)
    kept = None
    if retention is not None:
        unread = [v for v in unread_versions(cursors, table.qualified) if v <= data_version]
        kept = retention_for_readers(spark, path, unread, retention, now)
        vacuum(spark, path, kept, force=options.force)
    return TableReport(table.qualified, scope, live_before, live(spark, path), stored_before, stored(spark, path),
                       compaction, kept, manifest)


def _scope(spark: SparkSession, path: str, maintained: str | None, full: bool) -> tuple[str, str | None]:
    """(description, OPTIMIZE filter) of what to compact: ``unchanged``, ``whole table`` or N partitions."""
    if full or maintained is None or not maintained.isdigit():
        return "whole table", None
    if int(maintained) >= delta.latest_version(spark, path):
        return "unchanged", None
    touched = touched_partitions(spark, path, int(maintained))
    if touched is not None and not touched:
        return "unchanged", None
    where = partition_filter(touched) if touched is not None else None
    if where is None:
        return "whole table", None
    return f"{len(touched or ())} partition(s)", where


def unread_versions(cursors: Mapping[str, str | None], qualified: str) -> list[int]:
    """The first version each incremental consumer of ``qualified`` has not read yet (its watermark + 1).

    Example:
        >>> unread_versions({"silver.logs<-bronze.logs": "4", "tickets:t": "x"}, "bronze.logs")
        [5]
    """
    suffix = f"<-{qualified}"
    return [int(v) + 1 for k, v in cursors.items() if k.endswith(suffix) and v is not None and v.isdigit()]


def due(spark: SparkSession, ctx: RunContext, now: dt.datetime | None = None) -> bool:
    """Whether a whole-pipeline run should end with maintenance (``maintenance.every_hours``)."""
    every = ctx.cfg.maintenance.every_hours
    if every <= 0:
        return False
    last = state.load(spark, ctx.ref(catalog.CURSORS), LAST_RUN)
    if last is None or not last.value:
        return True
    try:
        when = dt.datetime.fromisoformat(last.value)
    except ValueError:
        return True
    return ((now or dt.datetime.now(dt.UTC)) - when).total_seconds() >= every * 3600


def summary(reports: Sequence[TableReport], retention: float | None) -> str:
    """One line for the ledger: files and bytes before and after over all tables."""
    def total(attr: str) -> Footprint:
        items = [getattr(r, attr) for r in reports]
        return Footprint(sum(i.files for i in items), sum(i.bytes for i in items))

    compacted = sum(1 for r in reports if r.compaction.version is not None)
    vacuumed = f", vacuumed (retention {retention:g} h)" if retention is not None else ", no vacuum"
    return (
        f"{len(reports)} tables, {compacted} compacted{vacuumed}: live {total('live_before').describe()} -> "
        f"{total('live_after').describe()}; stored {total('stored_before').describe()} -> "
        f"{total('stored_after').describe()}"
    )


def format_report(reports: Sequence[TableReport]) -> str:
    """The per-table report ``careplus maintain`` prints."""
    headers = ("table", "optimized", "live files", "live MB", "stored files", "stored MB", "retention h", "manifest")
    rows = [
        (
            r.table,
            r.scope if r.compaction.version is None else f"{r.scope}: {r.compaction.files_removed} -> "
            f"{r.compaction.files_added} files",
            f"{r.live_before.files} -> {r.live_after.files}",
            f"{r.live_before.bytes / 1e6:.1f} -> {r.live_after.bytes / 1e6:.1f}",
            f"{r.stored_before.files} -> {r.stored_after.files}",
            f"{r.stored_before.bytes / 1e6:.1f} -> {r.stored_after.bytes / 1e6:.1f}",
            "-" if r.retention_hours is None else f"{r.retention_hours:g}",
            "rewritten" if r.manifest else "",
        )
        for r in reports
    ]
    return format_table(headers, rows)
