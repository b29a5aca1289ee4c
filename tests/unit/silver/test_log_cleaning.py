"""Each silver.logs cleaning rule on small inline data (chispa comparisons)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from careplus_spark.errors import ConfigError
from careplus_spark.silver.log_cleaning import (
    RULE_TIMESTAMP,
    boolean,
    clean_logs,
    cpu_percent,
    load_log_mappings,
    normalise_level,
    response_ms,
)

MAPPINGS = load_log_mappings()
RAW = (
    "ts string, level string, service string, ticket_id string, session_id string, ip string, "
    "response_time string, cpu string, event_type string, error string, user_agent string, message string, "
    "debug string, trace_id string, _source_file string, _offset long, log_date date"
)


def one_column(spark: SparkSession, values: list[str | None]) -> DataFrame:
    return spark.createDataFrame(list(enumerate(values)), "i int, v string")


def expected(spark: SparkSession, values: list[object], kind: str) -> DataFrame:
    return spark.createDataFrame(list(enumerate(values)), f"i int, v {kind}")


def assert_rows(actual: DataFrame, want: DataFrame) -> None:
    assert_df_equality(actual, want, ignore_row_order=True, ignore_nullable=True)


def test_levels_are_normalised_in_any_case(spark: SparkSession) -> None:
    df = one_column(spark, ["INF0", "debg", " warnING ", "EROR", "Info", "TRACE", None])
    out = df.select("i", normalise_level(F.col("v"), MAPPINGS.levels).alias("v"))
    assert_rows(out, expected(spark, ["INFO", "DEBUG", "WARNING", "ERROR", "INFO", None, None], "string"))


def test_negative_and_malformed_response_times_become_null(spark: SparkSession) -> None:
    df = one_column(spark, ["1269ms", "-749ms", "0ms", "12 ms", "fast", "99999999999ms", None])
    out = df.select("i", response_ms(F.col("v")).alias("v"))
    assert_rows(out, expected(spark, [1269, None, 0, 12, None, None, None], "int"))


def test_cpu_percent_in_range_only(spark: SparkSession) -> None:
    df = one_column(spark, ["27.64%", "100%", "100.5%", "-3%", "abc", "80"])
    out = df.select("i", cpu_percent(F.col("v")).alias("v"))
    assert_rows(out, expected(spark, [27.64, 100.0, None, None, None, 80.0], "double"))


def test_error_flag_is_boolean(spark: SparkSession) -> None:
    df = one_column(spark, ["false", "TRUE", " True ", "maybe", None])
    out = df.select("i", boolean(F.col("v"), MAPPINGS.true_values, MAPPINGS.false_values).alias("v"))
    assert_rows(out, expected(spark, [False, True, True, None, None], "boolean"))


def block(ts: str = "2025-07-01 00:21:00", level: str = "INFO", rt: str = "1269ms", trace: str = "None",
          offset: int = 0) -> tuple:
    return (ts, level, "careplus.support.GenericService", "TCK0701000", "sess_TCK0701000", "60.130.155.7", rt,
            "27.64%", "generic_event", "false", "PostmanRuntime/7.32.2", " event for TCK0701000", "ℹ️ Logged", trace,
            "file:/l/a.log", offset, dt.date(2025, 7, 1))


@pytest.fixture
def cleaned(spark: SparkSession) -> DataFrame:
    """Three blocks: a clean one, the same event with a dirty level, another with bad values."""
    rows = [block(), block(level="INF0", offset=500), block(rt="-5ms", trace="abc-123", offset=900)]
    return spark.createDataFrame(rows, RAW).transform(clean_logs(MAPPINGS))


def test_clean_logs_types_values_and_nulls(spark: SparkSession, cleaned: DataFrame) -> None:
    t, day = dt.datetime(2025, 7, 1, 0, 21), dt.date(2025, 7, 1)
    want = spark.createDataFrame(
        [
            (0, t, "INFO", 1269, 27.64, False, None, day, None),
            (500, t, "INFO", 1269, 27.64, False, None, day, None),
            (900, t, "INFO", None, 27.64, False, "abc-123", day, None),  # negative time: NULL; a real trace id kept
        ],
        "_offset long, timestamp timestamp, log_level string, response_time_ms int, cpu_percent double, "
        "error boolean, trace_id string, log_date date, _rule string",
    )
    columns = ["_offset", "timestamp", "log_level", "response_time_ms", "cpu_percent", "error", "trace_id", "log_date",
               "_rule"]
    assert_rows(cleaned.select(*columns), want)


def test_event_id_is_the_same_for_the_same_normalised_event_only(cleaned: DataFrame) -> None:
    ids = {r["_offset"]: r["event_id"] for r in cleaned.collect()}
    assert ids[500] == ids[0]  # INF0 and INFO: the same normalised event
    assert ids[900] != ids[0]


def test_unparseable_timestamp_breaks_the_blocking_rule(spark: SparkSession) -> None:
    df = spark.createDataFrame([block(ts="2025-13-45 99:00:00")], RAW)
    row = df.transform(clean_logs(MAPPINGS)).first()
    assert row.timestamp is None and row._rule == RULE_TIMESTAMP


def test_emoji_text_is_kept(spark: SparkSession) -> None:
    df = spark.createDataFrame([block()], RAW)
    want = spark.createDataFrame([("ℹ️ Logged",)], "debug string")
    assert_df_equality(df.transform(clean_logs(MAPPINGS)).select("debug"), want)


def test_missing_mappings_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        load_log_mappings(tmp_path / "nope.yaml")
