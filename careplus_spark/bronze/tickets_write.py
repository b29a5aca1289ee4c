"""bronze.tickets writes: a full load's append, the window's MERGE (with the deletions).

:mod:`careplus_spark.bronze.tickets` reads the window and calls :func:`append` (a full
load into an empty table: one pass, no join) or :func:`merge` (only rows whose key is
new, whose row hash differs or that bronze holds as deleted; with the keys gone from the
source soft-deleted in the same MERGE and commit when a reconciliation is due). The
Parquet writer settings and table properties of bronze.tickets live here too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from careplus_spark.bronze import reconcile
from careplus_spark.errors import DataError
from careplus_spark.lakehouse import catalog, delta, tables
from careplus_spark.lakehouse.delta import TableInfo
from careplus_spark.platform.config import TicketsSourceConfig
from careplus_spark.sources.jdbc import with_retries

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Columns whose values are (nearly) unique per row: Parquet dictionary encoding only
#: fills a dictionary and falls back to plain for them, at a marked CPU cost.
_UNIQUE_COLUMNS = ("created_at", "resolved_at", "_row_hash")


def parquet_settings(source: TicketsSourceConfig) -> dict[str, str]:
    """Parquet writer settings for bronze.tickets writes (Hadoop keys, set as session confs).

    Row-group min/max statistics only on the key and the cursor (Delta keeps its own file
    statistics; min/max of free text is rarely useful and costs a comparison per value),
    no size statistics, and no dictionary for columns that are unique per row (the low-
    cardinality columns keep it). Readers are unaffected: these only change encoding.
    """
    settings = {
        "parquet.column.statistics.enabled": "false",
        "parquet.size.statistics.enabled": "false",
        # zstd: ~30 % smaller files than snappy at the same write cost (measured on 1 M tickets).
        "spark.sql.parquet.compression.codec": "zstd",
    }
    for column in (source.key_column, source.cursor_column):
        settings[f"parquet.column.statistics.enabled#{column}"] = "true"
    for column in (source.key_column, source.cursor_column, *_UNIQUE_COLUMNS):
        settings[f"parquet.enable.dictionary#{column}"] = "false"
    return settings


def bronze_properties(source: TicketsSourceConfig) -> dict[str, str]:
    """Table properties of a new bronze.tickets: change data feed on, file statistics on
    the key and the cursor only (the MERGE on the key and the window filter use them;
    min/max of a dozen free-text columns would only make every write dearer)."""
    stats = dict.fromkeys((source.key_column, source.cursor_column))
    return {**catalog.BRONZE_TICKETS.properties, "delta.dataSkippingStatsColumns": ",".join(stats)}

def changed_rows(
    spark: SparkSession,
    extracted: DataFrame,
    table: tables.TableRef,
    key: str,
    cursor: str | None = None,
    since_micros: int | None = None,
) -> DataFrame:
    """Rows whose key is new, whose source values differ, or that bronze holds as deleted.

    With ``cursor`` and ``since_micros`` (the smallest cursor among ``extracted``, as
    microseconds since the epoch) only bronze rows at or past it (or without a typed
    cursor) are compared: a bronze row can equal an extracted one only if its cursor,
    which the row hash covers, is the same. A window's comparison then no longer joins
    against the whole of bronze.
    """
    live = spark.read.format("delta").load(table.path).where(F.col("_deleted_at").isNull())
    if cursor is not None and since_micros is not None:
        column = F.col(f"`{cursor}`")
        live = live.where(column.isNull() | (column >= F.expr(f"timestamp_micros({int(since_micros)})")))
    return extracted.join(live.select(key, "_row_hash"), on=[key, "_row_hash"], how="left_anti")


@dataclass(frozen=True)
class Written:
    rows_read: int
    inserted: int
    updated: int
    version: int | None
    table_id: str | None
    #: the reconciliation done by this write (None: none was due or possible)
    reconciled: reconcile.ReconcileOutcome | None = None
    #: deletions the guard refused (raised once the changes and the cursor are saved)
    refused: DataError | None = None

def append(spark: SparkSession, frame: DataFrame, table: tables.TableRef, metadata: dict[str, str],
            info: TableInfo | None, properties: Mapping[str, str]) -> Written:
    """A full load into an empty bronze: one pass from JDBC to Delta, no join, no MERGE.

    A missing table is created by this very write (with ``properties``) and registered.
    The version, table id and row
    count come from the commit's own log entry (one small file read), not from
    ``DESCRIBE HISTORY``/``DETAIL`` jobs.
    """
    created = info is None
    defaults = {f"spark.databricks.delta.properties.defaults.{k.removeprefix('delta.')}": v
                for k, v in properties.items()}
    with delta.session_conf(spark, defaults if created else {}):
        (
            frame.write.format("delta")
            .mode("append")
            .option("userMetadata", json.dumps(metadata, sort_keys=True))
            .save(table.path)
        )
    if created:
        tables.register(spark, table)
    return _written_by(spark, table, metadata, info)


def _written_by(spark: SparkSession, table: tables.TableRef, metadata: Mapping[str, str],
                info: TableInfo | None) -> Written:
    """What the append carrying ``metadata`` wrote, from its own commit in the log."""
    commit = delta.own_commit(spark, table.path, metadata, 0 if info is None else info.version + 1)
    if commit is None:  # not found in the log (should not happen): ask Delta
        commit = delta.last_commit(spark, table.path)
    table_id = commit.table_id if commit is not None else None
    if table_id is None:
        known = info if info is not None else tables.table_info(spark, table)
        table_id = known.table_id if known is not None else None
    rows = int((commit.metrics if commit is not None else {}).get("numOutputRows", 0))
    return Written(rows, rows, 0, commit.version if commit is not None else None, table_id)


#: A matched bronze row takes the window's version when it changed or was soft-deleted.
_UPDATE_WHEN = "s._row_hash <> t._row_hash OR t._deleted_at IS NOT NULL"


def merge(
    spark: SparkSession,
    frame: DataFrame,
    table: tables.TableRef,
    source: TicketsSourceConfig,
    metadata: dict[str, str],
    what: str,
    table_id: str,
    reconcile_due: bool = False,
) -> Written:
    """MERGEs the window's new or changed rows (and the gone keys' deletions when due).

    A window without changes and without deletions commits nothing. The key comparison
    runs after the window is read and never reports a key of the window as gone.
    """
    key = source.key_column
    extracted = frame.cache()
    found: reconcile.KeyComparison | None = None
    try:
        cursor = F.col(f"`{source.cursor_column}`")
        stats = with_retries(
            lambda: extracted.agg(F.count(F.lit(1)).alias("n"), F.min(F.unix_micros(cursor)).alias("since")).first(),
            what, source.retries, source.retry_backoff_s,
        )
        rows_read = int(stats["n"])  # type: ignore[index]
        refused: DataError | None = None
        if reconcile_due:
            found = reconcile.compare_keys(spark, source, table, keep=extracted)
            try:
                reconcile.check_deletes(found, source)
            except DataError as exc:  # the changes are still written; the step fails after the cursor
                refused, found = exc, None
        changes = changed_rows(spark, extracted, table, key, source.cursor_column, stats["since"]).cache()  # type: ignore[index]
        try:
            gone = found.gone if found is not None else None
            if changes.count() == 0 and gone is None:
                result = tables.MergeResult(table.qualified, 0, 0, 0, None)
            elif gone is None:
                result = tables.upsert(spark, changes, table, keys=[key], update_condition=_UPDATE_WHEN,
                                       properties=bronze_properties(source), commit_info=metadata)
            else:
                result = _merge_with_deletes(spark, changes, gone, table, key, metadata, found.soft_deletes)  # type: ignore[union-attr]
        finally:
            changes.unpersist()
    finally:
        extracted.unpersist()
    outcome = None
    if found is not None:  # live rows after the write: as before when nothing was written
        live_after = found.bronze_live if result.version is None else reconcile.live_count(spark, table)
        outcome = found.outcome(live_after, result.version)
        reconcile.report(outcome)
    return Written(rows_read, result.inserted, result.updated, result.version, table_id, outcome, refused)


def _merge_with_deletes(
    spark: SparkSession,
    changes: DataFrame,
    gone: DataFrame,
    table: tables.TableRef,
    key: str,
    metadata: dict[str, str],
    soft_deletes: int,
) -> tables.MergeResult:
    """One MERGE and commit: the window's changes upserted, the gone keys soft-deleted.

    The gone keys become rows of ``changes``' schema with only the key set and ``_op =
    'delete'``; they never share a key with ``changes`` (keys of the window are never
    gone). Every file holding a changed or a gone row is rewritten once, not twice.
    """
    from delta.tables import DeltaTable

    columns = changes.columns
    types = dict(changes.dtypes)
    marks = gone.select(
        *[F.col(f"`{c}`") if c == key else F.lit(None).cast(types[c]).alias(c) for c in columns],
        F.lit("delete").alias("_op"),
    )
    ops = changes.withColumn("_op", F.lit("upsert")).unionByName(marks)
    values = {f"`{c}`": f"s.`{c}`" for c in columns}
    before = delta.latest_version(spark, table.path)
    merge = (
        DeltaTable.forPath(spark, table.path).alias("t")
        .merge(ops.alias("s"), f"t.`{key}` <=> s.`{key}`")
        .whenMatchedUpdate(condition="s._op = 'delete' AND t._deleted_at IS NULL", set=dict(reconcile.SOFT_DELETE))
        .whenMatchedUpdate(condition=f"s._op = 'upsert' AND ({_UPDATE_WHEN})", set=values)  # type: ignore[arg-type]
        .whenNotMatchedInsert(condition="s._op = 'upsert'", values=values)  # type: ignore[arg-type]
    )
    delta.run_merge(spark, merge, metadata)
    commit = delta.last_commit(spark, table.path)
    if commit is None or commit.version == before:
        return tables.MergeResult(table.qualified, 0, 0, 0, None)
    updated = int(commit.metrics.get("numTargetRowsUpdated", 0))
    return tables.MergeResult(table.qualified, int(commit.metrics.get("numTargetRowsInserted", 0)),
                              max(0, updated - soft_deletes), 0, commit.version)
