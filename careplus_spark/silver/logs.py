"""silver.logs: one cleaned, typed row per distinct event; partitioned by ``log_date``.

Change detection: bronze.logs keeps a change data feed. Silver remembers the last bronze
version it processed (``ops.cursors``, row ``silver.logs<-bronze.logs``, with bronze's
table id) and reads from the feed only *which days* changed since then. Those days are
recomputed from bronze's snapshot (well-formed blocks only) and MERGEd by ``event_id``
with the match limited to those partitions; events of those days that no longer exist
in bronze (a changed file replaced its rows) are deleted. The first run, a recreated
bronze or an unavailable feed recompute every day.

Each well-formed bronze block of a recomputed day ends in one place: a distinct event
in ``silver.logs`` (``_occurrences`` counts its exact duplicates), or, when it breaks a
blocking rule, ``silver.logs_quarantine`` with the rule and run id. The watermark is
written last: a crash before it only means the same days are recomputed again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pyspark.sql import Window
from pyspark.sql import functions as F

from careplus_spark import tables
from careplus_spark.pipeline.context import RunContext, StepResult
from careplus_spark.silver.log_cleaning import SILVER_COLUMNS, clean_logs, load_log_mappings
from careplus_spark.sources import cursor_state

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)
STEP = "silver_logs"
WATERMARK = "silver.logs<-bronze.logs"
PARTITION = "log_date"


def days_filter(column: str, days: Sequence[dt.date | None] | None) -> str:
    """SQL selecting rows of the given days (NULL included when listed); ``true`` for all."""
    if days is None:
        return "true"
    known = sorted(d for d in days if d is not None)
    parts = []
    if known:
        parts.append(f"{column} IN ({', '.join(repr(d.isoformat()) for d in known)})")
    if any(d is None for d in days):
        parts.append(f"{column} IS NULL")
    return "(" + " OR ".join(parts) + ")" if parts else "false"


def changed_days(spark: SparkSession, path: str, since: int, until: int) -> list[dt.date | None] | None:
    """Days with any change in bronze versions ``since+1..until``; None if the feed is unavailable."""
    from pyspark.errors import AnalysisException

    try:
        rows = (
            spark.read.format("delta")
            .option("readChangeFeed", "true")
            .option("startingVersion", since + 1)
            .option("endingVersion", until)
            .load(path)
            .select(PARTITION)
            .distinct()
            .collect()
        )
    except AnalysisException as exc:
        log.warning("bronze.logs change feed unavailable (%s); recomputing every day", str(exc).splitlines()[0][:200])
        return None
    return [r[PARTITION] for r in rows]


def distinct_events(valid: DataFrame, run_id: str) -> DataFrame:
    """One row per ``event_id``: the first occurrence (by file, offset) plus the count."""
    by_event = Window.partitionBy("event_id")
    first = Window.partitionBy("event_id").orderBy("_source_file", "_offset")
    return (
        valid.withColumn("_occurrences", F.count(F.lit(1)).over(by_event))
        .withColumn("_n", F.row_number().over(first))
        .where("_n = 1")
        .select(*SILVER_COLUMNS, "_occurrences", "_source_file", "_offset", F.lit(run_id).alias("_run_id"))
        .withColumn("_processed_at", F.current_timestamp())
    )


def build(spark: SparkSession, ctx: RunContext) -> StepResult:
    """The ``silver_logs`` step: recompute the days bronze changed since the last run.

    Example:
        >>> build(spark, RunContext(load_config("local")))  # doctest: +SKIP
        StepResult(step='silver_logs', rows_read=1200, rows_written=1170, ...)
    """
    started = time.monotonic()
    bronze = ctx.table("bronze", "logs")
    silver = ctx.table("silver", "logs")
    quarantine = ctx.table("silver", "logs_quarantine")
    state_table = ctx.table("ops", "cursors")
    info = cursor_state.table_info(spark, bronze)
    if info is None:
        return StepResult(step=STEP, detail="bronze.logs does not exist yet: run ingest_logs first")
    state = cursor_state.load(spark, state_table, WATERMARK)
    since = None
    if state is not None and state.value and state.table_id == info.table_id and tables.exists(spark, silver):
        since = int(state.value)
    if since is not None and since >= info.version:
        return StepResult(step=STEP, seconds=time.monotonic() - started, detail=f"bronze.logs unchanged since version {since}")
    days = None if since is None else changed_days(spark, bronze.path, since, info.version)
    where = days_filter(PARTITION, days)
    snapshot = spark.read.format("delta").option("versionAsOf", info.version).load(bronze.path)
    batch = snapshot.where(where).where(F.col("_parse_error").isNull())
    staged = batch.transform(clean_logs(load_log_mappings())).cache()
    try:
        read = staged.count()
        bad = staged.where(F.col("_rule").isNotNull())
        quarantined = bad.count()
        events = distinct_events(staged.where(F.col("_rule").isNull()), ctx.run_id)
        result = tables.upsert(
            spark,
            events,
            silver,
            keys=["event_id", PARTITION],
            partition_by=[PARTITION],
            properties={"delta.enableChangeDataFeed": "true"},  # tells gold which days changed
            update_condition="s._occurrences <> t._occurrences OR s._source_file <> t._source_file OR s._offset <> t._offset",
            target_filter=days_filter(f"t.{PARTITION}", days),
            delete_unmatched=days_filter(f"t.{PARTITION}", days),
            commit_info={"run_id": ctx.run_id, "step": STEP},
        )
        q_rows = bad.select(
            "_source_file", "_offset", F.col("_bronze_log_date").alias(PARTITION), "_rule",
            F.lit(ctx.run_id).alias("_run_id"), F.current_timestamp().alias("_quarantined_at"),
        )
        q_version = _replace_days(spark, q_rows, quarantine, where, ctx.run_id)
    finally:
        staged.unpersist()
    cursor_state.save(
        spark,
        state_table,
        cursor_state.CursorState(
            name=WATERMARK, value=str(info.version), table_id=info.table_id, table_version=info.version, run_id=ctx.run_id
        ),
    )
    versions = {silver.qualified: result.version, quarantine.qualified: q_version}
    n_days = "all days" if days is None else f"{sum(1 for d in days if d is not None)} day(s)"
    return StepResult(
        step=STEP,
        rows_read=read,
        rows_written=result.inserted,
        rows_updated=result.updated,
        rows_quarantined=quarantined,
        rows_skipped=read - quarantined - result.inserted - result.updated,
        versions={k: v for k, v in versions.items() if v is not None},
        seconds=time.monotonic() - started,
        detail=f"bronze versions {'0' if since is None else since + 1}..{info.version}: {n_days} recomputed; "
        f"{result.deleted} vanished events removed",
    )


def _replace_days(spark: SparkSession, rows: DataFrame, table: tables.TableRef, where: str, run_id: str) -> int | None:
    import json

    tables.create_if_missing(spark, table, rows)
    rows.write.format("delta").mode("overwrite").option("replaceWhere", where).option(
        "userMetadata", json.dumps({"run_id": run_id, "step": STEP})
    ).save(table.path)
    row = spark.sql(f"DESCRIBE HISTORY delta.`{table.path}` LIMIT 1").first()
    return int(row["version"]) if row else None
