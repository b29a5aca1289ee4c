"""Where rule outcomes are kept: ``gold.quarantine`` and ``ops.dq_results``.

``gold.quarantine`` holds the rows of every checked table that break a blocking rule, one
row per distinct blocked row:

========================  ==============  ===============================================
column                    type            meaning
========================  ==============  ===============================================
``table``                 STRING          the checked table, e.g. ``gold.fct_tickets``
``row_key``               STRING          the key columns as JSON, e.g. ``{"ticket_id":"T1"}``
``row_hash``              STRING          SHA-256 of ``row``: tells apart rows sharing a key
``rules``                 ARRAY<STRING>   the blocking rules the row breaks, in file order
``row``                   STRING          the whole row as JSON (NULL fields kept)
``occurrences``           BIGINT          how many identical candidate rows it stands for
``run_id``                STRING          the run that (last) quarantined it
``quarantined_at``        TIMESTAMP       when
========================  ==============  ===============================================

It is MERGEd on (``table``, ``row_key``, ``row_hash``): this run's blocked rows are
inserted, or updated when their rules or occurrences changed (unchanged rows are not
rewritten, so a re-run with the same input writes no new version); rows of the table in
scope (whose key was checked in this run, or listed as removed upstream; in full mode:
all the table's rows) that are not blocked now are deleted.

``ops.dq_results`` gets one row per rule per check run (also when nothing failed), from
gold's quality engine and from the silver steps (see :mod:`careplus_spark.quality.alarms`):

========================  ==============  ===============================================
column                    type            meaning
========================  ==============  ===============================================
``run_id``                STRING          the run
``table``                 STRING          the checked table, e.g. ``silver.tickets``
``rule``                  STRING          the rule, e.g. ``unparseable_created_at``
``check``                 STRING          its kind: ``not_null``, ``unique``, ``timestamp`` ...
``severity``              STRING          ``block`` (rows quarantined) or ``warn`` (nulled, kept)
``checked``               BIGINT          the step's rows the rule applied to in this run
``failed``                BIGINT          of those, the rows it quarantined, nulled or flagged
``recorded_at``           TIMESTAMP       when
``step``                  STRING          the pipeline step, e.g. ``silver_tickets``
``share``                 DOUBLE          ``failed / checked``; NULL when nothing was checked
``threshold``             DOUBLE          the rule's alarm threshold; NULL: it never alarms
``alarm``                 STRING          ``warn`` or ``fail`` when ``share > threshold``, else NULL
========================  ==============  ===============================================

The last four columns were added later: a table written by an earlier version gains them on
its next append (schema evolution), its older rows holding NULL there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from careplus_spark.lakehouse import delta, tables
from careplus_spark.lakehouse.rows import literal_rows
from careplus_spark.lakehouse.run import RuleShare
from careplus_spark.quality.checks import BLOCKED, failure_columns
from careplus_spark.quality.ruleset import TableRules

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

QUARANTINE_SCHEMA = StructType(
    [
        StructField("table", StringType(), False),
        StructField("row_key", StringType(), False),
        StructField("row_hash", StringType(), False),
        StructField("rules", ArrayType(StringType(), False), False),
        StructField("row", StringType(), False),
        StructField("occurrences", LongType(), False),
        StructField("run_id", StringType(), False),
        StructField("quarantined_at", TimestampType(), False),
    ]
)
RESULTS_SCHEMA = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("table", StringType(), False),
        StructField("rule", StringType(), False),
        StructField("check", StringType(), False),
        StructField("severity", StringType(), False),
        StructField("checked", LongType(), False),
        StructField("failed", LongType(), False),
        StructField("recorded_at", TimestampType(), False),
        # added with the alarms: nullable, so that an older table evolves by an append
        StructField("step", StringType(), True),
        StructField("share", DoubleType(), True),
        StructField("threshold", DoubleType(), True),
        StructField("alarm", StringType(), True),
    ]
)
_JSON = {"ignoreNullFields": "false"}
_COMPARED = ["row_key", "row_hash", "rules", "occurrences"]


def row_key(key: Sequence[str]) -> Column:
    """The key columns as JSON text, NULLs kept: ``{"ticket_id":"T1"}``."""
    return F.to_json(F.struct(*[F.col(f"`{c}`") for c in key]), _JSON)


def row_json(columns: Sequence[str]) -> Column:
    """The whole row as JSON text, NULLs kept."""
    return F.to_json(F.struct(*[F.col(f"`{c}`") for c in columns]), _JSON)


def blocked_rows(flagged: DataFrame, rules: TableRules, columns: Sequence[str], run_id: str) -> DataFrame:
    """Quarantine rows (:data:`QUARANTINE_SCHEMA`) for the flagged rows breaking a blocking rule."""
    names = [
        F.when(F.col(flag), F.lit(rule.name))
        for flag, rule in zip(failure_columns(rules), rules.rules, strict=True)
        if rule.blocking
    ]
    rows = flagged.where(F.col(BLOCKED)).select(
        row_key(rules.key).alias("row_key"),
        row_json(columns).alias("row"),
        F.array_compact(F.array(*names)).alias("rules") if names else F.array().cast("array<string>").alias("rules"),
    )
    grouped = rows.groupBy("row_key", "row").agg(
        F.first("rules").alias("rules"), F.count(F.lit(1)).alias("occurrences")
    )
    return grouped.select(
        F.lit(rules.table).alias("table"),
        "row_key",
        F.sha2("row", 256).alias("row_hash"),
        "rules",
        "row",
        "occurrences",
        F.lit(run_id).alias("run_id"),
        F.current_timestamp().alias("quarantined_at"),
    )


def quarantine_changes(blocked: DataFrame, current: DataFrame, scope: DataFrame | None) -> DataFrame:
    """The MERGE source: blocked rows new or changed (``_op`` upsert), stale rows (``_op`` delete).

    Args:
        blocked: this run's quarantine rows of one table (:func:`blocked_rows`).
        current: the quarantine's rows of the same table.
        scope: one column ``row_key``: the keys whose stale rows may be deleted; None: all.
    """
    upserts = blocked.join(current.select(*_COMPARED), on=_COMPARED, how="left_anti").withColumn("_op", F.lit("upsert"))
    stale = current.select("table", "row_key", "row_hash").join(
        blocked.select("row_key", "row_hash"), on=["row_key", "row_hash"], how="left_anti"
    )
    if scope is not None:
        stale = stale.join(scope, on="row_key", how="left_semi")
    deletes = stale.select(
        *[
            F.col(f.name) if f.name in stale.columns else F.lit(None).cast(f.dataType).alias(f.name)
            for f in QUARANTINE_SCHEMA
        ],
        F.lit("delete").alias("_op"),
    )
    return upserts.unionByName(deletes)


def merge_quarantine(
    spark: SparkSession, changes: DataFrame, target_ref: tables.TableRef, table: str, run_id: str
) -> tables.MergeResult:
    """Applies :func:`quarantine_changes` to the quarantine in one MERGE (none when empty).

    Example:
        >>> merge_quarantine(spark, changes, quarantine_ref, "gold.fct_tickets", "r1")  # doctest: +SKIP
        MergeResult(table='gold.quarantine', inserted=2, updated=0, deleted=1, version=5)
    """
    condition = (
        f"t.`table` = '{table}' AND t.`table` = s.`table` AND t.row_key = s.row_key AND t.row_hash = s.row_hash"
    )
    commit = {"run_id": run_id, "step": "quality", "table": table}
    ops = changes.select(*[f.name for f in QUARANTINE_SCHEMA], "_op")
    return tables.apply_ops(spark, ops, target_ref, condition, commit)


def current_quarantine(spark: SparkSession, target_ref: tables.TableRef, table: str) -> DataFrame:
    """The quarantine's rows of ``table``; the quarantine is created (empty) when missing."""
    if not tables.exists(spark, target_ref):
        tables.create_if_missing(spark, target_ref, spark.createDataFrame([], QUARANTINE_SCHEMA))
    return spark.read.format("delta").load(target_ref.path).where(F.col("table") == F.lit(table))


def append_results(
    spark: SparkSession, target_ref: tables.TableRef, shares: Sequence[RuleShare], run_id: str, step: str
) -> int | None:
    """Appends one row per rule (:data:`RESULTS_SCHEMA`) to ``ops.dq_results``.

    The table is created when missing; one written by an earlier version gains the newer
    columns (``mergeSchema``).

    Returns:
        The Delta version written, None when there was nothing to append.

    Example:
        >>> share = RuleShare("gold.t", "r", "unique", "block", 9, 0, 0.01)
        >>> append_results(spark, results_ref, [share], "r1", "gold_tickets")  # doctest: +SKIP
        3
    """
    if not shares:
        return None
    tables.create_if_missing(spark, target_ref, spark.createDataFrame([], RESULTS_SCHEMA))
    data = [
        {"run_id": run_id, "table": s.table, "rule": s.rule, "check": s.check, "severity": s.severity,
         "checked": s.checked, "failed": s.failed, "step": step, "share": s.share, "threshold": s.threshold,
         "alarm": s.alarm}
        for s in shares
    ]
    columns = [(f.name, f.dataType.simpleString()) for f in RESULTS_SCHEMA.fields if f.name != "recorded_at"]
    df = literal_rows(spark, data, columns).withColumn("recorded_at", F.current_timestamp())
    meta = json.dumps({"run_id": run_id, "step": step, "table": shares[0].table}, sort_keys=True)
    df.select(*RESULTS_SCHEMA.fieldNames()).write.format("delta").mode("append").option(
        "mergeSchema", "true"
    ).option("userMetadata", meta).save(target_ref.path)
    return delta.latest_version(spark, target_ref.path)
