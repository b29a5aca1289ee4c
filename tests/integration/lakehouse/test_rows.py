"""lakehouse.rows: driver-known rows as one JSON text parsed into their types, however many rows."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession

from careplus_spark.lakehouse.rows import literal_rows, parse_schema

SCHEMA = parse_schema("name string, n bigint, at timestamp, versions map<string,bigint>, ok boolean")


def test_rows_keep_their_values_types_and_order_and_a_missing_name_is_null(spark: SparkSession) -> None:
    at = dt.datetime(2025, 7, 1, 2, 3, 4)
    rows = [
        {"name": "a", "n": 1, "at": at, "versions": {"bronze.logs": 3, "ops.runs": 7}, "ok": True},
        {"name": "b", "versions": {}},
        {"name": None, "n": 2**40, "ok": False},
    ]
    df = literal_rows(spark, rows, SCHEMA)
    assert [(f.name, f.dataType.simpleString()) for f in df.schema.fields] == [
        ("name", "string"), ("n", "bigint"), ("at", "timestamp"), ("versions", "map<string,bigint>"), ("ok", "boolean"),
    ]
    assert [r.asDict() for r in df.collect()] == [
        {"name": "a", "n": 1, "at": at, "versions": {"bronze.logs": 3, "ops.runs": 7}, "ok": True},
        {"name": "b", "n": None, "at": None, "versions": {}, "ok": None},
        {"name": None, "n": 2**40, "at": None, "versions": None, "ok": False},
    ]


def test_many_rows_are_one_generator_not_a_union(spark: SparkSession) -> None:
    rows = [{"name": f"file-{i}.log", "n": i} for i in range(600)]
    df = literal_rows(spark, rows, SCHEMA[:2])
    assert df.count() == 600 and df.agg({"n": "sum"}).first()[0] == sum(range(600))
    plan = df._jdf.queryExecution().analyzed().toString()
    assert "Union" not in plan and "Generate" in plan


def test_a_value_that_does_not_fit_its_type_fails_instead_of_vanishing(spark: SparkSession) -> None:
    import pytest

    with pytest.raises(Exception, match=r"(?i)malformed|parse|FAILFAST|cannot"):
        literal_rows(spark, [{"name": "a", "n": "not a number"}], SCHEMA[:2]).collect()
    with pytest.raises(ValueError, match="plain identifiers"):
        literal_rows(spark, [{"x": 1}], [("x` bigint, `y", "bigint")])
