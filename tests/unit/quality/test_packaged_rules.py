"""The packaged gold rule files against rows with the gold tables' exact columns."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from careplus_spark.quality import load_rules
from careplus_spark.quality.checks import failure_columns, flag_rules

T0 = dt.datetime(2025, 7, 1, 9, 30)
TICKETS = (
    "ticket_id STRING, created_at TIMESTAMP, updated_at TIMESTAMP, resolved_at TIMESTAMP, agent STRING, "
    "priority STRING, num_interactions INT, issue_cat STRING, channel STRING, status STRING, agent_feedback STRING, "
    "resolution_time_mins INT, is_open BOOLEAN, created_date DATE, created_day_of_week STRING, created_hour INT, "
    "resolution_bucket STRING, sla_target_hours DOUBLE, sla_breached BOOLEAN"
)
LOGS = (
    "event_id STRING, timestamp TIMESTAMP, log_level STRING, service STRING, ticket_id STRING, session_id STRING, "
    "ip STRING, response_time_ms INT, cpu_percent DOUBLE, event_type STRING, error BOOLEAN, user_agent STRING, "
    "trace_id STRING, log_date DATE, log_hour INT, response_bucket STRING, cpu_load STRING"
)
SUMMARY = (
    "ticket_id STRING, priority STRING, status STRING, total_log_events BIGINT, avg_response_time_ms DOUBLE, "
    "max_response_time_ms INT, avg_cpu_percent DOUBLE, total_errors BIGINT, total_warnings BIGINT, "
    "total_debug_events BIGINT, first_log_at TIMESTAMP, last_log_at TIMESTAMP"
)


def broken(df: DataFrame, table: str, references: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """key -> names of the rules the row breaks."""
    rules = load_rules(table)
    flagged = df.transform(flag_rules(rules, references or {})).collect()
    key = rules.key[0]
    return {
        r[key]: [rule.name for rule, col in zip(rules.rules, failure_columns(rules), strict=True) if r[col]]
        for r in flagged
    }


def test_fct_tickets_rules(spark: SparkSession) -> None:
    resolved = T0 + dt.timedelta(minutes=90)
    rows = [
        ("TCK0701000", T0, resolved, resolved, "Ann", "High", 2, "Billing", "Chat", "Resolved", "ok", 90, False,
         T0.date(), "Tuesday", 9, "Under 1 day", 4.0, False),
        ("TCK0701001", T0, T0, None, "Bob", None, 0, None, None, "Open", None, None, True,
         T0.date(), "Tuesday", 9, None, None, None),
        ("TCK0701002", T0, T0, T0 - dt.timedelta(hours=1), "Cy", "Hgh", -1, "x", "Fax", "Done", None, None, True,
         T0.date(), "Tue", 9, "Under 1 hour", -1.0, True),
    ]
    assert broken(spark.createDataFrame(rows, TICKETS), "gold.fct_tickets") == {
        "TCK0701000": [],
        "TCK0701001": [],
        "TCK0701002": [
            "resolved_after_created", "priority_values", "channel_values", "status_values",
            "num_interactions_non_negative", "created_day_of_week_values", "open_ticket_has_no_bucket",
            "sla_target_positive", "open_ticket_has_no_sla_verdict",
        ],
    }


def test_fct_logs_rules(spark: SparkSession) -> None:
    good_id, bad_id = "a" * 64, "b" * 64
    rows = [
        (good_id, T0, "INFO", "careplus.support.GenericService", "TCK0701000", "sess_TCK0701000", "60.130.155.7",
         1269, 27.64, "generic_event", False, "PostmanRuntime/7.32.2", None, T0.date(), 9, "Slow", "Low"),
        (bad_id, T0, "INF0", None, "TCK9901000", None, "999.1.1.1", -5, 100.5, None, None, None, None,
         T0.date() + dt.timedelta(days=1), 24, "Fast", None),
    ]
    tickets = spark.createDataFrame([("TCK0701000",)], "ticket_id STRING")
    assert broken(spark.createDataFrame(rows, LOGS), "gold.fct_logs", {"ticket_exists": tickets}) == {
        good_id: [],
        bad_id: [
            "log_date_matches_timestamp", "log_hour_range", "log_level_values", "response_time_non_negative",
            "cpu_percent_range", "cpu_load_iff_cpu_percent", "service_not_null", "ip_v4_format", "ticket_exists",
        ],
    }


def test_fct_ticket_log_summary_rules(spark: SparkSession) -> None:
    later = T0 + dt.timedelta(minutes=5)
    rows = [
        ("TCK0701000", "High", "Open", 3, 600.0, 900, 40.0, 1, 1, 1, T0, later),
        ("TCK0701001", "Low", "Open", 0, None, None, None, 0, 0, 0, None, None),
        ("TCK0701002", "Low", "Open", 1, 950.0, 900, 140.0, 2, 1, 1, later, T0),
    ]
    assert broken(spark.createDataFrame(rows, SUMMARY), "gold.fct_ticket_log_summary") == {
        "TCK0701000": [],
        "TCK0701001": [],
        "TCK0701002": [
            "level_counts_within_total", "avg_response_time_within_max", "avg_cpu_percent_range",
            "first_log_before_last",
        ],
    }
