"""bronze.logs: one row per log block as it came, plus lineage; malformed blocks quarantined.

Blocks are read by the JVM record reader (:mod:`careplus_spark.sources.log_reader`),
keyed by ``(_source_file, _offset)``. Well-formed blocks go to ``bronze.logs`` with
their raw field values (dirty values and source duplicates kept); malformed ones go to
``bronze.logs_quarantine`` with file, offset, raw text and reason. Every block read
lands in exactly one of the two, so ``read = written + quarantined``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from careplus_spark import tables
from careplus_spark.pipeline.context import RunContext, StepResult
from careplus_spark.sources.files import list_files
from careplus_spark.sources.log_reader import read_log_blocks

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

KEYS = ("_source_file", "_offset")
FIELDS = (
    "ts",
    "level",
    "service",
    "ticket_id",
    "session_id",
    "ip",
    "response_time",
    "cpu",
    "event_type",
    "error",
    "user_agent",
    "message",
    "debug",
    "trace_id",
)


def with_lineage(blocks: DataFrame, run_id: str) -> DataFrame:
    """Renames the reader's position columns and adds ingest time and run id."""
    return (
        blocks.withColumnRenamed("source_file", "_source_file")
        .withColumnRenamed("offset", "_offset")
        .withColumnRenamed("raw", "_raw")
        .withColumn("_ingested_at", F.current_timestamp())
        .withColumn("_run_id", F.lit(run_id))
    )


def good_blocks(df: DataFrame) -> DataFrame:
    """Well-formed blocks in bronze.logs' shape."""
    return df.where(F.col("parse_error").isNull()).select(*FIELDS, *KEYS, "_raw", "_ingested_at", "_run_id")


def bad_blocks(df: DataFrame) -> DataFrame:
    """Malformed blocks in the quarantine's shape."""
    return df.where(F.col("parse_error").isNotNull()).select(
        *KEYS, "_raw", F.col("parse_error").alias("_reason"), "_ingested_at", "_run_id"
    )


def ingest(spark: SparkSession, ctx: RunContext) -> StepResult:
    """Reads every log file under ``sources.logs.path`` and upserts its blocks into bronze."""
    started = time.monotonic()
    source = ctx.cfg.sources.logs
    files = list_files(spark, source.path, source.pattern)
    if not files:
        return StepResult(step="ingest_logs", detail=f"no files matching {source.pattern} under {source.path}")
    blocks = with_lineage(read_log_blocks(spark, [f.path for f in files]), ctx.run_id).cache()
    try:
        rows_read = blocks.count()
        versions: dict[str, int] = {}
        written = quarantined = 0
        for name, frame in (("logs", good_blocks(blocks)), ("logs_quarantine", bad_blocks(blocks))):
            table = ctx.table("bronze", name)
            result = tables.upsert(
                spark,
                frame,
                table,
                keys=list(KEYS),
                update_condition="s._raw <> t._raw",
                commit_info={"run_id": ctx.run_id, "step": "ingest_logs"},
            )
            if result.version is not None:
                versions[table.qualified] = result.version
            count = frame.count()
            if name == "logs":
                written = count
            else:
                quarantined = count
    finally:
        blocks.unpersist()
    return StepResult(
        step="ingest_logs",
        rows_read=rows_read,
        rows_written=written,
        rows_quarantined=quarantined,
        versions=versions,
        seconds=time.monotonic() - started,
        detail=f"{len(files)} files",
    )
