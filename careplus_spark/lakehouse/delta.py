"""Delta Lake plumbing shared by every layer: paths in, facts and DataFrames out.

Nothing here knows a table of the lakehouse by name; callers pass a table's path.

- :func:`session_conf`: Spark SQL settings for the duration of a block.
- :func:`commit_metadata`: ``userMetadata`` for the commits made inside a block.
- :func:`table_info` / :func:`latest_version` / :func:`last_commit`: identity, version and
  the latest commit's metrics, from the log.
- :func:`own_commit`: the commit that carries given ``userMetadata``, read from the
  ``_delta_log`` JSON files directly (no ``DESCRIBE HISTORY`` job).
- :func:`snapshot` / :func:`change_feed` / :func:`enable_change_feed`: reading a table
  at a version, reading its change data feed, turning the feed on.
- :func:`add_missing_columns` / :func:`align_to`: schema evolution by added columns.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

#: How many recent commits :func:`table_info` returns (newest first).
HISTORY_DEPTH = 100
#: How many log files :func:`own_commit` reads past its first version at most.
OWN_COMMIT_SEARCH = 100
_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
CHANGE_FEED = "delta.enableChangeDataFeed"


@dataclass(frozen=True)
class TableInfo:
    """Identity, size and properties of a Delta table (from ``DESCRIBE DETAIL``).

    Attributes:
        table_id: the Delta table id (a recreated table gets a new one).
        version: the latest version.
        num_files: data files of the latest version.
        properties: table properties.
        commits: (version, userMetadata) of the latest :data:`HISTORY_DEPTH` commits, newest first.
    """

    table_id: str
    version: int
    num_files: int
    properties: Mapping[str, str]
    commits: tuple[tuple[int, str | None], ...] = ()

    @property
    def change_feed(self) -> bool:
        """True when the table records a change data feed."""
        return self.properties.get(CHANGE_FEED, "false").lower() == "true"


@dataclass(frozen=True)
class Commit:
    """One commit of a table's log: its version, operation metrics, (new) table id and time."""

    version: int
    metrics: Mapping[str, str]
    table_id: str | None = None
    timestamp: Any = None


def is_delta(spark: SparkSession, path: str) -> bool:
    """True when a Delta table exists at ``path``."""
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, path))


def table_info(spark: SparkSession, path: str) -> TableInfo | None:
    """The table id, latest version, file count, properties and recent commits; None if no table."""
    if not is_delta(spark, path):
        return None
    from delta.tables import DeltaTable

    target = DeltaTable.forPath(spark, path)
    detail = target.detail().select("id", "numFiles", "properties").first()
    history = target.history(HISTORY_DEPTH).select("version", "userMetadata").collect()
    commits = tuple(sorted(((int(r["version"]), r["userMetadata"]) for r in history), reverse=True))
    return TableInfo(
        table_id=str(detail["id"]),  # type: ignore[index]
        version=commits[0][0] if commits else 0,
        num_files=int(detail["numFiles"] or 0),  # type: ignore[index]
        properties=dict(detail["properties"] or {}),  # type: ignore[index]
        commits=commits,
    )


def last_commit(spark: SparkSession, path: str) -> Commit | None:
    """The latest commit of the table at ``path`` (version and operation metrics)."""
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, path).history(1).select("version", "operationMetrics", "timestamp").first()
    if row is None:
        return None
    return Commit(int(row["version"]), dict(row["operationMetrics"] or {}), timestamp=row["timestamp"])


def latest_version(spark: SparkSession, path: str) -> int:
    """The latest version of the table at ``path`` (-1 when its log holds no commit)."""
    commit = last_commit(spark, path)
    return commit.version if commit is not None else -1


def size_bytes(spark: SparkSession, path: str) -> int:
    """The size of the table's current data files (``DESCRIBE DETAIL``'s ``sizeInBytes``)."""
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, path).detail().select("sizeInBytes").first()
    return int(row["sizeInBytes"] or 0) if row else 0


@contextlib.contextmanager
def session_conf(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    """Sets Spark SQL settings for the enclosed block, then restores the earlier values.

    Example:
        >>> with session_conf(spark, {"spark.sql.parquet.compression.codec": "zstd"}):  # doctest: +SKIP
        ...     df.write.format("delta").save(path)
    """
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, previous in before.items():
            if previous is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, previous)


@contextlib.contextmanager
def commit_metadata(spark: SparkSession, metadata: Mapping[str, str] | None) -> Iterator[None]:
    """Commits made inside the block carry ``metadata`` as JSON ``userMetadata``.

    For writers without a ``userMetadata`` option (MERGE, UPDATE, DELETE).
    """
    if not metadata:
        yield
        return
    with session_conf(spark, {_USER_METADATA: json.dumps(dict(metadata), sort_keys=True)}):
        yield


def own_commit(spark: SparkSession, path: str, metadata: Mapping[str, str], first: int) -> Commit | None:
    """The commit whose ``userMetadata`` is ``metadata``, searching versions from ``first`` on.

    Reads ``_delta_log/<version>.json`` through Hadoop's file system (so object stores
    work too) until that commit; None when the log has no such commit.
    """
    jvm: Any = spark._jvm
    conf = spark._jsc.hadoopConfiguration()  # type: ignore[union-attr]
    log_dir = jvm.org.apache.hadoop.fs.Path(f"{path}/_delta_log")
    fs = log_dir.getFileSystem(conf)
    expected = dict(metadata)
    for version in range(first, first + OWN_COMMIT_SEARCH):
        entry = jvm.org.apache.hadoop.fs.Path(log_dir, f"{version:020d}.json")
        if not fs.exists(entry):
            return None
        stream = fs.open(entry)
        try:
            text = jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()
        actions = [json.loads(line) for line in str(text).splitlines() if line.strip()]
        info: dict[str, Any] = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
        try:
            mine = json.loads(info.get("userMetadata") or "null") == expected
        except ValueError:
            mine = False
        if mine:
            table_id = next((a["metaData"].get("id") for a in actions if "metaData" in a), None)
            return Commit(version, dict(info.get("operationMetrics") or {}), table_id)
    return None


def snapshot(spark: SparkSession, path: str, version: int) -> DataFrame:
    """The table at ``path`` as of ``version``."""
    return spark.read.format("delta").option("versionAsOf", version).load(path)


def change_feed(spark: SparkSession, path: str, since: int, until: int) -> DataFrame | None:
    """The change data feed of versions ``since+1 .. until``; None when it is unavailable.

    Unavailable: the feed was off for some of those versions, or its files are gone. The
    feed is resolved here (its schema), so the caller falls back before any job runs.

    Example:
        >>> change_feed(spark, path, 3, 5).select("ticket_id", "_change_type")  # doctest: +SKIP
    """
    from pyspark.errors import AnalysisException

    try:
        feed = (
            spark.read.format("delta")
            .option("readChangeFeed", "true")
            .option("startingVersion", since + 1)
            .option("endingVersion", until)
            .load(path)
        )
        feed.schema  # noqa: B018 - resolves the feed now: an unavailable one fails here
    except AnalysisException as exc:
        log.warning("change data feed of %s unavailable for versions %d..%d (%s)",
                    path, since + 1, until, str(exc).splitlines()[0][:200])
        return None
    return feed


def quote_path(path: str) -> str:
    """``delta.`<path>``` with backticks in the path escaped, for DDL that takes no API."""
    return "delta.`" + path.replace("`", "``") + "`"


def enable_change_feed(spark: SparkSession, path: str, info: TableInfo) -> bool:
    """Turns the change data feed on for a table created without it.

    The feed starts at the next version; readers of older versions fall back to a
    snapshot. Returns:
        True when this call turned it on.
    """
    if info.change_feed:
        return False
    log.warning("%s has no change data feed; turning it on", path)
    spark.sql(f"ALTER TABLE {quote_path(path)} SET TBLPROPERTIES ('{CHANGE_FEED}' = 'true')")
    return True


def add_missing_columns(spark: SparkSession, path: str, frame: DataFrame) -> list[str]:
    """Adds the columns that ``frame`` has and the table lacks (schema evolution).

    Returns:
        The names of the columns added.
    """
    present = set(spark.read.format("delta").load(path).columns)
    new = [f for f in frame.schema.fields if f.name not in present]
    if not new:
        return []
    columns = ", ".join("`" + f.name.replace("`", "``") + "` " + f.dataType.simpleString() for f in new)
    spark.sql(f"ALTER TABLE {quote_path(path)} ADD COLUMNS ({columns})")
    return [f.name for f in new]


def align_to(spark: SparkSession, frame: DataFrame, path: str) -> tuple[DataFrame, list[str]]:
    """``frame`` in the table's column order and types; the table's other columns as NULL.

    Returns:
        (the aligned frame, the table columns ``frame`` lacked)
    """
    from pyspark.sql import functions as F

    target = spark.read.format("delta").load(path).schema
    gone = [f.name for f in target.fields if f.name not in frame.columns]
    aligned = frame.select(
        *[
            (F.col(f"`{f.name}`") if f.name in frame.columns else F.lit(None)).cast(f.dataType).alias(f.name)
            for f in target.fields
        ]
    )
    return aligned, gone
