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

Data quality (:mod:`careplus_spark.quality.alarms`): over the recomputed days' blocks,
the step counts, in one aggregation, the blocks each blocking rule quarantined
(``unparseable_timestamp``) and those whose level, response time, CPU or error flag
cleaning nulled (:data:`~careplus_spark.silver.log_cleaning.NULLING_RULES`). The counts
go to ``ops.dq_results`` with their shares; a share above its threshold warns, or, with
``quality.alarms.action: fail``, fails the step after silver, the quarantine and
``ops.dq_results`` are written and before the watermark is saved.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING

from pyspark.sql import Window
from pyspark.sql import functions as F

from careplus_spark.lakehouse import catalog, delta, incremental, tables
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.quality import alarms
from careplus_spark.quality.alarms import RowRule
from careplus_spark.silver.log_cleaning import (
    NULLING_RULES,
    RULE_TIMESTAMP,
    SILVER_LOG_COLUMNS,
    clean_logs,
    load_log_mappings,
    nulled_flag,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)
STEP = "silver_logs"
TABLE = catalog.SILVER_LOGS.qualified
PARTITION = "log_date"
#: silver.logs_quarantine: the bronze block, its day, the rule it broke, lineage.
QUARANTINE_COLUMNS = ("_source_file", "_offset", PARTITION, "_rule", "_run_id", "_quarantined_at")
#: Every rule counted for data-quality alarms (``quality.alarms.rules``: silver.logs.<rule>).
RULE_NAMES: tuple[str, ...] = (RULE_TIMESTAMP, *NULLING_RULES)


def quality_rules() -> tuple[RowRule, ...]:
    """The rules as failure columns over cleaned rows (``_rule``, ``_nulled_*``)."""
    nulling = [RowRule(rule, "cleaning", "warn", F.col(nulled_flag(rule))) for rule in NULLING_RULES]
    return (RowRule(RULE_TIMESTAMP, "timestamp", "block", F.col("_rule") == F.lit(RULE_TIMESTAMP)), *nulling)


def changed_days(feed: DataFrame | None) -> list[dt.date | None] | None:
    """The days with any change in bronze's change feed; None (every day) without a feed."""
    if feed is None:
        return None
    return [r[PARTITION] for r in feed.select(PARTITION).distinct().collect()]


def distinct_events(valid: DataFrame, run_id: str) -> DataFrame:
    """One row per ``event_id``: the first occurrence (by file, offset) plus the count."""
    by_event = Window.partitionBy("event_id")
    first = Window.partitionBy("event_id").orderBy("_source_file", "_offset")
    return (
        valid.withColumn("_occurrences", F.count(F.lit(1)).over(by_event))
        .withColumn("_n", F.row_number().over(first))
        .where("_n = 1")
        .select(*SILVER_LOG_COLUMNS, "_occurrences", "_source_file", "_offset", F.lit(run_id).alias("_run_id"))
        .withColumn("_processed_at", F.current_timestamp())
    )


def build(spark: SparkSession, ctx: RunContext) -> StepResult:
    """The ``silver_logs`` step: recompute the days bronze changed since the last run.

    Example:
        >>> build(spark, RunContext(load_config("local")))  # doctest: +SKIP
        StepResult(step='silver_logs', rows_read=1200, rows_written=1170, ...)
    """
    return incremental.refresh(spark, ctx, step=STEP, consumer=catalog.SILVER_LOGS, inputs=[catalog.BRONZE_LOGS],
                               process=lambda batch: _recompute_days(spark, ctx, batch), full_refresh=ctx.full_refresh)


def _recompute_days(spark: SparkSession, ctx: RunContext, batch: incremental.Batch) -> StepResult:
    """Recomputes the batch's days (every day for a full batch) into silver and its quarantine."""
    bronze = batch.input(catalog.BRONZE_LOGS.qualified)
    silver, quarantine = batch.target, ctx.ref(catalog.SILVER_LOGS_QUARANTINE)
    days = None if batch.full else changed_days(bronze.changes(spark))
    where = tables.days_predicate(PARTITION, days)
    rows = bronze.snapshot(spark).where(where).where(F.col("_parse_error").isNull())
    staged = rows.transform(clean_logs(load_log_mappings())).cache()
    try:
        rules = quality_rules()
        counts = staged.agg(
            F.count(F.lit(1)).alias("read"),
            F.count_if(F.col("_rule").isNotNull()).alias("quarantined"),
            *alarms.aggregates(rules, F.lit(True)),
        ).first()  # a global aggregation: always one row
        read, quarantined = int(counts["read"]), int(counts["quarantined"])  # type: ignore[index]
        bad = staged.where(F.col("_rule").isNotNull())
        events = distinct_events(staged.where(F.col("_rule").isNull()), ctx.run_id)
        scope = tables.days_predicate(f"t.{PARTITION}", days)
        result = tables.upsert(
            spark,
            events,
            silver,
            keys=list(catalog.SILVER_LOGS.keys),
            partition_by=catalog.SILVER_LOGS.partition_by,
            properties=catalog.SILVER_LOGS.properties,  # the change feed tells gold which days changed
            update_condition=(
                "s._occurrences <> t._occurrences OR s._source_file <> t._source_file OR s._offset <> t._offset"
            ),
            target_filter=scope,
            delete_unmatched=scope,
            commit_info={"run_id": ctx.run_id, "step": STEP},
        )
        q_rows = bad.select(
            *QUARANTINE_COLUMNS[:2], F.col("_bronze_log_date").alias(PARTITION), "_rule",
            F.lit(ctx.run_id).alias("_run_id"), F.current_timestamp().alias("_quarantined_at"),
        )
        q_version = _replace_days(spark, q_rows, quarantine, where, ctx.run_id)
    finally:
        staged.unpersist()
    shares, dq_version = alarms.settle(spark, ctx, STEP, alarms.counts_from(counts, TABLE, rules))  # type: ignore[arg-type]
    alarms.raise_on_failure(STEP, shares)  # after every write, before the watermark
    versions = {silver.qualified: result.version, quarantine.qualified: q_version,
                catalog.DQ_RESULTS.qualified: dq_version}
    n_days = "all days" if days is None else f"{sum(1 for d in days if d is not None)} day(s)"
    alarm_text = alarms.describe_alarms(shares)
    return StepResult(
        step=STEP,
        rows_read=read,
        rows_written=result.inserted,
        rows_updated=result.updated,
        rows_quarantined=quarantined,
        rows_skipped=read - quarantined - result.inserted - result.updated,
        versions={k: v for k, v in versions.items() if v is not None},
        detail=f"bronze versions {bronze.span}: {n_days} recomputed; {result.deleted} vanished events removed"
        + (f"; {alarm_text}" if alarm_text else ""),
        quality=alarms.nonzero(shares),
    )


def _replace_days(spark: SparkSession, rows: DataFrame, table: tables.TableRef, where: str, run_id: str) -> int | None:
    if not tables.exists(spark, table):
        return tables.create_with_rows(spark, table, rows, commit_info={"run_id": run_id, "step": STEP}).version
    rows.write.format("delta").mode("overwrite").option("replaceWhere", where).option(
        "userMetadata", json.dumps({"run_id": run_id, "step": STEP})
    ).save(table.path)
    return delta.latest_version(spark, table.path)
