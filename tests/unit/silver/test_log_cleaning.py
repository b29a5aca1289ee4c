"""Each silver.logs cleaning rule on small inline data."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

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


def one_column(spark: SparkSession, values: list[str | None]):  # type: ignore[no-untyped-def]
    return spark.createDataFrame([(v,) for v in values], "v string")


def test_levels_are_normalised_in_any_case(spark: SparkSession) -> None:
    df = one_column(spark, ["INF0", "debg", " warnING ", "EROR", "Info", "TRACE", None])
    got = [r[0] for r in df.select(normalise_level(F.col("v"), MAPPINGS.levels)).collect()]
    assert got == ["INFO", "DEBUG", "WARNING", "ERROR", "INFO", None, None]


def test_negative_and_malformed_response_times_become_null(spark: SparkSession) -> None:
    df = one_column(spark, ["1269ms", "-749ms", "0ms", "12 ms", "fast", "99999999999ms", None])
    got = [r[0] for r in df.select(response_ms(F.col("v"))).collect()]
    assert got == [1269, None, 0, 12, None, None, None]


def test_cpu_percent_in_range_only(spark: SparkSession) -> None:
    df = one_column(spark, ["27.64%", "100%", "100.5%", "-3%", "abc", "80"])
    got = [r[0] for r in df.select(cpu_percent(F.col("v"))).collect()]
    assert got == [27.64, 100.0, None, None, None, 80.0]


def test_error_flag_is_boolean(spark: SparkSession) -> None:
    df = one_column(spark, ["false", "TRUE", " True ", "maybe", None])
    got = [r[0] for r in df.select(boolean(F.col("v"), MAPPINGS.true_values, MAPPINGS.false_values)).collect()]
    assert got == [False, True, True, None, None]


def block(ts: str = "2025-07-01 00:21:00", level: str = "INFO", rt: str = "1269ms", trace: str = "None", offset: int = 0) -> tuple:
    return (ts, level, "careplus.support.GenericService", "TCK0701000", "sess_TCK0701000", "60.130.155.7", rt,
            "27.64%", "generic_event", "false", "PostmanRuntime/7.32.2", " event for TCK0701000", "ℹ️ Logged", trace,
            "file:/l/a.log", offset, dt.date(2025, 7, 1))


def test_clean_logs_types_nulls_and_identity(spark: SparkSession) -> None:
    df = spark.createDataFrame([block(), block(level="INF0", offset=500), block(rt="-5ms", trace="abc-123", offset=900)], RAW)
    out = df.transform(clean_logs(MAPPINGS)).orderBy("_offset").collect()
    first, same_event, other = out
    assert first.timestamp == dt.datetime(2025, 7, 1, 0, 21) and first.log_level == "INFO"
    assert first.response_time_ms == 1269 and first.cpu_percent == 27.64 and first.error is False
    assert first.trace_id is None and first.log_date == dt.date(2025, 7, 1) and first._rule is None
    assert same_event.event_id == first.event_id  # INF0 and INFO: the same normalised event
    assert other.event_id != first.event_id and other.response_time_ms is None and other.trace_id == "abc-123"


def test_unparseable_timestamp_breaks_the_blocking_rule(spark: SparkSession) -> None:
    df = spark.createDataFrame([block(ts="2025-13-45 99:00:00")], RAW)
    row = df.transform(clean_logs(MAPPINGS)).first()
    assert row.timestamp is None and row._rule == RULE_TIMESTAMP


def test_emoji_text_is_kept(spark: SparkSession) -> None:
    df = spark.createDataFrame([block()], RAW)
    expected = spark.createDataFrame([("ℹ️ Logged",)], "debug string")
    assert_df_equality(df.transform(clean_logs(MAPPINGS)).select("debug"), expected)


def test_missing_mappings_file_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from careplus_spark.errors import ConfigError

    with pytest.raises(ConfigError, match="nope.yaml"):
        load_log_mappings(tmp_path / "nope.yaml")
