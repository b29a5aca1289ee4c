"""Each cleaning rule of silver.tickets on tiny inline data (chispa comparisons)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from careplus_spark.errors import ConfigError
from careplus_spark.silver import ticket_cleaning as cleaning
from careplus_spark.silver.ticket_cleaning import (
    RULE_CREATED_AT,
    RULE_MISSING_KEY,
    clean_tickets,
    corrected_time_parser,
    load_mappings,
)
from careplus_spark.silver.timestamps import parse_timestamp

MAPPINGS = load_mappings()
RAW = (
    "ticket_id string, created_at string, updated_at timestamp, resolved_at string, agent string, "
    "priority string, num_interactions string, IssUeCat string, channel string, status string, agent_feedback string"
)


def one_column(spark: SparkSession, values: list[str | None]):  # type: ignore[no-untyped-def]
    return spark.createDataFrame([(i, v) for i, v in enumerate(values)], "i int, v string")


def expected(spark: SparkSession, values: list[object], kind: str):  # type: ignore[no-untyped-def]
    return spark.createDataFrame([(i, v) for i, v in enumerate(values)], f"i int, v {kind}")


def test_priority_spellings_case_and_spaces_are_normalised(spark: SparkSession) -> None:
    df = one_column(spark, ["High", "Hgh", " hgh ", "MEDUM", "Medium", "Lw", "  low  ", "urgent", None, ""])
    out = df.select("i", cleaning.map_values(F.col("v"), MAPPINGS.priority).alias("v"))
    want = ["High", "High", "High", "Medium", "Medium", "Low", "Low", None, None, None]
    assert_df_equality(out, expected(spark, want, "string"), ignore_row_order=True, ignore_nullable=True)


def test_status_and_channel_are_normalised(spark: SparkSession) -> None:
    df = one_column(spark, ["open", " RESOLVED", "Escalated ", "closed", "web  form", "E-mail", "pending"])
    out = df.select(
        "i",
        F.coalesce(
            cleaning.map_values(F.col("v"), MAPPINGS.status), cleaning.map_values(F.col("v"), MAPPINGS.channel)
        ).alias("v"),
    )
    want = ["Open", "Resolved", "Escalated", "Closed", "Web Form", "Email", None]
    assert_df_equality(out, expected(spark, want, "string"), ignore_row_order=True, ignore_nullable=True)


def test_invalid_interactions_become_null(spark: SparkSession) -> None:
    df = one_column(spark, ["3", " 15 ", "-999999", "n/a", "N/A", "unknown", "none", "2.5", "", None, "0"])
    out = df.select("i", cleaning.parse_int(F.col("v"), 0, 100000, MAPPINGS.interactions_invalid).alias("v"))
    want = [3, 15, None, None, None, None, None, None, None, None, 0]
    assert_df_equality(out, expected(spark, want, "int"), ignore_row_order=True, ignore_nullable=True)


def test_mixed_timestamp_formats_are_parsed_and_zero_dates_nulled(spark: SparkSession) -> None:
    df = one_column(
        spark,
        [
            "2025-07-01 10:11:12",
            "2025-07-01T10:11:12",
            "01/07/2025 10:11",
            "2025-07-01T10:11:12Z",
            " 2025-07-01 10:11:12 ",
            "0000-00-00 00:00:00",
            "not a date",
            "TBD",
            "n/a",
            "2025-02-30 10:00:00",
            None,
        ],
    )
    with corrected_time_parser(spark):
        out = df.select(
            "i", parse_timestamp(F.col("v"), MAPPINGS.timestamps).alias("v")
        )
        t = dt.datetime(2025, 7, 1, 10, 11, 12)
        want = [t, t, t.replace(second=0), t, t, None, None, None, None, None, None]
        assert_df_equality(out, expected(spark, want, "timestamp"), ignore_row_order=True, ignore_nullable=True)


def test_text_is_trimmed_and_blank_becomes_null(spark: SparkSession) -> None:
    df = one_column(spark, ["Billing  ", "  Alice Johnson", "   ", "Très bon service 👍 "])
    out = df.select("i", cleaning.clean_text(F.col("v")).alias("v"))
    want = ["Billing", "Alice Johnson", None, "Très bon service 👍"]
    assert_df_equality(out, expected(spark, want, "string"), ignore_row_order=True, ignore_nullable=True)


T0 = dt.datetime(2025, 7, 1, 10, 0, 0)
RESOLUTIONS = [
    (1, T0, T0 + dt.timedelta(minutes=90, seconds=59), "Resolved"),
    (2, T0, None, "Open"),
    (3, T0, T0 - dt.timedelta(minutes=5), "Closed"),  # resolved before created: no duration
    (4, T0, None, None),  # unknown status: open while unresolved
    (5, T0, T0 + dt.timedelta(hours=1), None),
    (6, T0, None, "Escalated"),
]


def resolutions(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(RESOLUTIONS, "i int, created timestamp, resolved timestamp, status string")


def test_resolution_minutes_are_whole_minutes_and_never_negative(spark: SparkSession) -> None:
    out = resolutions(spark).select("i", cleaning.minutes_between(F.col("created"), F.col("resolved")).alias("v"))
    want = spark.createDataFrame([(1, 90), (2, None), (3, None), (4, None), (5, 60), (6, None)], "i int, v int")
    assert_df_equality(out, want, ignore_row_order=True, ignore_nullable=True)


def test_open_flag_follows_status_and_resolution(spark: SparkSession) -> None:
    out = resolutions(spark).select(
        "i", cleaning.open_flag(F.col("status"), F.col("resolved"), MAPPINGS.open_statuses).alias("v")
    )
    want = spark.createDataFrame(
        [(1, False), (2, True), (3, False), (4, True), (5, False), (6, True)], "i int, v boolean"
    )
    assert_df_equality(out, want, ignore_row_order=True, ignore_nullable=True)


def raw_tickets(spark: SparkSession) -> DataFrame:
    u = dt.datetime(2025, 7, 2, 8, 0, 0)
    rows = [
        ("TCK0701000 ", "2025-07-01 09:00:00", u, None, "Alice Johnson ", " Hgh", "-999999", "Billing  ", "chat",
         "open", "ok"),
        ("TCK0701001", "TBD", u, "0000-00-00 00:00:00", "Brian Smith", "Lw", "4", "Refund Request", "Phone",
         "Resolved", "x"),
        ("  ", "2025-07-01 09:00:00", u, None, "Brian Smith", "Low", "4", "Billing", "Email", "Closed", "y"),
    ]
    return spark.createDataFrame(rows, RAW)


def test_clean_tickets_normalises_values_and_flags_blocking_rules(spark: SparkSession) -> None:
    with corrected_time_parser(spark):
        out = raw_tickets(spark).transform(clean_tickets(MAPPINGS))
        got = out.select(
            "ticket_id", "priority", "num_interactions", "issue_cat", "channel", "status", "is_open", "_rule"
        )
        want = spark.createDataFrame(
            [
                ("TCK0701000", "High", None, "Billing", "Chat", "Open", True, None),
                ("TCK0701001", "Low", 4, "Refund Request", "Phone", "Resolved", False, RULE_CREATED_AT),
                (None, "Low", 4, "Billing", "Email", "Closed", False, RULE_MISSING_KEY),
            ],
            "ticket_id string, priority string, num_interactions int, issue_cat string, channel string, "
            "status string, is_open boolean, _rule string",
        )
        assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_clean_tickets_parses_every_layout_into_utc_and_resolution_minutes(spark: SparkSession) -> None:
    u = dt.datetime(2025, 7, 2, 8, 0, 0)
    rows = [
        ("T1", "2025/07/01 07:11:00", u, "2025/07/01 08:41:00", "Alice Johnson", "High", "1", "Billing", "Chat",
         "Resolved", "ok"),
        ("T2", "2025-07-01T09:11:00+02:00", u, "1751359260", "Alice Johnson", "High", "1", "Billing", "Chat",
         "Resolved", "ok"),
        ("T3", "01/07/2025 07:11", u, "2025.07.01T08:41:30.5Z", "Alice Johnson", "High", "1", "Billing", "Chat",
         "Resolved", "ok"),
    ]
    with corrected_time_parser(spark):
        out = spark.createDataFrame(rows, RAW).transform(clean_tickets(MAPPINGS))
        got = out.select("ticket_id", F.unix_seconds("created_at").alias("created"), "resolution_time_mins", "_rule")
        created = 1751353860  # 2025-07-01 07:11:00 UTC
        want = spark.createDataFrame(
            [("T1", created, 90, None), ("T2", created, 90, None), ("T3", created, 90, None)],
            "ticket_id string, created bigint, resolution_time_mins int, _rule string",
        )
        assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_clean_tickets_renames_issue_category_and_starts_with_the_silver_columns(spark: SparkSession) -> None:
    with corrected_time_parser(spark):
        out = raw_tickets(spark).transform(clean_tickets(MAPPINGS))
    assert "IssUeCat" not in out.columns
    assert out.columns[: len(cleaning.SILVER_TICKET_COLUMNS)] == list(cleaning.SILVER_TICKET_COLUMNS)


def test_mappings_file_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    text = cleaning.DEFAULT_MAPPINGS.read_text(encoding="utf-8") + "\nseverity:\n  High: [hi]\n"
    bad = tmp_path / "tickets.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"expected exactly the keys .* found .*'severity'"):
        load_mappings(bad)


def test_mappings_spelling_mapped_twice_is_refused(tmp_path: Path) -> None:
    text = cleaning.DEFAULT_MAPPINGS.read_text(encoding="utf-8")
    text = text.replace("Low: [low, lw, lo]", "Low: [low, lw, lo, hgh]")
    bad = tmp_path / "tickets.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"priority spelling 'hgh' maps to both 'High' and 'Low'"):
        load_mappings(bad)
