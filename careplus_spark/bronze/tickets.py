"""bronze.tickets: support tickets exactly as the source holds them, plus lineage.

Incremental and loss-free (SPEC 2.3). One run:

1. resolves the cursor (:mod:`careplus_spark.lakehouse.state`): the newer of the
   ``ops.cursors`` row and the cursor stored in bronze's latest ingest commit; none
   (first run, or bronze recreated) means a full load;
2. plans and reads the window ``[cursor - lookback, max]`` in parallel
   (:mod:`careplus_spark.sources.tickets_extract`), checks required columns and applies
   the ``schema_drift`` policy;
3. writes: a full load into an empty bronze is a plain append (no join against an
   empty table); otherwise rows whose key is new, whose row hash differs or that were
   soft-deleted are MERGEd on the key. Unchanged rows (the overlap, a re-run) are not
   written, and a run with nothing new makes no bronze commit at all;
4. the new cursor travels *inside* the bronze commit (``userMetadata``) and is then
   written to ``ops.cursors``. A crash between the two is healed by step 1 of the next
   run; a failure anywhere before the commit leaves bronze and the cursor unchanged;
5. every ``reconcile_every_runs`` runs (default: every run), deletes at the source are
   reconciled (:mod:`careplus_spark.bronze.reconcile`): after the window is read, the
   source's keys are compared with bronze's live keys (key columns only), and the gone
   keys are soft-deleted *in the same MERGE and commit* as the window's changes (a run
   without changes writes them alone; none gone and no change: no commit). A full load
   into an empty bronze has nothing to compare and leaves it to the next run. When the
   guard refuses the deletions, the changes and the cursor are still written and the
   step then fails with the guard's :class:`~careplus_spark.errors.DataError`.

Source columns keep their values as they came (text stays text, dirty values stay
dirty); the cursor column is typed as a timestamp. Lineage: ``_row_hash`` (source
values), ``_extracted_at``, ``_run_id``, ``_source`` (URL without options + table),
``_cursor_from`` / ``_cursor_to`` (the window that brought the row's current version,
in the source's text form) and ``_deleted_at`` (set by reconciliation). Bronze has the
Delta change data feed on, which silver reads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from careplus_spark.bronze import reconcile
from careplus_spark.bronze.ticket_cursor import ReconcileSchedule, cursor_name
from careplus_spark.bronze.tickets_write import Written, append, bronze_properties, merge, parquet_settings
from careplus_spark.lakehouse import catalog, delta, tables
from careplus_spark.lakehouse import state as cursor_state
from careplus_spark.lakehouse.delta import TableInfo
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.platform.config import TicketsSourceConfig
from careplus_spark.sources import tickets_extract as extract
from careplus_spark.sources.jdbc import safe_url, with_retries
from careplus_spark.sources.tickets_schema import TICKET_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

KEY = "ticket_id"
CURSOR = "updated_at"
LINEAGE_COLUMNS = ("_row_hash", "_extracted_at", "_run_id", "_source", "_cursor_from", "_cursor_to", "_deleted_at")
#: bronze.tickets: the source columns as they came, then the lineage (drifted columns are added at the end).
BRONZE_COLUMNS = (*TICKET_COLUMNS, *LINEAGE_COLUMNS)
STEP = "ingest_tickets"
def typed_cursor(column: str) -> Callable[[DataFrame], DataFrame]:
    """Types the cursor column as a timestamp (text cursors, e.g. SQLite, via try_cast)."""

    def transform(df: DataFrame) -> DataFrame:
        if dict(df.dtypes).get(column) == "timestamp":
            return df
        return df.withColumn(column, F.expr(f"try_cast(`{column}` AS TIMESTAMP)"))

    return transform


def with_lineage(
    run_id: str,
    source: str,
    columns: Sequence[str],
    cursor_from: str | None,
    cursor_to: str | None,
    optional: Sequence[str] = (),
) -> Callable[[DataFrame], DataFrame]:
    """Adds the bronze lineage columns (the hash covers ``columns`` and non-NULL ``optional``)."""

    def transform(df: DataFrame) -> DataFrame:
        return df.select(
            *[F.col(f"`{c}`") for c in df.columns],
            tables.row_hash(columns, optional).alias("_row_hash"),
            F.current_timestamp().alias("_extracted_at"),
            F.lit(run_id).alias("_run_id"),
            F.lit(source).alias("_source"),
            F.lit(cursor_from).cast("string").alias("_cursor_from"),
            F.lit(cursor_to).cast("string").alias("_cursor_to"),
            F.lit(None).cast("timestamp").alias("_deleted_at"),
        )

    return transform


def latest_per_key(key: str, cursor: str) -> Callable[[DataFrame], DataFrame]:
    """One row per key: the latest cursor wins, the row hash breaks exact ties."""
    from pyspark.sql import Window

    def transform(df: DataFrame) -> DataFrame:
        order = Window.partitionBy(F.col(f"`{key}`")).orderBy(
            F.col(f"`{cursor}`").desc_nulls_last(), F.col("_row_hash").desc()
        )
        return df.withColumn("_rank", F.row_number().over(order)).where("_rank = 1").drop("_rank")

    return transform


def ingest(spark: SparkSession, ctx: RunContext) -> StepResult:
    """Extracts new and changed tickets over JDBC and upserts them into bronze.tickets.

    Example:
        >>> ingest(spark, RunContext(load_config("local")))  # doctest: +SKIP
        StepResult(step='ingest_tickets', rows_read=300, rows_written=300, ...)

    Raises:
        AuthenticationError: the source rejected the credentials (no retries).
        SourceUnavailableError: the source stayed unreachable (nothing committed).
        SchemaError: a required column is missing, or new columns with ``schema_drift: fail``.
        DataError: the reconciliation guard refused the deletions (the window's changes and
            the cursor are written first; see :func:`careplus_spark.bronze.reconcile.check_deletes`).
    """
    started = time.monotonic()
    source = extract.source_options(ctx.cfg.sources.tickets)
    table = ctx.ref(catalog.BRONZE_TICKETS)
    name = cursor_name(source)
    info = tables.table_info(spark, table)
    where = f"source table {source.table} at {safe_url(source.url)}"
    columns = extract.source_columns(spark, source)
    required = extract.required_columns(source)
    extract.check_required(columns, required, where)
    optional = extract.drifted_columns(
        columns, required, _bronze_source_columns(spark, table, info), source.schema_drift, where
    )
    state = cursor_state.load(spark, ctx.ref(catalog.CURSORS), name)
    cursor = cursor_state.resolve(state, cursor_state.latest_commit_cursor(info, name), info)
    lower = extract.window_start(cursor.value if cursor else None, source.lookback_minutes)
    lower = extract.window_start_since(lower, ctx.since)  # --since: re-read the rows updated since a date
    window = extract.plan_window(spark, source, lower)
    log.info("%s: cursor %s, window [%s, %s], %d row(s)", name, cursor.value if cursor else None,
             window.lower, window.upper, window.rows)
    schedule = ReconcileSchedule.of(cursor if cursor is not None else state)
    schedule = replace(schedule, runs_since=schedule.runs_since + 1)
    due = 0 < source.reconcile_every_runs <= schedule.runs_since

    written = Written(0, 0, 0, None, info.table_id if info else None)
    if window.upper is not None and window.rows > 0:
        written = _extract_and_write(spark, ctx, source, table, info, window, name, required, optional, due)
    elif due and info is not None:
        written = _reconcile_only(spark, ctx, source, table, info, cursor, name)
    detail = f"window [{window.lower}, {window.upper}]"
    if written.reconciled is not None:
        detail += f"; {written.reconciled.summary()}"
        schedule = ReconcileSchedule(0, written.reconciled.at)
    if written.table_id is not None:
        version = written.version if written.version is not None else info.version  # type: ignore[union-attr]
        target = TableInfo(written.table_id, version, 0, {})
        _advance(spark, ctx, source, state, cursor, window, target, schedule)
    if written.refused is not None:
        raise written.refused
    versions = {table.qualified: written.version} if written.version is not None else {}
    return StepResult(
        step=STEP,
        rows_read=written.rows_read,
        rows_written=written.inserted,
        rows_updated=written.updated,
        rows_skipped=written.rows_read - written.inserted - written.updated,
        versions=versions,
        seconds=time.monotonic() - started,
        detail=detail,
    )


def _advance(
    spark: SparkSession,
    ctx: RunContext,
    source: TicketsSourceConfig,
    state: cursor_state.CursorState | None,
    cursor: cursor_state.CursorState | None,
    window: extract.ExtractWindow,
    target: TableInfo,
    schedule: ReconcileSchedule,
) -> None:
    """Records the cursor and the reconciliation schedule after the bronze commit."""
    new_value = window.upper if window.upper is not None else (cursor.value if cursor else None)
    if cursor is not None and cursor.value and new_value and new_value < cursor.value:
        new_value = cursor.value  # never move a cursor backwards
    next_state = cursor_state.CursorState(
        name=cursor_name(source),
        value=new_value,
        table_id=target.table_id,
        table_version=target.version,
        run_id=ctx.run_id,
        attributes=schedule.attributes(),
    )
    moved = state is None or (state.value, state.table_id, state.table_version) != (
        next_state.value, next_state.table_id, next_state.table_version)
    if moved or source.reconcile_every_runs > 0:
        cursor_state.save(spark, ctx.ref(catalog.CURSORS), next_state)


def _reconcile_only(
    spark: SparkSession,
    ctx: RunContext,
    source: TicketsSourceConfig,
    table: tables.TableRef,
    info: TableInfo,
    cursor: cursor_state.CursorState | None,
    name: str,
) -> Written:
    """A due reconciliation in a run whose window is empty: the deletions alone, in one commit.

    The commit carries the (unchanged) cursor, like every ingest commit.

    Raises:
        DataError: the guard refused the deletions (nothing written).
    """
    metadata = {"run_id": ctx.run_id, "step": STEP}
    if cursor is not None and cursor.value:
        metadata = cursor_state.commit_metadata(name, cursor.value, run_id=ctx.run_id, step=STEP)
    outcome = reconcile.reconcile_deletes(spark, source, table, ctx.run_id, metadata)
    return Written(0, 0, 0, outcome.version, info.table_id, reconciled=outcome)


def _extract_and_write(
    spark: SparkSession,
    ctx: RunContext,
    source: TicketsSourceConfig,
    table: tables.TableRef,
    info: TableInfo | None,
    window: extract.ExtractWindow,
    name: str,
    required: Sequence[str],
    optional: Sequence[str],
    reconcile_due: bool = False,
) -> Written:
    """Reads the window and writes its new or changed rows (and the deletions when due)."""
    columns = [*required, *optional]
    plan = extract.plan_read(spark, source, window)
    raw = extract.open_window(spark, source, plan)
    extract.check_required(raw.columns, columns, f"source table {source.table} at {safe_url(source.url)}")
    frame = (
        raw.select(*[F.col(f"`{c}`") for c in columns])
        .transform(typed_cursor(source.cursor_column))
        .transform(with_lineage(ctx.run_id, f"{safe_url(source.url)}#{source.table}", required,
                                window.lower, window.upper, optional))
    )
    if not plan.disjoint_keys:
        frame = frame.transform(latest_per_key(source.key_column, source.cursor_column))
    metadata = cursor_state.commit_metadata(name, str(window.upper), run_id=ctx.run_id, step=STEP)
    what = f"JDBC source {safe_url(source.url)}"
    if info is not None:
        added = delta.add_missing_columns(spark, table.path, frame)
        if added:
            log.warning("bronze.tickets: added column(s) %s", added)
        delta.enable_change_feed(spark, table.path, info)
        frame, gone = delta.align_to(spark, frame, table.path)
        if gone:
            log.warning("bronze.tickets: optional column(s) %s no longer in the source; written as NULL", gone)
    if window.full and (info is None or info.num_files == 0):
        with delta.session_conf(spark, parquet_settings(source)):
            return with_retries(lambda: append(spark, frame, table, metadata, info, bronze_properties(source)),
                                what, source.retries, source.retry_backoff_s)
    if info is None:  # a full load into a table that appeared meanwhile: MERGE is always safe
        info = tables.table_info(spark, table)
    with delta.session_conf(spark, parquet_settings(source)):
        return merge(spark, frame, table, source, metadata, what, info.table_id,  # type: ignore[union-attr]
                      reconcile_due)


def _bronze_source_columns(spark: SparkSession, table: tables.TableRef, info: TableInfo | None) -> list[str]:
    if info is None:
        return []
    columns = spark.read.format("delta").load(table.path).columns
    return [c for c in columns if c not in LINEAGE_COLUMNS]
