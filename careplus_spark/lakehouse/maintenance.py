"""Table maintenance primitives: what a table holds (live and stored), which partitions commits
touched, OPTIMIZE of those partitions, VACUUM with a retention readers can live with.

The orchestration (which tables, cursors, manifests, the report) is
:mod:`careplus_spark.pipeline.maintain`.

- **Live** files and bytes are the current snapshot's (the newest checksum file, else
  ``DESCRIBE DETAIL``); **stored** ones everything under the table's folder (data files of old
  versions, ``_delta_log``): what VACUUM gives back.
- **Touched partitions** come from the ``add`` actions of the commits after a version, read
  from ``_delta_log`` (no Spark job); when a commit file is gone (log cleanup) the answer is
  "the whole table".
- **OPTIMIZE** packs files below ``min_bytes`` into files of up to ``target_bytes``, only in
  the partitions given (a filter on partition values, which are validated before they reach
  the predicate); files whose deletion vectors mark many rows are rewritten too. It commits
  with ``dataChange=false``: change-feed readers see nothing new.
- **VACUUM** below Delta's floor (:data:`~careplus_spark.platform.config_operate.MIN_RETENTION_HOURS`)
  is refused unless forced.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from careplus_spark.errors import ConfigError
from careplus_spark.lakehouse import delta, delta_log
from careplus_spark.platform.config_operate import MIN_RETENTION_HOURS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_MAX_FILE = "spark.databricks.delta.optimize.maxFileSize"
_MIN_FILE = "spark.databricks.delta.optimize.minFileSize"
_RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
#: How many tasks VACUUM lists the table's folders with: Spark's default is 10,000 (a 2-core machine
#: spent 47-78 s on a six-folder table); the cluster's cores are enough (3.5-5 s there).
_LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
#: Partition values that may be written into an OPTIMIZE filter (dates, booleans, numbers, names).
_SAFE_VALUE = re.compile(r"[A-Za-z0-9 _.:+-]{0,100}")
#: More touched partitions than this: the table is optimized whole (a shorter plan than a long filter).
MAX_LISTED_PARTITIONS = 400

Partition = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class Footprint:
    """A number of files and their bytes."""

    files: int
    bytes: int

    def describe(self) -> str:
        """``12 files, 3.4 MB``"""
        return f"{self.files} files, {self.bytes / 1e6:.1f} MB"


@dataclass(frozen=True)
class Compaction:
    """What one OPTIMIZE did (zeros and no version when it had nothing to pack)."""

    files_removed: int = 0
    files_added: int = 0
    bytes_removed: int = 0
    bytes_added: int = 0
    version: int | None = None


def live(spark: SparkSession, path: str) -> Footprint:
    """The files and bytes of the table's current snapshot (no Spark job when the checksum is there)."""
    found = delta_log.newest_metadata(spark, path)
    if found is not None and "numFiles" in found[1] and "tableSizeBytes" in found[1]:
        return Footprint(int(found[1]["numFiles"]), int(found[1]["tableSizeBytes"]))
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, path).detail().select("numFiles", "sizeInBytes").first()
    return Footprint(int(row["numFiles"] or 0), int(row["sizeInBytes"] or 0)) if row else Footprint(0, 0)


def stored(spark: SparkSession, path: str) -> Footprint:
    """Every file under the table's folder (data of all versions kept, the log), through Hadoop."""
    jvm: Any = spark._jvm
    folder = jvm.org.apache.hadoop.fs.Path(path)
    fs = folder.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[union-attr]
    if not fs.exists(folder):
        return Footprint(0, 0)
    summary = fs.getContentSummary(folder)
    return Footprint(int(summary.getFileCount()), int(summary.getLength()))


def touched_partitions(spark: SparkSession, path: str, after: int) -> set[Partition] | None:
    """The partitions (column/value pairs) of the files added by the commits after version ``after``.

    An unpartitioned table's files give ``()``. Returns None when a commit file of that span is
    gone (the whole table must be considered).
    """
    found: set[Partition] = set()
    versions = [v for v in delta_log.versions(spark, path) if v > after]
    if versions and versions[0] != after + 1:
        return None
    for version in versions:
        actions = delta_log.actions(spark, path, version)
        if actions is None:
            return None
        for action in actions:
            add = action.get("add")
            if add is not None:
                found.add(tuple(sorted((add.get("partitionValues") or {}).items())))
    return found


def partition_filter(partitions: Iterable[Partition]) -> str | None:
    """A predicate selecting exactly these partitions; None for "the whole table" (an unpartitioned
    table, too many partitions, or a value that may not be written into a predicate).

    Example:
        >>> partition_filter([(("log_date", "2025-07-01"),), (("log_date", None),)])
        "(`log_date` = '2025-07-01') OR (`log_date` IS NULL)"
    """
    listed = sorted(partitions, key=lambda p: tuple((c, v or "") for c, v in p))
    if not listed or any(not p for p in listed) or len(listed) > MAX_LISTED_PARTITIONS:
        return None
    terms = []
    for partition in listed:
        parts = []
        for column, value in partition:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", column):
                return None
            if value is None:
                parts.append(f"`{column}` IS NULL")
            elif _SAFE_VALUE.fullmatch(value):
                parts.append(f"`{column}` = '{value}'")
            else:
                return None
        terms.append(" AND ".join(parts))
    return " OR ".join(f"({t})" for t in sorted(terms))


def optimize(
    spark: SparkSession,
    path: str,
    where: str | None,
    target_bytes: int,
    min_bytes: int,
    commit_info: Mapping[str, str] | None = None,
) -> Compaction:
    """OPTIMIZE (bin-packing) of the partitions ``where`` selects (None: all of them)."""
    from delta.tables import DeltaTable

    settings = {_MAX_FILE: str(target_bytes), _MIN_FILE: str(min_bytes)}
    before = delta.latest_version(spark, path)
    with delta.session_conf(spark, settings), delta.commit_metadata(spark, commit_info):
        builder = DeltaTable.forPath(spark, path).optimize()
        if where:
            builder = builder.where(where)
        row = builder.executeCompaction().select(
            "metrics.numFilesRemoved", "metrics.numFilesAdded", "metrics.filesRemoved.totalSize",
            "metrics.filesAdded.totalSize",
        ).first()
    after = delta.latest_version(spark, path)
    if row is None:
        return Compaction(version=after if after != before else None)
    values = [int(v or 0) for v in row]
    return Compaction(*values, version=after if after != before else None)  # type: ignore[misc]


def check_retention(hours: float, force: bool) -> None:
    """Refuses a VACUUM retention below Delta's floor unless forced.

    Raises:
        ConfigError: ``hours`` is below :data:`MIN_RETENTION_HOURS` and ``force`` is not set.
    """
    if hours < MIN_RETENTION_HOURS and not force:
        raise ConfigError(
            f"VACUUM retention {hours:g} h is below {MIN_RETENTION_HOURS:g} h: a query started before the VACUUM "
            "(Athena reading a manifest, a time-travel read, a consumer's change feed) may need the files it would "
            "delete; set maintenance.retention_hours >= 168, or pass --force if no such reader exists"
        )


def vacuum(spark: SparkSession, path: str, retention_hours: float, force: bool = False) -> None:
    """VACUUM keeping files removed less than ``retention_hours`` ago (see :func:`check_retention`)."""
    from delta.tables import DeltaTable

    check_retention(retention_hours, force)
    settings = {_LISTING_PARALLELISM: str(max(2, spark.sparkContext.defaultParallelism))}
    if retention_hours < MIN_RETENTION_HOURS:
        settings[_RETENTION_CHECK] = "false"
    with delta.session_conf(spark, settings):
        DeltaTable.forPath(spark, path).vacuum(retention_hours)


def commit_time(spark: SparkSession, path: str, version: int) -> dt.datetime | None:
    """When ``version`` was committed (its ``commitInfo``); None when its commit file is gone."""
    for action in delta_log.actions(spark, path, version) or ():
        info = action.get("commitInfo")
        if info is not None and "timestamp" in info:
            return dt.datetime.fromtimestamp(int(info["timestamp"]) / 1000, dt.UTC)
    return None


def retention_for_readers(
    spark: SparkSession, path: str, unread: Sequence[int], configured: float, now: dt.datetime
) -> float:
    """The retention (hours) that keeps what readers still need: at least ``configured``, and
    longer than the age of the oldest version a consumer has not read yet (``unread``: the first
    unread version of each consumer), so that its change feed still finds that version's files."""
    hours = configured
    for version in sorted(set(unread))[:1]:
        committed = commit_time(spark, path, version)
        if committed is not None:
            hours = max(hours, (now - committed).total_seconds() / 3600 + 1)
    return hours
