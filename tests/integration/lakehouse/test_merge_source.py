"""MERGE sources must not change between Delta's two scans (issue 13).

Delta reads a MERGE's source twice: to find the target files with matches, then to
rewrite them. A source with other rows in the second scan inserts a row whose match the
first scan missed: the key is doubled. ``delta.run_merge`` (used by every MERGE of the
pipeline) makes Delta fail such a MERGE instead, committing nothing, and keeps the
adaptive empty-join rule from skipping the first scan (which made Delta report a changed
source on the ledger's and silver's MERGEs when nothing had changed).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from careplus_spark.lakehouse import delta, tables
from careplus_spark.platform.config import AppConfig

SCHEMA = "run_id STRING, job STRING, status STRING"


def _history_metric(spark: SparkSession, path: str, name: str) -> int:
    metrics = DeltaTable.forPath(spark, path).history(1).select("operationMetrics").first()[0]
    return int(metrics[name])


def _one_file(spark: SparkSession, path: str, rows: list[tuple[str, ...]], schema: str = SCHEMA) -> None:
    spark.createDataFrame(rows, schema).coalesce(1).write.format("delta").mode("overwrite").save(path)


def _ledger_like_merge(spark: SparkSession, path: str) -> object:
    """The ledger's MERGE of a new step of a run whose earlier steps share the target's only file."""
    source = spark.createDataFrame([("r1", "m", "running")], SCHEMA)
    condition = (
        (F.col("t.run_id") == F.lit("r1")) & (F.col("t.job") == F.lit("m"))
        & (F.col("t.run_id") == F.col("s.run_id")) & (F.col("t.job") == F.col("s.job"))
    )
    return DeltaTable.forPath(spark, path).alias("t").merge(source.alias("s"), condition) \
        .whenMatchedUpdateAll().whenNotMatchedInsertAll()


def test_a_skipped_first_scan_is_counted_not_reported_as_a_changed_source(spark: SparkSession, tmp_path: Path) -> None:
    # The target's file has run r1 (jobs a..z) but no row of job m: data skipping keeps the
    # file, the match finds nothing, and Spark's empty-join rule used to skip the source.
    path = str(tmp_path / "runs")
    _one_file(spark, path, [("r1", "a", "succeeded"), ("r1", "z", "succeeded")])
    delta.run_merge(spark, _ledger_like_merge(spark, path))  # failIfSourceChanged would raise on 0 vs 1
    assert _history_metric(spark, path, "numSourceRows") == 1
    assert _history_metric(spark, path, "numTargetRowsInserted") == 1
    assert sorted(r.job for r in spark.read.format("delta").load(path).collect()) == ["a", "m", "z"]
    # the session's own settings are back
    assert spark.conf.get(delta.FAIL_IF_SOURCE_CHANGED, "false") == "false"


def _late_commit_source(spark: SparkSession, db: Path) -> DataFrame:
    """A JDBC source (SQLite) whose first read commits another row, as a live database would.

    The source table holds (k3, new); reading it (the MERGE's first scan) commits (k1, new),
    which the second scan then sees.
    """
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")  # the reader does not block the late writer
        conn.execute("CREATE TABLE src (id TEXT, v TEXT)")
        conn.execute("INSERT INTO src VALUES ('k3', 'new')")
    where = str(db)

    def commit_late(key):  # type: ignore[no-untyped-def]  # no hints: a plain (not Arrow) UDF
        import sqlite3 as lite

        with lite.connect(where, timeout=30) as conn:
            if conn.execute("SELECT count(*) FROM src").fetchone()[0] == 1:
                conn.execute("INSERT INTO src VALUES ('k1', 'new')")
        return key

    late = F.udf(commit_late, StringType())
    rows = (
        spark.read.format("jdbc").option("url", f"jdbc:sqlite:{db}").option("driver", "org.sqlite.JDBC")
        .option("dbtable", "src").load()
    )
    return rows.select(late(F.col("id")).alias("id"), "v")


def test_a_source_that_changes_between_scans_fails_and_commits_nothing(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "target")
    _one_file(spark, path, [("k1", "old"), ("k2", "old")], "id STRING, v STRING")
    version = delta.latest_version(spark, path)

    def merge(db: Path) -> object:
        source = _late_commit_source(spark, db)
        return DeltaTable.forPath(spark, path).alias("t").merge(source.alias("s"), "t.id = s.id") \
            .whenMatchedUpdateAll().whenNotMatchedInsertAll()

    # Delta materialises a JDBC source ("auto"); "none" stands for a source it trusts, such
    # as a Delta table that another writer changes between the scans.
    with delta.session_conf(spark, {"spark.databricks.delta.merge.materializeSource": "none"}):
        with pytest.raises(Exception, match="source dataset is not deterministic"):
            delta.run_merge(spark, merge(tmp_path / "guarded.db"))
        assert delta.latest_version(spark, path) == version  # nothing committed

        # Without the guard the same MERGE misses k1's match and inserts it again.
        with delta.session_conf(spark, {delta.FAIL_IF_SOURCE_CHANGED: "false"}):
            merge(tmp_path / "unguarded.db").execute()  # type: ignore[attr-defined]
    assert sorted((r.id, r.v) for r in spark.read.format("delta").load(path).collect()) == [
        ("k1", "new"), ("k1", "old"), ("k2", "old"), ("k3", "new")
    ]


def test_the_pipelines_merges_go_through_the_guard(spark: SparkSession, lakehouse: AppConfig) -> None:
    # tables.upsert / apply_ops / sync_keys run their MERGE via run_merge: the case that
    # used to warn (a candidate file without a match) counts its source row.
    ref = tables.TableRef("ops", "merge_guard_runs", lakehouse.lakehouse.root)
    _one_file(spark, ref.path, [("r1", "a", "succeeded"), ("r1", "z", "succeeded")])
    source = spark.createDataFrame([("r1", "m", "running")], SCHEMA)
    result = tables.upsert(spark, source, ref, ["run_id", "job"], target_filter="t.run_id = 'r1' AND t.job = 'm'")
    assert (result.inserted, result.updated) == (1, 0)
    assert _history_metric(spark, ref.path, "numSourceRows") == 1
