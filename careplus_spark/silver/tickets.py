"""silver.tickets: one cleaned, typed row per live ticket; invalid rows quarantined.

Change detection: bronze.tickets has the Delta change data feed on. Silver remembers
the last bronze version it processed (a watermark row in ``ops.cursors``, together with
bronze's table id) and reads only the changes after it: ``readChangeFeed`` from
``watermark + 1`` to bronze's current version, latest change per key. The first run,
a recreated bronze, or a change feed that is unavailable (turned on later, or its files
vacuumed) falls back to bronze's snapshot at the current version. Either way the batch is
compared with silver by key and row hash, so only changed tickets are MERGEd, and a
re-run with nothing new reads nothing and writes nothing.

Each bronze row of the batch ends up in exactly one place:

- live and valid: upserted into ``silver.tickets`` (and removed from the quarantine);
- live but breaking a blocking rule (:data:`~careplus_spark.silver.ticket_cleaning.RULES`, or a
  second bronze key that cleans to the same ``ticket_id``): into
  ``silver.tickets_quarantine`` with the rule, its raw values as JSON and the run id
  (and removed from silver);
- soft-deleted in bronze (deleted at the source): **removed** from silver and from the
  quarantine. Silver holds live tickets only; bronze keeps the deleted row with
  ``_deleted_at``, and gold, built from silver, honours the delete through silver's
  MERGE (a delete in silver's change feed).

So ``silver rows + quarantine rows == live bronze rows`` after every run (checked at the
end of the run and reported in the step's detail). The watermark is written last: a
crash before it only means the same changes are processed again, which changes nothing.

Data quality (:mod:`careplus_spark.quality.alarms`): for the live rows of the batch, the
step counts, in the aggregation it makes anyway, the rows each blocking rule quarantined
(:data:`~careplus_spark.silver.ticket_cleaning.RULES` and ``duplicate_ticket_id``) and
the rows each :data:`NULLING` rule nulled: a value present in bronze that cleaning turned
into NULL (blank values and zero dates are legitimately NULL and do not count). The counts
go to ``ops.dq_results`` with their shares; a share above its threshold warns, or, with
``quality.alarms.action: fail``, fails the step after silver, the quarantine and
``ops.dq_results`` are written and before the watermark is saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import Window
from pyspark.sql import functions as F

from careplus_spark.lakehouse import catalog, incremental, tables
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.quality import alarms
from careplus_spark.quality.alarms import RowRule
from careplus_spark.silver.ticket_cleaning import (
    RULE_CREATED_AT,
    RULE_DUPLICATE_KEY,
    RULE_MISSING_KEY,
    RULES,
    SILVER_TICKET_COLUMNS,
    TicketMappings,
    clean_tickets,
    corrected_time_parser,
    load_mappings,
)
from careplus_spark.sources.tickets_schema import TICKET_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)
STEP = "silver_tickets"
TABLE = catalog.SILVER_TICKETS.qualified
SILVER_LINEAGE = ("_row_hash", "_run_id", "_processed_at")
QUARANTINE_COLUMNS = ("ticket_id", "_rule", "_raw", "_bronze_hash", "_run_id", "_quarantined_at")
_CDF_KEEP = ("insert", "update_postimage", "delete")


@dataclass(frozen=True)
class Nulling:
    """A nulling rule: the rows whose bronze ``column`` held a value that cleaning turned into NULL.

    ``zero_dates``: the column is a timestamp, whose zero dates are legitimately NULL.
    """

    rule: str
    check: str
    column: str
    zero_dates: bool = False

    @property
    def flag(self) -> str:
        """The boolean column :func:`stage` adds: true when the row's value was nulled."""
        return f"_nulled_{self.column}"


#: The nulling rules of silver.tickets (warn-level: the row is kept with a NULL).
NULLING = (
    Nulling("unmapped_priority", "mapping", "priority"),
    Nulling("unmapped_status", "mapping", "status"),
    Nulling("unmapped_channel", "mapping", "channel"),
    Nulling("invalid_num_interactions", "integer_range", "num_interactions"),
    Nulling("unparseable_updated_at", "timestamp", "updated_at", zero_dates=True),
    Nulling("unparseable_resolved_at", "timestamp", "resolved_at", zero_dates=True),
)
#: The blocking rules (their rows are quarantined), with the kind of check they make.
BLOCKING: dict[str, str] = {
    **dict.fromkeys(RULES, "cleaning"),
    RULE_MISSING_KEY: "not_null",
    RULE_CREATED_AT: "timestamp",
    RULE_DUPLICATE_KEY: "unique",
}
#: Every rule counted for data-quality alarms (``quality.alarms.rules``: silver.tickets.<rule>).
RULE_NAMES: tuple[str, ...] = (*BLOCKING, *(n.rule for n in NULLING))


def quality_rules() -> tuple[RowRule, ...]:
    """The rules as failure columns over :func:`stage`'s rows (``_rule``, ``_nulled_*``)."""
    blocking = [RowRule(rule, check, "block", F.col("_rule") == F.lit(rule)) for rule, check in BLOCKING.items()]
    nulling = [RowRule(n.rule, n.check, "warn", F.col(n.flag)) for n in NULLING]
    return (*blocking, *nulling)


def was_nulled(raw: Column, cleaned: Column, no_value: Sequence[str] = ()) -> Column:
    """True when ``raw`` held a value (not blank, not one of ``no_value``) and ``cleaned`` is NULL."""
    text = F.trim(raw.cast("string"))
    present = text.isNotNull() & (text != F.lit(""))
    if no_value:
        present = present & ~text.isin(*no_value)
    return F.coalesce(present & cleaned.isNull(), F.lit(False))


def with_deleted(bronze: DataFrame) -> DataFrame:
    """bronze.tickets rows with ``_deleted`` from ``_deleted_at``."""
    return bronze.withColumn("_deleted", F.col("_deleted_at").isNotNull())


def latest_changes(feed: DataFrame) -> DataFrame:
    """The latest change per key in bronze's change data feed, with ``_deleted``.

    Example:
        >>> latest_changes(bronze.changes(spark)).select("ticket_id", "_deleted")  # doctest: +SKIP
    """
    latest = Window.partitionBy("ticket_id").orderBy(
        F.col("_commit_version").desc(), F.when(F.col("_change_type") == "delete", 0).otherwise(1)
    )
    return (
        feed.where(F.col("_change_type").isin(*_CDF_KEEP))
        .withColumn("_rank", F.row_number().over(latest))
        .where("_rank = 1")
        .withColumn("_deleted", F.col("_deleted_at").isNotNull() | (F.col("_change_type") == "delete"))
        .drop("_rank", "_change_type", "_commit_version", "_commit_timestamp")
    )


def stage(mappings: TicketMappings, run_id: str) -> Callable[[DataFrame], DataFrame]:
    """Bronze rows -> cleaned silver rows with ``_rule``, ``_op`` lineage and raw values.

    Adds ``_bronze_key`` (the raw key), ``_raw`` (source values as JSON), ``_bronze_hash``,
    ``_deleted``, ``_row_hash`` (of the cleaned values), a ``_nulled_<column>`` flag per
    :data:`NULLING` rule, and resolves cleaned-key clashes: of the live valid rows sharing
    a cleaned ``ticket_id``, the latest ``updated_at`` wins and the others get the rule
    ``duplicate_ticket_id``.
    """

    def transform(df: DataFrame) -> DataFrame:
        raw = [F.col(f"`{c}`") for c in TICKET_COLUMNS]
        cleaned = df.select(
            *raw,
            F.col("ticket_id").alias("_bronze_key"),
            F.to_json(F.struct(*raw), {"ignoreNullFields": "false"}).alias("_raw"),  # NULL values shown
            F.col("_row_hash").alias("_bronze_hash"),
            F.col("_deleted"),
            *[F.col(n.column).alias(f"_source_{n.column}") for n in NULLING],
        ).transform(clean_tickets(mappings))
        flags = {n.flag: was_nulled(F.col(f"_source_{n.column}"), F.col(n.column), _no_value(n)) for n in NULLING}
        cleaned = cleaned.withColumns(flags).drop(*[f"_source_{n.column}" for n in NULLING])
        live_valid = (~F.col("_deleted")) & F.col("_rule").isNull()
        order = Window.partitionBy("ticket_id").orderBy(
            live_valid.desc(), F.col("updated_at").desc_nulls_last(), F.col("_bronze_key")
        )
        ranked = cleaned.withColumn("_rank", F.when(F.col("ticket_id").isNotNull(), F.row_number().over(order)))
        rule = F.when(live_valid & (F.col("_rank") > 1), F.lit(RULE_DUPLICATE_KEY)).otherwise(F.col("_rule"))
        return (
            ranked.withColumn("_rule", rule)
            .withColumn("_row_hash", tables.row_hash(SILVER_TICKET_COLUMNS))
            .withColumn("_run_id", F.lit(run_id))
        )

    def _no_value(rule: Nulling) -> Sequence[str]:
        return mappings.zero_dates if rule.zero_dates else ()

    return transform


def silver_ops(staged: DataFrame) -> DataFrame:
    """One row per cleaned key: ``_op`` upsert (live and valid) or delete (otherwise)."""
    op = F.when((~F.col("_deleted")) & F.col("_rule").isNull(), F.lit("upsert")).otherwise(F.lit("delete"))
    return staged.where("ticket_id IS NOT NULL AND _rank = 1").select(
        *SILVER_TICKET_COLUMNS, "_row_hash", "_run_id", F.current_timestamp().alias("_processed_at"), op.alias("_op")
    )


def quarantine_ops(staged: DataFrame) -> DataFrame:
    """One row per bronze key: ``_op`` upsert (live and invalid) or delete (otherwise)."""
    op = F.when((~F.col("_deleted")) & F.col("_rule").isNotNull(), F.lit("upsert")).otherwise(F.lit("delete"))
    return staged.select(
        F.col("_bronze_key").alias("ticket_id"),
        "_rule",
        "_raw",
        "_bronze_hash",
        "_run_id",
        F.current_timestamp().alias("_quarantined_at"),
        op.alias("_op"),
    )


def only_changes(ops: DataFrame, target: DataFrame, key: str, compare: list[str]) -> DataFrame:
    """Upserts that differ from ``target`` and deletes of keys that ``target`` holds."""
    current = target.select(key, *compare)
    upserts = ops.where("_op = 'upsert'").join(current, on=[key, *compare], how="left_anti")
    deletes = ops.where("_op = 'delete'").join(current.select(key), on=key, how="left_semi")
    return upserts.unionByName(deletes)


def vanished(ops: DataFrame, target: DataFrame, key: str) -> DataFrame:
    """Deletes of the keys ``target`` holds that ``ops`` (made from a whole snapshot) lacks: a rebuild
    from bronze's snapshot also removes what bronze no longer has (bronze restored to an earlier version)."""
    columns = [c for c in ops.columns if c != "_op"]
    return target.join(ops.select(key), key, "left_anti").select(*columns, F.lit("delete").alias("_op"))


def _against(spark: SparkSession, ops: DataFrame, table: tables.TableRef, compare: list[str],
             snapshot: bool) -> DataFrame:
    """``ops`` reduced to what changes ``table`` (:func:`only_changes`), plus :func:`vanished` keys when
    ``ops`` were made from bronze's snapshot."""
    if not tables.exists(spark, table):
        return ops
    current = spark.read.format("delta").load(table.path)
    changed = only_changes(ops, current, "ticket_id", compare)
    return changed.unionByName(vanished(ops, current, "ticket_id")) if snapshot else changed


def merge_ops(spark: SparkSession, ops: DataFrame, table: tables.TableRef, key: str, run_id: str) -> tables.MergeResult:
    """Applies ``_op`` rows: deletes matched keys, upserts the rest (one MERGE, none if no rows).

    A missing table is created holding the upserted rows (even none, so that it can be queried at once).

    Example:
        >>> merge_ops(spark, silver_ops(staged), ctx.ref(catalog.SILVER_TICKETS), "ticket_id", "r1")  # doctest: +SKIP
        MergeResult(table='silver.tickets', inserted=250, updated=3, deleted=2, version=4)
    """
    columns = [c for c in ops.columns if c != "_op"]
    commit_info = {"run_id": run_id, "step": STEP}
    if not tables.exists(spark, table):  # one commit: the table with its first rows (its change feed on)
        rows = ops.where(F.col("_op") == F.lit("upsert")).select(*columns)
        entry = catalog.table(table.qualified)
        return tables.create_with_rows(spark, table, rows, properties=entry.properties, commit_info=commit_info)
    return tables.apply_ops(spark, ops, table, f"t.`{key}` <=> s.`{key}`", commit_info)


def build(spark: SparkSession, ctx: RunContext) -> StepResult:
    """The ``silver_tickets`` step: clean the bronze changes since the last run into silver.

    Example:
        >>> build(spark, RunContext(load_config("local")))  # doctest: +SKIP
        StepResult(step='silver_tickets', rows_read=300, rows_written=297, rows_quarantined=3, ...)
    """
    return incremental.refresh(spark, ctx, step=STEP, consumer=catalog.SILVER_TICKETS,
                               inputs=[catalog.BRONZE_TICKETS], process=lambda batch: _apply(spark, ctx, batch),
                               full_refresh=ctx.full_refresh)


def _apply(spark: SparkSession, ctx: RunContext, batch: incremental.Batch) -> StepResult:
    """Cleans the batch's bronze rows (its changes, or its snapshot) into silver and the quarantine."""
    bronze = batch.input(catalog.BRONZE_TICKETS.qualified)
    silver, quarantine = batch.target, ctx.ref(catalog.SILVER_TICKETS_QUARANTINE)
    mappings = load_mappings(ctx.cfg.silver.tickets_mappings or None)
    feed = None if batch.full else bronze.changes(spark)
    changes = latest_changes(feed) if feed is not None else with_deleted(bronze.snapshot(spark))
    how = "change data feed" if feed is not None else "snapshot"
    with corrected_time_parser(spark):
        staged = changes.transform(stage(mappings, ctx.run_id)).cache()
        try:
            rules = quality_rules()
            live = ~F.col("_deleted")
            counts = staged.agg(
                F.count(F.lit(1)).alias("read"),
                F.count_if(F.col("_deleted")).alias("deleted"),
                F.count_if(live & F.col("_rule").isNotNull()).alias("quarantined"),
                *alarms.aggregates(rules, live),
            ).first()  # a global aggregation: always one row
            q_ops = _against(spark, quarantine_ops(staged), quarantine, ["_bronze_hash", "_rule"], feed is None)
            q_result = merge_ops(spark, q_ops, quarantine, "ticket_id", ctx.run_id)
            s_ops = _against(spark, silver_ops(staged), silver, ["_row_hash"], feed is None)
            s_result = merge_ops(spark, s_ops, silver, "ticket_id", ctx.run_id)
        finally:
            staged.unpersist()
    read, quarantined = int(counts["read"] or 0), int(counts["quarantined"] or 0)  # type: ignore[index]
    balance = _balance(spark, bronze, silver, quarantine)
    shares, dq_version = alarms.settle(spark, ctx, STEP, alarms.counts_from(counts, TABLE, rules))  # type: ignore[arg-type]
    alarms.raise_on_failure(STEP, shares)  # after every write, before the watermark
    versions = {r.table: r.version for r in (s_result, q_result) if r.version is not None}
    if dq_version is not None:
        versions[catalog.DQ_RESULTS.qualified] = dq_version
    alarm_text = alarms.describe_alarms(shares)
    return StepResult(
        step=STEP,
        rows_read=read,
        rows_written=s_result.inserted,
        rows_updated=s_result.updated,
        rows_quarantined=quarantined,
        rows_skipped=read - s_result.inserted - s_result.updated - quarantined,
        versions=versions,
        detail=f"bronze versions {bronze.span} ({how}); "
        f"{int(counts['deleted'] or 0)} deleted at the source; removed from silver {s_result.deleted}; {balance}"  # type: ignore[index]
        + (f"; {alarm_text}" if alarm_text else ""),
        quality=alarms.nonzero(shares),
    )


def _balance(
    spark: SparkSession, bronze: incremental.Input, silver: tables.TableRef, quarantine: tables.TableRef
) -> str:
    """``silver + quarantine == live bronze``, as text; a mismatch is logged as an error."""
    live = bronze.snapshot(spark).where(F.col("_deleted_at").isNull()).count()
    n_silver = _row_count(spark, silver)
    n_quarantine = _row_count(spark, quarantine)
    text = f"silver {n_silver} + quarantine {n_quarantine} = live bronze {live}"
    if n_silver + n_quarantine != live:
        log.error("silver.tickets does not reconcile with bronze.tickets: %s", text)
        return text.replace(" = ", " != ")
    return text


def _row_count(spark: SparkSession, table: tables.TableRef) -> int:
    """Rows in a table, 0 when it does not exist yet."""
    if not tables.exists(spark, table):
        return 0
    return int(spark.read.format("delta").load(table.path).count())
