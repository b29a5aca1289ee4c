"""bronze.logs: every log block as it came, plus lineage; file-level incremental.

One row per block read by the JVM record reader, keyed by ``(_source_file, _offset)``.
Well-formed blocks carry their raw field values (dirty values and source duplicates
kept) and no ``_raw`` (NULL: their fields are the block, as it came, and storing the text
twice doubled the bytes written); malformed ones carry ``_parse_error`` and their raw
text in ``_raw``, and are also copied to ``bronze.logs_quarantine`` with file, offset,
raw text and reason. Per file: ``blocks = parsed + quarantined`` (recorded in the ledger
``ops.log_files``).

Writes: the rows of every file read in this run replace that file's earlier rows in one
atomic Delta commit (an overwrite selecting ``_source_file`` by a Column condition, the
``replaceWhere`` of the DataFrameWriterV2 API: no SQL text is built from a path).
Re-reading a file therefore never duplicates it, a changed file replaces its rows, and a
crash between the bronze commit and the ledger update is repaired by the next run reading
the same files again.
When no row of those files is in the table yet (the usual run: new files only), the
commit is a plain append, which replaces nothing just the same: with the change data
feed on, a ``replaceWhere`` on a data column also writes every inserted row a second
time into ``_change_data``, while the feed derives an append's inserts from its data
files; a missing table is created holding the rows (one commit). Delta file statistics
are collected for ``_source_file`` only (the column files are skipped by); the Parquet is
zstd, without dictionaries or min/max statistics (:data:`WRITE_CONF`).

Files that vanish (``sources.logs.on_missing``): a file the ledger knows and the source no
longer lists is marked ``missing`` in ``ops.log_files``. With ``keep`` (the default) its
rows stay; with ``retract`` its rows leave ``bronze.logs`` and ``bronze.logs_quarantine``
in the same step (a Delta DELETE by ``_source_file``, before the ledger is updated, so a
crash in between retracts again), and the change data feed carries the deletes to
silver.logs and the gold log models on the same run. Retraction covers every file the
ledger holds as missing, so switching from ``keep`` to ``retract`` retracts the files that
vanished earlier too; it is skipped (with a warning) when the source lists no file at all,
which looks more like an unmounted or emptied source than a retention policy. A file
that comes back is read again like a changed one.

Partitioning: by ``log_date`` (the day in the block's timestamp; NULL for malformed
blocks). Daily files map to one partition, and silver recomputes exactly the days a run
touched, so its MERGE reads and rewrites only those partitions. A finer key (hour, file)
would produce many small files; none would make every silver refresh scan all history.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from careplus_spark.lakehouse import catalog, delta, tables
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.sources import file_ledger
from careplus_spark.sources.files import SourceFile, list_files
from careplus_spark.sources.log_reader import FIELD_COLUMNS, read_log_blocks, take_block_counts

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)
STEP = "ingest_logs"
PARTITION = "log_date"
#: bronze.logs_quarantine: the malformed block, where it was, why, lineage.
QUARANTINE_COLUMNS = ("_source_file", "_offset", "_raw", "_reason", "_ingested_at", "_run_id")
#: Columns with Delta file statistics: ``_source_file``, which ``replaceWhere`` and the
#: "rows of these files?" check skip files by. Nothing else in bronze is selected by range:
#: silver reads whole ``log_date`` partitions, the quarantine copy the NULL one.
STATS_COLUMNS = ("_source_file",)
#: bronze.logs keeps change data so that silver can find the days a run touched.
BRONZE_PROPERTIES = {
    **catalog.BRONZE_LOGS.properties,
    "delta.dataSkippingStatsColumns": ",".join(STATS_COLUMNS),
}


#: Parquet writers a write task may keep open at once, one per ``log_date`` it meets (a
#: split of a daily file meets its day and NULL, one spanning two files a few more). With
#: this, Spark writes rows as they come; without it (Spark's default, 0) a partitioned
#: write first sorts each task's rows by the partition column, which copied and sorted
#: every row and made up about a third of the write's CPU. A task meeting more dates
#: than this sorts only the rest (Spark's fallback), so the limit bounds memory
#: (a buffered row group per open writer), not correctness.
MAX_OPEN_WRITERS = 4
#: Session settings around a bronze write (``parquet.*`` keys reach the Parquet writer
#: through the session's Hadoop configuration, for new and existing tables alike). Measured
#: on 4 M events in a warm JVM (issue 15): no dictionary encoding (most columns have one
#: value per block, and hashing the others, long user agents and the file path of every
#: row, cost more than it saved) and no Parquet min/max statistics (nothing reads bronze
#: by a range of them), with zstd instead of snappy: the write 15 % faster and its files
#: 22 % smaller than dictionaries, statistics and snappy.
WRITE_CONF = {
    "spark.sql.maxConcurrentOutputFileWriters": str(MAX_OPEN_WRITERS),
    "spark.sql.parquet.compression.codec": "zstd",
    "parquet.enable.dictionary": "false",
    "parquet.column.statistics.enabled": "false",
}


def to_bronze(blocks: DataFrame, run_id: str) -> DataFrame:
    """The reader's rows in bronze.logs' shape: raw fields, lineage (``_raw`` only for malformed
    blocks), ``log_date``."""
    return blocks.select(
        *FIELD_COLUMNS,
        F.col("source_file").alias("_source_file"),
        F.col("offset").alias("_offset"),
        F.when(F.col("parse_error").isNotNull(), F.col("raw")).alias("_raw"),
        F.col("parse_error").alias("_parse_error"),
        F.current_timestamp().alias("_ingested_at"),
        F.lit(run_id).alias("_run_id"),
        # the reader only accepts a ts starting with dddd-dd-dd: a cast reads that as
        # yyyy-MM-dd (NULL for an impossible date) at a fraction of a pattern's cost
        F.expr("try_cast(substring(ts, 1, 10) AS date)").alias(PARTITION),
    )


def file_predicate(paths: Sequence[str]) -> Column:
    """A Column condition selecting the rows of the given source files (paths are literals, never SQL).

    Example:
        >>> bronze.where(file_predicate(["file:/logs/it's.log"]))  # doctest: +SKIP
    """
    return F.col("_source_file").isin([F.lit(p) for p in paths])


def replace_files(
    spark: SparkSession,
    df: DataFrame,
    table: tables.TableRef,
    paths: Sequence[str],
    run_id: str,
    partition_by: Sequence[str] = (),
    properties: dict[str, str] | None = None,
) -> int | None:
    """Atomically replaces the rows of ``paths`` in ``table`` with ``df``; returns the version.

    One commit: the table created with ``df`` when missing, an append when it holds no row of
    ``paths`` (nothing to replace; cheaper, see the module doc), else an overwrite with
    ``replaceWhere``.

    Example:
        >>> replace_files(spark, rows, TableRef("bronze", "logs", root), ["file:/l/a.log"], run_id)  # doctest: +SKIP
        4
    """
    predicate = file_predicate(paths)
    metadata = {"run_id": run_id, "step": STEP}
    with delta.session_conf(spark, WRITE_CONF):
        if not tables.exists(spark, table):  # created holding the rows: one commit
            return tables.create_with_rows(spark, table, df, partition_by, properties, metadata).version
        tables.register(spark, table)
        option = json.dumps(metadata, sort_keys=True)
        if not has_rows(spark, table, predicate):
            df.write.format("delta").option("userMetadata", option).mode("append").save(table.path)
        else:  # replaceWhere by a Column: Delta records it as the commit's predicate
            df.writeTo(delta.quote_path(table.path)).option("userMetadata", option).overwrite(predicate)
    return delta.latest_version(spark, table.path)


def has_rows(spark: SparkSession, table: tables.TableRef, predicate: Column) -> bool:
    """True when ``table`` has a row matching ``predicate`` (file statistics skip the rest)."""
    return bool(spark.read.format("delta").load(table.path).where(predicate).select(F.lit(1)).limit(1).collect())


def delete_files(
    spark: SparkSession, table: tables.TableRef, paths: Sequence[str], run_id: str
) -> tuple[int, int | None]:
    """Deletes the rows of ``paths`` from ``table`` (one DELETE by a Column condition).

    Returns:
        (rows deleted, the new version); (0, None) when the table holds no row of them
        (Delta commits nothing then) or does not exist.

    Example:
        >>> delete_files(spark, bronze, ["file:/logs/app-2025-07-01-0.log"], ctx.run_id)  # doctest: +SKIP
        (412, 9)
    """
    from delta.tables import DeltaTable

    if not paths or not tables.exists(spark, table):
        return 0, None
    before = delta.latest_version(spark, table.path)
    with delta.commit_metadata(spark, {"run_id": run_id, "step": STEP}):
        DeltaTable.forPath(spark, table.path).delete(file_predicate(paths))
    last = delta.last_commit(spark, table.path)
    if last is None or last.version == before:
        return 0, None
    return int(last.metrics.get("numDeletedRows") or 0), last.version


@dataclass(frozen=True)
class Vanished:
    """What a run did about files the source no longer lists.

    ``retracted`` is None when rows were kept (``keep``, or retraction skipped).
    """

    missing: int = 0
    noticed: int = 0
    retracted: int | None = None
    skipped: bool = False
    versions: Mapping[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """The step detail's part, e.g. ``; 2 missing (1 newly), 412 rows retracted``; empty when none."""
        if not self.missing:
            return ""
        text = f"; {self.missing} missing ({self.noticed} newly)"
        if self.skipped:
            return text + ", retraction skipped: the source lists no file"
        return text + (", rows kept" if self.retracted is None else f", {self.retracted} rows retracted")


def settle_missing(
    spark: SparkSession, ctx: RunContext, listed: Sequence[SourceFile], known: Mapping[str, file_ledger.LedgerEntry]
) -> Vanished:
    """Marks the ledger's unlisted files ``missing``; with ``on_missing: retract`` deletes their rows first.

    The deletes come before the ledger update: a crash in between leaves the files
    ``ingested`` in the ledger, so the next run retracts (finding nothing left) and marks them.
    """
    gone, noticed = file_ledger.vanished(listed, dict(known))
    if not gone:
        return Vanished()
    retracted, skipped, versions = None, False, {}
    if ctx.cfg.sources.logs.on_missing == "retract":
        if listed:
            retracted = 0
            for table in (catalog.BRONZE_LOGS, catalog.BRONZE_LOGS_QUARANTINE):
                deleted, version = delete_files(spark, ctx.ref(table), gone, ctx.run_id)
                retracted += deleted if table is catalog.BRONZE_LOGS else 0
                if version is not None:
                    versions[table.qualified] = version
        else:
            skipped = True
            log.warning("log source %s lists no file while the ledger holds %d: not retracting their rows",
                        ctx.cfg.sources.logs.path, len(gone))
    ledger = ctx.ref(catalog.LOG_FILES)
    version = file_ledger.mark_missing(spark, ledger, noticed, ctx.run_id)
    if version is not None:
        versions[ledger.qualified] = version
    return Vanished(len(gone), len(noticed), retracted, skipped, versions)


def reader_counts(
    spark: SparkSession, key: str, table: tables.TableRef, version: int | None
) -> dict[str, file_ledger.FileCounts] | None:
    """Blocks, parsed and malformed per file as counted by the reader's tasks during the write.

    Trusted only when they add up to the rows of the commit ``version`` (its
    ``numOutputRows``): a plan executed twice, a task stopped early or a ``replaceWhere``
    that rewrote earlier rows would break the equality. None when they do not (count from
    the data then, :func:`per_file_counts`).
    """
    counted = take_block_counts(spark, key)
    if counted is None or version is None or any(bad is None for _, bad in counted.values()):
        return None
    last = delta.last_commit(spark, table.path)
    if last is None or last.version != version:
        return None
    written = last.metrics.get("numOutputRows")
    if written is None or int(written) != sum(blocks for blocks, _ in counted.values()):
        return None
    return {
        path: file_ledger.FileCounts(path, blocks, blocks - int(bad or 0), int(bad or 0))
        for path, (blocks, bad) in counted.items()
    }


def per_file_counts(spark: SparkSession, table: tables.TableRef, run_id: str) -> dict[str, file_ledger.FileCounts]:
    """Blocks, parsed and malformed per file, from the rows this run wrote (one aggregate)."""
    rows = (
        spark.read.format("delta")
        .load(table.path)
        .where(F.col("_run_id") == run_id)
        .groupBy("_source_file")
        .agg(F.count(F.lit(1)).alias("blocks"), F.count("_parse_error").alias("bad"))
        .collect()
    )
    return {
        r._source_file: file_ledger.FileCounts(r._source_file, int(r.blocks), int(r.blocks - r.bad), int(r.bad))
        for r in rows
    }


def quarantine(spark: SparkSession, ctx: RunContext, paths: Sequence[str]) -> int | None:
    """Copies this run's malformed blocks to bronze.logs_quarantine (replacing those files').

    A malformed block has no ``ts``, hence a NULL ``log_date``: the ``log_date IS NULL``
    predicate (implied by the others) prunes the read to that one partition instead of
    every file the run wrote.
    """
    rows = (
        spark.read.format("delta")
        .load(ctx.ref(catalog.BRONZE_LOGS).path)
        .where(F.col(PARTITION).isNull() & (F.col("_run_id") == ctx.run_id) & F.col("_parse_error").isNotNull())
        .withColumnRenamed("_parse_error", "_reason")
        .select(*QUARANTINE_COLUMNS)
    )
    return replace_files(spark, rows, ctx.ref(catalog.BRONZE_LOGS_QUARANTINE), paths, ctx.run_id)


def ingest(spark: SparkSession, ctx: RunContext) -> StepResult:
    """Reads new, changed and forced log files and replaces their rows in bronze; settles vanished files.

    Example:
        >>> ingest(spark, RunContext(load_config("local"))).detail  # doctest: +SKIP
        '7 files: 1 new, 0 changed, 0 forced, 6 unchanged; 1 missing (1 newly), 412 rows retracted'
    """
    started = time.monotonic()
    source = ctx.cfg.sources.logs
    by_checksum = source.change_detection == "checksum"
    listed = list_files(spark, source.path, source.pattern, checksum=by_checksum)
    known = file_ledger.load(spark, ctx.ref(catalog.LOG_FILES))
    selection = file_ledger.select(listed, known, ctx.reprocess, ctx.since, by_checksum=by_checksum)
    detail = (
        f"{len(listed)} files: {len(selection.new)} new, {len(selection.changed)} changed, "
        f"{len(selection.forced)} forced, {len(selection.unchanged)} unchanged"
    )
    read = read_files(spark, ctx, selection.to_read, known) if selection.to_read else StepResult(step=STEP)
    vanished = settle_missing(spark, ctx, listed, known)
    return StepResult(
        step=STEP,
        rows_read=read.rows_read,
        rows_written=read.rows_written,
        rows_quarantined=read.rows_quarantined,
        versions={**read.versions, **vanished.versions},
        seconds=time.monotonic() - started,
        detail=detail + vanished.describe(),
    )


def read_files(
    spark: SparkSession, ctx: RunContext, files: Sequence[SourceFile], known: Mapping[str, file_ledger.LedgerEntry]
) -> StepResult:
    """Reads ``files`` into bronze (replacing their earlier rows), the quarantine and the ledger."""
    ledger = ctx.ref(catalog.LOG_FILES)
    paths = [f.path for f in files]
    bronze = ctx.ref(catalog.BRONZE_LOGS)
    # the reader's tasks count blocks per file while the rows are written: no second pass
    key = f"{ctx.run_id}-{uuid.uuid4().hex}"
    rows = to_bronze(read_log_blocks(spark, paths, counts_key=key), ctx.run_id)
    version = replace_files(spark, rows, bronze, paths, ctx.run_id, catalog.BRONZE_LOGS.partition_by, BRONZE_PROPERTIES)
    versions = {bronze.qualified: version}
    counts = reader_counts(spark, key, bronze, version)
    if counts is None:
        counts = per_file_counts(spark, bronze, ctx.run_id)
    versions[catalog.BRONZE_LOGS_QUARANTINE.qualified] = quarantine(spark, ctx, paths)
    recorded = file_ledger.record(spark, ledger, files, counts, ctx.run_id, known=known.keys())
    if recorded.version is not None:
        versions[ledger.qualified] = recorded.version
    blocks = sum(c.blocks for c in counts.values())
    bad = sum(c.quarantined for c in counts.values())
    return StepResult(
        step=STEP,
        rows_read=blocks,
        rows_written=blocks - bad,
        rows_quarantined=bad,
        versions={k: v for k, v in versions.items() if v is not None},
    )
