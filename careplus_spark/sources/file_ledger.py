"""The ledger of processed log files (``ops.log_files``): file-level incremental ingest.

One row per file path: size, modification time, content digest (``checksum``, only with
``sources.logs.change_detection: checksum``), the run that last ingested it, its block
counts and status. A run reads only files that are new, changed (size or modification
time differ; with ``checksum`` also the digest, or none recorded yet), not recorded as
``ingested``, or forced with ``--reprocess PATH`` / ``--since DATE``.

A file the ledger knows that the source no longer lists is marked ``missing``, with the
time it was noticed (``missing_at``); its counts and run id stay those of its last
ingest. A missing file that comes back is not ``ingested``, so it is read again.

The ledger is an optimisation, not the source of truth for idempotency: bronze replaces
all rows of every file it re-reads in one atomic commit, so a crash between the bronze
commit and the ledger update only makes the next run read those files again, with the
same result.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from careplus_spark.lakehouse import delta, tables
from careplus_spark.lakehouse.rows import literal_rows, parse_schema
from careplus_spark.sources.files import SourceFile

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LEDGER_SCHEMA = (
    "path string, size long, modified_ms long, run_id string, blocks long, parsed long, "
    "quarantined long, status string, ingested_at timestamp, checksum string, missing_at timestamp"
)
#: Statuses: read and in bronze; no longer listed at the source.
INGESTED, MISSING = "ingested", "missing"


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger knows of one file."""

    path: str
    size: int
    modified_ms: int
    status: str
    checksum: str | None = None


@dataclass(frozen=True)
class FileCounts:
    """Blocks of one file after a run: ``blocks == parsed + quarantined``."""

    path: str
    blocks: int
    parsed: int
    quarantined: int


@dataclass(frozen=True)
class Selection:
    """The listed files split by what the run must do with them."""

    new: tuple[SourceFile, ...]
    changed: tuple[SourceFile, ...]
    forced: tuple[SourceFile, ...]
    unchanged: tuple[SourceFile, ...]

    @property
    def to_read(self) -> tuple[SourceFile, ...]:
        return self.new + self.changed + self.forced


def load(spark: SparkSession, ledger: tables.TableRef) -> dict[str, LedgerEntry]:
    """The ledger as a dict by path (empty before the first run)."""
    from pyspark.sql import functions as F

    if not tables.exists(spark, ledger):
        return {}
    df = spark.read.format("delta").load(ledger.path)
    digest = F.col("checksum") if "checksum" in df.columns else F.lit(None).cast("string")  # a ledger from before
    rows = df.select("path", "size", "modified_ms", "status", digest.alias("checksum")).collect()
    return {r.path: LedgerEntry(r.path, int(r.size), int(r.modified_ms), r.status, r.checksum) for r in rows}


def select(
    listed: Sequence[SourceFile],
    known: dict[str, LedgerEntry],
    reprocess: Sequence[str] = (),
    since: dt.date | None = None,
    *,
    by_checksum: bool = False,
) -> Selection:
    """Splits listed files into new / changed / forced / unchanged.

    Args:
        reprocess: paths or path prefixes to read again even when unchanged.
        since: files modified on or after this date (UTC) are read again.
        by_checksum: a listed file whose digest differs from the recorded one is changed,
            even with the same size and modification time; so is one without a recorded
            digest (ingested before checksums were on: its content is unknown).
    """
    since_ms = None
    if since is not None:
        since_ms = int(dt.datetime.combine(since, dt.time(), dt.UTC).timestamp() * 1000)
    new, changed, forced, unchanged = [], [], [], []
    for file in listed:
        entry = known.get(file.path)
        if entry is None:
            new.append(file)
        elif _changed(file, entry, by_checksum):
            changed.append(file)
        elif _matches(file.path, reprocess) or (since_ms is not None and file.modified_ms >= since_ms):
            forced.append(file)
        else:
            unchanged.append(file)
    return Selection(tuple(new), tuple(changed), tuple(forced), tuple(unchanged))


def _changed(file: SourceFile, entry: LedgerEntry, by_checksum: bool) -> bool:
    if entry.status != INGESTED or (entry.size, entry.modified_ms) != (file.size, file.modified_ms):
        return True
    return by_checksum and (entry.checksum is None or entry.checksum != file.checksum)


def vanished(listed: Sequence[SourceFile], known: dict[str, LedgerEntry]) -> tuple[list[str], list[str]]:
    """The ledger's files the source no longer lists: (all of them, those not marked missing yet).

    Example:
        >>> known = {p: LedgerEntry(p, 1, 1, INGESTED) for p in ("a", "b")} | {"c": LedgerEntry("c", 1, 1, MISSING)}
        >>> vanished([SourceFile("a", 1, 1)], known)
        (['b', 'c'], ['b'])
    """
    present = {f.path for f in listed}
    gone = sorted(path for path in known if path not in present)
    return gone, [path for path in gone if known[path].status != MISSING]


def mark_missing(spark: SparkSession, ledger: tables.TableRef, paths: Sequence[str], run_id: str) -> int | None:
    """Sets status ``missing`` and ``missing_at`` (now) on the ledger rows of ``paths``; returns the version.

    One UPDATE selecting the rows by a Column condition (no SQL text from a path); nothing
    is written (None) when ``paths`` is empty.

    Example:
        >>> mark_missing(spark, ledger, ["file:/logs/app-2025-07-01-0.log"], ctx.run_id)  # doctest: +SKIP
        7
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    if not paths:
        return None
    _add_new_columns(spark, ledger)
    with delta.commit_metadata(spark, {"run_id": run_id, "step": "ingest_logs"}):
        DeltaTable.forPath(spark, ledger.path).update(
            condition=F.col("path").isin(list(paths)) & (F.col("status") != F.lit(MISSING)),
            set={"status": F.lit(MISSING), "missing_at": F.current_timestamp()},
        )
    return delta.latest_version(spark, ledger.path)


def _add_new_columns(spark: SparkSession, ledger: tables.TableRef) -> None:
    """Adds the columns a ledger written by an earlier release lacks (``checksum``, ``missing_at``)."""
    if tables.exists(spark, ledger):
        delta.add_missing_columns(spark, ledger.path, spark.createDataFrame([], LEDGER_SCHEMA))


def _matches(path: str, prefixes: Sequence[str]) -> bool:
    for prefix in prefixes:
        bare = prefix.removeprefix("file:")
        if path == prefix or path.removeprefix("file:").startswith(bare):
            return True
    return False


def record(
    spark: SparkSession,
    ledger: tables.TableRef,
    files: Sequence[SourceFile],
    counts: dict[str, FileCounts],
    run_id: str,
    known: Collection[str] | None = None,
) -> tables.MergeResult:
    """Upserts the ledger rows of the files this run read (status ``ingested``, no ``missing_at``).

    ``known`` is the set of paths the ledger held when the run started (the keys of
    :func:`load`): when none of ``files`` is among them (a run of new files only, the usual
    case), their rows are appended in one plain commit, as a MERGE would only insert them
    too, at the cost of several Spark jobs (a join of the new rows with the ledger). Without
    ``known``, or when a file is in it, the rows are MERGEd by path.

    Example:
        >>> record(spark, ledger, selection.to_read, counts, ctx.run_id, known=entries.keys())  # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    rows = []
    for file in files:
        c = counts.get(file.path, FileCounts(file.path, 0, 0, 0))
        rows.append({"path": file.path, "size": file.size, "modified_ms": file.modified_ms, "run_id": run_id,
                     "blocks": c.blocks, "parsed": c.parsed, "quarantined": c.quarantined, "status": INGESTED,
                     "checksum": file.checksum})
    df = literal_rows(spark, rows, parse_schema(LEDGER_SCHEMA)).withColumn("ingested_at", F.current_timestamp())
    commit_info = {"run_id": run_id, "step": "ingest_logs"}
    if not tables.exists(spark, ledger):  # the first run: created holding its rows, one commit
        return tables.create_with_rows(spark, ledger, df, commit_info=commit_info)
    _add_new_columns(spark, ledger)
    if known is None or any(file.path in known for file in files) or len({f.path for f in files}) != len(files):
        return tables.upsert(spark, df, ledger, keys=["path"], commit_info=commit_info)
    df.write.format("delta").mode("append").option("userMetadata", json.dumps(commit_info, sort_keys=True)).save(
        ledger.path
    )
    return tables.MergeResult(ledger.qualified, len(rows), 0, 0, delta.latest_version(spark, ledger.path))
