"""tables.upsert / sync_keys: scoped deletes touch only the scope's files."""

from __future__ import annotations

from pyspark.sql import SparkSession

from careplus_spark.lakehouse import tables
from careplus_spark.platform.config import AppConfig

SCHEMA = "id STRING, day STRING, v INT"


def files_of(spark: SparkSession, ref: tables.TableRef, day: str) -> set[str]:
    df = spark.read.format("delta").load(ref.path).where(f"day = '{day}'")
    return set(df.inputFiles())


def test_scoped_upsert_deletes_vanished_rows_of_the_scope_only(spark: SparkSession, lakehouse: AppConfig) -> None:
    ref = tables.TableRef("gold", "merge_scope", lakehouse.lakehouse.root)
    first = spark.createDataFrame([("a", "d1", 1), ("b", "d1", 2), ("c", "d2", 3), ("d", "d2", 4)], SCHEMA)
    tables.upsert(spark, first, ref, ["id", "day"], partition_by=["day"], delete_unmatched="true")
    d1_files = files_of(spark, ref, "d1")
    again = spark.createDataFrame([("c", "d2", 3), ("e", "d2", 5)], SCHEMA)  # d vanished, e is new
    result = tables.upsert(spark, again, ref, ["id", "day"], partition_by=["day"], update_condition="s.v <> t.v",
                           target_filter="t.day IN ('d2')", delete_unmatched="t.day IN ('d2')")
    assert (result.inserted, result.updated, result.deleted) == (1, 0, 1)
    rows = {(r.id, r.day, r.v) for r in spark.read.format("delta").load(ref.path).collect()}
    assert rows == {("a", "d1", 1), ("b", "d1", 2), ("c", "d2", 3), ("e", "d2", 5)}
    assert files_of(spark, ref, "d1") == d1_files  # the other day's files were not rewritten


def test_sync_keys_inserts_updates_and_deletes_within_the_key_scope(spark: SparkSession, lakehouse: AppConfig) -> None:
    ref = tables.TableRef("gold", "sync_scope", lakehouse.lakehouse.root)
    tables.upsert(spark, spark.createDataFrame([("a", "d1", 1), ("b", "d1", 2), ("c", "d1", 3)], SCHEMA), ref, ["id"])
    scope = spark.createDataFrame([("a",), ("b",), ("z",)], "id STRING")
    rows = spark.createDataFrame([("a", "d1", 10), ("z", "d1", 26)], SCHEMA)  # b is gone, c is outside the scope
    result = tables.sync_keys(spark, rows, ref, "id", scope, key_range=("a", "z"), update_condition="s.v <> t.v")
    assert (result.inserted, result.updated, result.deleted) == (1, 1, 1)
    after = {(r.id, r.v) for r in spark.read.format("delta").load(ref.path).collect()}
    assert after == {("a", 10), ("c", 3), ("z", 26)}
