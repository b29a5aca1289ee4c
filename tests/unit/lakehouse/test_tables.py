"""tables.row_hash: the change-detection hash of a row (inline data, no table written)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from careplus_spark.lakehouse import tables


def test_row_hash_tells_null_empty_and_shifted_values_apart(spark: SparkSession) -> None:
    rows = [("a", None), ("a", ""), (None, "a"), ("", "a"), ("a", "b"), ("ab", None), (None, None)]
    df = spark.createDataFrame(rows, "x STRING, y STRING")
    hashes = [r[0] for r in df.select(tables.row_hash(["x", "y"])).collect()]
    assert len(set(hashes)) == len(rows)
    again = [r[0] for r in df.select(tables.row_hash(["x", "y"])).collect()]
    assert again == hashes  # deterministic


def test_row_hash_ignores_an_optional_column_while_it_is_null(spark: SparkSession) -> None:
    df = spark.createDataFrame([("a", "b", None), ("a", "b", "c")], "x STRING, y STRING, extra STRING")
    plain = df.select(tables.row_hash(["x", "y"]).alias("h")).collect()
    drifted = df.select(tables.row_hash(["x", "y"], optional=["extra"]).alias("h")).collect()
    assert drifted[0].h == plain[0].h  # an all-NULL new column changes no hash
    assert drifted[1].h != plain[1].h  # a value in it does
