"""Deletes at the source: compare key sets and soft-delete bronze rows gone from MySQL.

Cheap enough for every ingest run (``sources.tickets.reconcile_every_runs: 1``, the default):

1. **Keys only, on both sides.** The source is read with a key-only sub-query
   (``(SELECT `ticket_id` FROM `support_tickets`) k``, answered from the primary key), in
   key ranges like a full load (:func:`careplus_spark.sources.tickets_keys.plan_keys`);
   a ``COUNT(*)`` first sizes the ranges. Bronze is read as its key and ``_deleted_at``
   columns only (Parquet column pruning): no other column of either side is read.
2. **One anti-join** of those two key-only sides gives bronze's live keys that the source
   no longer has (adaptive execution broadcasts small key sets, sort-merges large ones).
   Only the (few) gone keys are kept (a local checkpoint); the counts come from a
   ``COUNT(*)`` at the source and a count of bronze's ``_deleted_at`` column.
3. **Only the deletions are written:** gone rows get ``_deleted_at`` (nothing is
   physically removed, the row keeps its last source values). Inside ``ingest_tickets``
   they are part of the ingest's own MERGE and commit, with the cursor
   (:mod:`careplus_spark.bronze.tickets`); ``careplus run reconcile_tickets`` writes them in
   a MERGE of their own. No gone key: no commit, no new version.

Measured on 1,000,000 tickets with 10,000 updated, 10,000 new and 1,000 deleted
(``bench/tickets_extract.py``, 2 shared cores): the comparison takes 2-4 s (the old one,
unpartitioned, both key sets cached, two anti-joins: 7-8 s); the old reconciliation's own
MERGE rewrote every bronze file for its 1,000 soft-deletes (998,986 rows copied), which the
shared MERGE does not repeat. A reconciling ingest takes 1.1-1.3x a plain one (+1 to +4.5
JVM CPU-s); the old reconciliation made it 1.5-1.9x (+14 to +17 CPU-s).
Rejected after measuring: a per-range ``COUNT``/hash pre-check (MySQL takes longer to hash
1M keys, ~0.9 s with MD5, than to stream them, ~0.4 s; a CRC32 XOR is linear and useless as
a set hash: it was 0 over the whole table) and a broadcast of the source's keys (no faster
at 1M, and bounded by driver memory).

A ticket that reappears at the source comes back through the cursor and the ingest MERGE
clears ``_deleted_at``; keys in the run's own window are never soft-deleted by that run.
Silver removes deleted tickets (:mod:`careplus_spark.silver.tickets`), and gold reads silver.

**Guard.** A source that returns no keys at all while bronze has live rows, or a
reconciliation that would soft-delete more than ``sources.tickets.reconcile_max_delete_fraction``
of bronze's live rows, fails with a :class:`~careplus_spark.errors.DataError` instead
(a truncated or wrong source table); nothing is soft-deleted. If the deletes are real,
run ``careplus run reconcile_tickets --set sources.tickets.reconcile_max_delete_fraction=1``
once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from careplus_spark.bronze.ticket_cursor import ReconcileSchedule, cursor_name
from careplus_spark.errors import DataError
from careplus_spark.lakehouse import catalog, delta, tables
from careplus_spark.lakehouse import state as cursor_state
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.platform.config import TicketsSourceConfig
from careplus_spark.sources import tickets_extract as extract
from careplus_spark.sources import tickets_keys as keys
from careplus_spark.sources.jdbc import jdbc_options, require_driver, safe_url, with_retries

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)
STEP = "reconcile_tickets"
#: The SQL that marks a bronze row deleted (a MERGE ``set`` value over target ``t``).
SOFT_DELETE: Mapping[str, str | Column] = MappingProxyType({"_deleted_at": "current_timestamp()"})


@dataclass(frozen=True)
class ReconcileOutcome:
    """What one reconciliation found and did (``seconds``: the key comparison's time)."""

    source_keys: int
    bronze_live: int
    soft_deleted: int
    missing_in_bronze: int
    version: int | None
    at: dt.datetime
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"reconciled {self.source_keys} source keys with {self.bronze_live} live bronze rows: "
            f"{self.soft_deleted} soft-deleted, {self.missing_in_bronze} not yet in bronze"
        )


@dataclass(frozen=True)
class KeyComparison:
    """Bronze's live keys compared with the source's keys (see :func:`compare_keys`).

    Attributes:
        source_keys: rows in the source table (its ``COUNT(*)`` just before the key read).
        bronze_live: bronze rows without ``_deleted_at`` (before any write of this run).
        gone: the live keys the source no longer has, one column, locally checkpointed (a
            MERGE reading it does not compute the comparison again); None when none.
        soft_deletes: how many keys ``gone`` holds.
        seconds: time the comparison took.
    """

    source_keys: int
    bronze_live: int
    gone: DataFrame | None
    soft_deletes: int
    seconds: float

    def outcome(self, live_after: int, version: int | None) -> ReconcileOutcome:
        """The outcome once the deletions are written (``live_after``: bronze's live rows then)."""
        at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        missing = max(0, self.source_keys - live_after)
        return ReconcileOutcome(self.source_keys, self.bronze_live, self.soft_deletes, missing, version, at,
                                self.seconds)


def source_keys(spark: SparkSession, source: TicketsSourceConfig, rows: int | None = None) -> DataFrame:
    """The source's key set as a lazy one-column DataFrame: a key-only query in key ranges.

    Args:
        rows: the source's row count, if known (sizes the key ranges); None asks the source.

    Example:
        >>> source_keys(spark, cfg.sources.tickets).count()  # doctest: +SKIP
        300

    Raises:
        JarsError: the JDBC driver is not on the classpath (checked before any connection).
        SourceUnavailableError: the source stayed unreachable.
    """
    source = extract.source_options(source)
    require_driver(spark, jdbc_options(source, dbtable=extract.quote(source.table)))
    if rows is None:
        rows = keys.count_rows(spark, source)
    plan = keys.plan_keys(spark, source, rows)
    return extract.open_window(spark, source, plan).select(F.col(extract.quote(source.key_column)))


def live_keys(spark: SparkSession, table: tables.TableRef, key: str) -> DataFrame:
    """Bronze's live keys: only the key and ``_deleted_at`` columns are read."""
    bronze = spark.read.format("delta").load(table.path)
    return bronze.select(key, "_deleted_at").where(F.col("_deleted_at").isNull()).select(key)


def gone_keys(bronze_live: DataFrame, source: DataFrame, key: str) -> DataFrame:
    """Live bronze keys that the source no longer has."""
    return bronze_live.join(source, on=key, how="left_anti")


def live_count(spark: SparkSession, table: tables.TableRef) -> int:
    """Bronze rows without ``_deleted_at`` (reads that one column)."""
    return int(spark.read.format("delta").load(table.path).where(F.col("_deleted_at").isNull()).count())


def compare_keys(
    spark: SparkSession,
    source: TicketsSourceConfig,
    table: tables.TableRef,
    keep: DataFrame | None = None,
) -> KeyComparison:
    """Finds bronze's live keys that are gone from the source (nothing is written).

    Args:
        keep: rows whose keys are never reported gone (the run's own window: a row read
            by this run is written live, and a delete after its read is found next run).

    Example:
        >>> found = compare_keys(spark, cfg.sources.tickets, bronze)  # doctest: +SKIP
        >>> found.source_keys, found.bronze_live, found.soft_deletes  # doctest: +SKIP
        (298, 300, 2)

    Raises:
        SourceUnavailableError: the source stayed unreachable (nothing written).
    """
    started = time.monotonic()
    source = extract.source_options(source)
    key = source.key_column
    n_live = live_count(spark, table)
    n_source = keys.count_rows(spark, source)
    if n_live == 0:
        return KeyComparison(n_source, 0, None, 0, time.monotonic() - started)
    live = live_keys(spark, table, key)
    # no source key: every live key is gone (check_deletes refuses that unless it is allowed)
    candidates = live if n_source == 0 else gone_keys(live, source_keys(spark, source, n_source), key)
    if keep is not None:
        candidates = candidates.join(keep.select(key), on=key, how="left_anti")
    # A local checkpoint, not cache(): Delta's MERGE materializes its source from the plan and
    # would run the whole comparison again (measured: +2.5 s at 1M keys); a checkpoint cuts it.
    what = f"JDBC source {safe_url(source.url)}"
    gone = with_retries(lambda: candidates.localCheckpoint(eager=True), what, source.retries, source.retry_backoff_s)
    n_gone = gone.count()
    found = KeyComparison(n_source, n_live, gone if n_gone else None, n_gone, time.monotonic() - started)
    log.info("bronze.tickets: %d source keys, %d live bronze rows, %d gone (%.1f s)",
             n_source, n_live, n_gone, found.seconds)
    return found


def check_deletes(found: KeyComparison, source: TicketsSourceConfig) -> None:
    """Refuses deletions that look like a wrong or truncated source table.

    Raises:
        DataError: the source has no keys while bronze has live rows, or more than
            ``reconcile_max_delete_fraction`` of bronze's live rows would be soft-deleted.
    """
    limit = source.reconcile_max_delete_fraction
    where = f"source table {source.table} at {safe_url(source.url)}"
    force = ("if the deletes are real, run `careplus run reconcile_tickets --set "
             "sources.tickets.reconcile_max_delete_fraction=1` once")
    if found.source_keys == 0 and found.bronze_live > 0 and limit < 1:
        raise DataError(
            f"{where} returned no keys while bronze.tickets has {found.bronze_live} live rows; "
            f"refusing to soft-delete them all (check sources.tickets.table; {force})"
        )
    if found.soft_deletes > limit * found.bronze_live:
        raise DataError(
            f"{where}: reconciliation would soft-delete {found.soft_deletes} of the {found.bronze_live} live rows "
            f"of bronze.tickets ({found.soft_deletes / found.bronze_live:.1%}), more than "
            f"sources.tickets.reconcile_max_delete_fraction={limit}; nothing was soft-deleted "
            f"(the source has {found.source_keys} keys: a truncated or wrong table?); {force}"
        )


def soft_delete(
    spark: SparkSession, table: tables.TableRef, gone: DataFrame, key: str, metadata: dict[str, str]
) -> int:
    """Sets ``_deleted_at`` on the live bronze rows of ``gone``'s keys (one MERGE, one commit).

    Example:
        >>> soft_delete(spark, bronze, found.gone, "ticket_id", {"run_id": "r1", "step": STEP})  # doctest: +SKIP
        5

    Returns:
        The new version.
    """
    from delta.tables import DeltaTable

    merge = (
        DeltaTable.forPath(spark, table.path).alias("t")
        .merge(gone.alias("s"), f"t.`{key}` = s.`{key}`")
        .whenMatchedUpdate(condition="t._deleted_at IS NULL", set=dict(SOFT_DELETE))
    )
    delta.run_merge(spark, merge, metadata)
    return delta.latest_version(spark, table.path)


def reconcile_deletes(
    spark: SparkSession,
    source: TicketsSourceConfig,
    table: tables.TableRef,
    run_id: str,
    metadata: dict[str, str] | None = None,
) -> ReconcileOutcome:
    """Soft-deletes bronze rows whose key is gone from the source (one MERGE, if any).

    Args:
        metadata: the commit's ``userMetadata`` (default: the run id and this step).

    Example:
        >>> reconcile_deletes(spark, cfg.sources.tickets, TableRef("bronze", "tickets", root), "r1")  # doctest: +SKIP
        ReconcileOutcome(source_keys=298, bronze_live=300, soft_deleted=2, missing_in_bronze=0, version=4, ...)

    Raises:
        SourceUnavailableError: the source stayed unreachable (nothing written).
        DataError: the guard of :func:`check_deletes` (nothing written).
    """
    source = extract.source_options(source)
    if not tables.exists(spark, table):
        return ReconcileOutcome(0, 0, 0, 0, None, dt.datetime.now(dt.UTC).replace(tzinfo=None))
    found = compare_keys(spark, source, table)
    check_deletes(found, source)
    version = None
    if found.gone is not None:
        version = soft_delete(spark, table, found.gone, source.key_column, metadata or {"run_id": run_id, "step": STEP})
    outcome = found.outcome(found.bronze_live - found.soft_deletes, version)
    report(outcome)
    return outcome


def report(outcome: ReconcileOutcome) -> None:
    """Logs a reconciliation's outcome (a warning for source keys that bronze lacks)."""
    log.info("bronze.tickets: %s", outcome.summary())
    if outcome.missing_in_bronze:
        log.warning("%d source key(s) are not in bronze.tickets yet (the next ingest reads them if their "
                    "cursor is inside its window)", outcome.missing_in_bronze)


def reconcile(spark: SparkSession, ctx: RunContext) -> StepResult:
    """The ``reconcile_tickets`` step: reconcile deletes now, whatever the schedule.

    Example:
        >>> reconcile(spark, RunContext(load_config("local")))  # doctest: +SKIP
        StepResult(step='reconcile_tickets', rows_read=298, rows_updated=2, ...)
    """
    started = time.monotonic()
    source = ctx.cfg.sources.tickets
    table = ctx.ref(catalog.BRONZE_TICKETS)
    outcome = reconcile_deletes(spark, source, table, ctx.run_id)
    state_table = ctx.ref(catalog.CURSORS)
    name = cursor_name(source)
    info = tables.table_info(spark, table)
    state = cursor_state.load(spark, state_table, name)
    cursor = cursor_state.resolve(state, cursor_state.latest_commit_cursor(info, name), info)
    if cursor is not None and info is not None:
        cursor_state.save(
            spark,
            state_table,
            replace(cursor, attributes=ReconcileSchedule(0, outcome.at).attributes(), run_id=ctx.run_id,
                    table_version=info.version),
        )
    return StepResult(
        step=STEP,
        rows_read=outcome.bronze_live,
        rows_updated=outcome.soft_deleted,
        rows_skipped=outcome.bronze_live - outcome.soft_deleted,
        versions={table.qualified: outcome.version} if outcome.version is not None else {},
        seconds=time.monotonic() - started,
        detail=outcome.summary(),
    )
