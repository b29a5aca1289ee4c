"""bronze.tickets: support tickets exactly as the source holds them, plus lineage.

The source columns keep their values as they came (text stays text, dirty values stay
dirty); the cursor column is typed as a timestamp. Lineage columns: ``_extracted_at``,
``_run_id``, ``_source`` and ``_row_hash`` (a hash of the source values, so that a
re-run with nothing new changes nothing: unchanged rows are not even merged).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from careplus_spark import tables
from careplus_spark.errors import SchemaError
from careplus_spark.pipeline.context import RunContext, StepResult
from careplus_spark.sources.jdbc import jdbc_options, read_jdbc, safe_url

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

KEY = "ticket_id"
CURSOR = "updated_at"
SOURCE_COLUMNS = (
    "ticket_id",
    "created_at",
    "updated_at",
    "resolved_at",
    "agent",
    "priority",
    "num_interactions",
    "IssUeCat",
    "channel",
    "status",
    "agent_feedback",
)


def row_hash(columns: tuple[str, ...]) -> Column:
    """SHA-256 over the given columns as text, NULL-safe (NULL and '' differ)."""
    parts = [F.coalesce(F.col(f"`{c}`").cast("string"), F.lit("\u0000")) for c in columns]
    return F.sha2(F.concat_ws("\u0001", *parts), 256)


def with_lineage(run_id: str, source: str) -> Callable[[DataFrame], DataFrame]:
    """Adds the bronze lineage columns."""

    def transform(df: DataFrame) -> DataFrame:
        return (
            df.withColumn(CURSOR, F.col(CURSOR).cast("timestamp"))
            .withColumn("_row_hash", row_hash(SOURCE_COLUMNS))
            .withColumn("_extracted_at", F.current_timestamp())
            .withColumn("_run_id", F.lit(run_id))
            .withColumn("_source", F.lit(source))
        )

    return transform


def check_columns(df: DataFrame, what: str) -> None:
    """Fails with the missing and present columns when a required column is absent."""
    missing = [c for c in SOURCE_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(what, missing, df.columns)


def changed_rows(spark: SparkSession, extracted: DataFrame, table: tables.TableRef) -> DataFrame:
    """Rows whose key is new or whose source values differ from bronze."""
    if not tables.exists(spark, table):
        return extracted
    current = spark.read.format("delta").load(table.path).select(KEY, "_row_hash")
    return extracted.join(current, on=[KEY, "_row_hash"], how="left_anti")


def ingest(spark: SparkSession, ctx: RunContext) -> StepResult:
    """Extracts the tickets table over JDBC and upserts new or changed rows into bronze.

    Example:
        >>> ingest(spark, RunContext(load_config("local")))  # doctest: +SKIP
        StepResult(step='ingest_tickets', rows_read=300, rows_written=300, ...)
    """
    started = time.monotonic()
    source = ctx.cfg.sources.tickets
    table = ctx.table("bronze", "tickets")
    raw = read_jdbc(spark, source, jdbc_options(source, dbtable=source.table))
    check_columns(raw, f"source table {source.table} at {safe_url(source.url)}")
    extracted = raw.select(*[f"`{c}`" for c in SOURCE_COLUMNS]).transform(
        with_lineage(ctx.run_id, f"{safe_url(source.url)}#{source.table}")
    )
    extracted = extracted.cache()
    try:
        rows_read = extracted.count()
        changes = changed_rows(spark, extracted, table).cache()
        n_changes = changes.count()
        versions: dict[str, int] = {}
        written = updated = 0
        if n_changes or not tables.exists(spark, table):
            result = tables.upsert(
                spark,
                changes,
                table,
                keys=[KEY],
                update_condition="s._row_hash <> t._row_hash",
                commit_info={"run_id": ctx.run_id, "step": "ingest_tickets"},
            )
            written, updated = result.inserted, result.updated
            if result.version is not None:
                versions[table.qualified] = result.version
        changes.unpersist()
    finally:
        extracted.unpersist()
    return StepResult(
        step="ingest_tickets",
        rows_read=rows_read,
        rows_written=written,
        rows_updated=updated,
        rows_skipped=rows_read - written - updated,
        versions=versions,
        seconds=time.monotonic() - started,
    )
