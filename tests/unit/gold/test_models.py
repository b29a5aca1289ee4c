"""Gold model values against hand-computed expectations on small inline data (chispa comparisons)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from chispa import assert_approx_df_equality, assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from careplus_spark.gold import models

T0 = dt.datetime(2025, 7, 1, 9, 30, 0)  # a Tuesday
SLA = {"High": 4.0, "Medium": 24.0, "Low": 72.0}
TICKET_SCHEMA = (
    "ticket_id STRING, created_at TIMESTAMP, updated_at TIMESTAMP, resolved_at TIMESTAMP, agent STRING, "
    "priority STRING, num_interactions INT, issue_cat STRING, channel STRING, status STRING, "
    "agent_feedback STRING, resolution_time_mins INT, is_open BOOLEAN"
)
LOG_SCHEMA = (
    "event_id STRING, timestamp TIMESTAMP, log_level STRING, service STRING, ticket_id STRING, "
    "session_id STRING, ip STRING, response_time_ms INT, cpu_percent DOUBLE, event_type STRING, error BOOLEAN, "
    "user_agent STRING, message STRING, debug STRING, trace_id STRING, log_date DATE"
)


def ticket(tid: str, minutes: int | None, priority: str | None = "High", *, is_open: bool = False,
           agent: str | None = "Ann", channel: str | None = "Chat", created: dt.datetime = T0,
           interactions: int | None = 2) -> tuple:
    resolved = None if minutes is None or is_open else created + dt.timedelta(minutes=minutes)
    return (tid, created, created, resolved, agent, priority, interactions, "Billing", channel,
            "Open" if is_open else "Resolved", "ok", None if is_open else minutes, is_open)


def event(eid: str, tid: str | None, ms: int | None, cpu: float | None, level: str = "INFO", *,
          error: bool = False, at: dt.datetime = T0, service: str = "Api") -> tuple:
    return (eid, at, level, service, tid, "s", "10.0.0.1", ms, cpu, "click", error, "ua", "m", "d", None, at.date())


@pytest.fixture
def tickets(spark: SparkSession) -> DataFrame:
    rows = [
        ticket("T59", 59), ticket("T60", 60), ticket("T1439", 1439), ticket("T1440", 1440),
        ticket("T4319", 4319), ticket("T4320", 4320), ticket("TOPEN", None, is_open=True),
        ticket("TLOW", 100, "Low"), ticket("TNOPRIO", 10_000, None, agent=None, channel=None),
        ticket("TMED", 24 * 60 + 1, "Medium", channel="Email", created=T0 + dt.timedelta(days=1, hours=5)),
    ]
    return models.fct_tickets(spark.createDataFrame(rows, TICKET_SCHEMA), SLA)


D1, D2 = dt.date(2025, 7, 1), dt.date(2025, 7, 2)


def assert_rows(actual: DataFrame, expected: DataFrame) -> None:
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


# --------------------------------------------------------------------------- fct_tickets --


def test_fct_tickets_buckets_at_every_edge_and_none_while_open(spark: SparkSession, tickets: DataFrame) -> None:
    expected = spark.createDataFrame(
        [
            ("T59", "Under 1 hour"), ("T60", "Under 1 day"), ("T1439", "Under 1 day"), ("T1440", "Under 3 days"),
            ("T4319", "Under 3 days"), ("T4320", "Over 3 days"), ("TOPEN", None), ("TLOW", "Under 1 day"),
            ("TNOPRIO", "Over 3 days"), ("TMED", "Under 3 days"),
        ],
        "ticket_id STRING, resolution_bucket STRING",
    )
    assert_rows(tickets.select("ticket_id", "resolution_bucket"), expected)


def test_fct_tickets_created_date_day_of_week_and_hour(spark: SparkSession, tickets: DataFrame) -> None:
    expected = spark.createDataFrame(
        [("T59", D1, "Tuesday", 9), ("TMED", D2, "Wednesday", 14)],
        "ticket_id STRING, created_date DATE, created_day_of_week STRING, created_hour INT",
    )
    got = tickets.where(F.col("ticket_id").isin("T59", "TMED"))
    assert_rows(got.select("ticket_id", "created_date", "created_day_of_week", "created_hour"), expected)


def test_fct_tickets_sla_verdicts_follow_the_priority_targets(spark: SparkSession, tickets: DataFrame) -> None:
    expected = spark.createDataFrame(
        [
            ("T59", 4.0, False), ("T60", 4.0, False),
            ("T1439", 4.0, True), ("T1440", 4.0, True), ("T4319", 4.0, True), ("T4320", 4.0, True),  # High: 240 min
            ("TOPEN", 4.0, None),  # open: no verdict yet
            ("TLOW", 72.0, False),  # Low: 72 h
            ("TNOPRIO", None, None),  # no priority, no target
            ("TMED", 24.0, True),  # Medium: 24 h, took 24 h 1 min
        ],
        "ticket_id STRING, sla_target_hours DOUBLE, sla_breached BOOLEAN",
    )
    assert_rows(tickets.select("ticket_id", "sla_target_hours", "sla_breached"), expected)


# ------------------------------------------------------------------------------ fct_logs --


def test_fct_logs_response_and_cpu_buckets_and_log_hour(spark: SparkSession) -> None:
    rows = [
        event("a", "T59", 499, 49.99), event("b", "T59", 500, 50.0), event("c", "T59", 999, 79.99),
        event("d", "T59", 1000, 80.0), event("e", "T59", None, None, at=T0 + dt.timedelta(hours=14)),
    ]
    out = models.fct_logs(spark.createDataFrame(rows, LOG_SCHEMA))
    expected = spark.createDataFrame(
        [
            ("a", "Fast", "Low", 9), ("b", "Normal", "Medium", 9), ("c", "Normal", "Medium", 9),
            ("d", "Slow", "High", 9), ("e", None, None, 23),
        ],
        "event_id STRING, response_bucket STRING, cpu_load STRING, log_hour INT",
    )
    assert_rows(out.select("event_id", "response_bucket", "cpu_load", "log_hour"), expected)


def test_fct_logs_columns(spark: SparkSession) -> None:
    out = models.fct_logs(spark.createDataFrame([event("a", "T59", 499, 49.99)], LOG_SCHEMA))
    assert tuple(out.columns) == models.FCT_LOGS_COLUMNS


# ---------------------------------------------------------------- fct_ticket_log_summary --

LATER = T0 + dt.timedelta(hours=2)
SUMMARY_METRICS = (
    "ticket_id", "total_log_events", "total_errors", "total_warnings", "total_debug_events", "avg_response_time_ms",
    "max_response_time_ms", "avg_cpu_percent", "first_log_at", "last_log_at",
)


@pytest.fixture
def summary(spark: SparkSession, tickets: DataFrame) -> DataFrame:
    logs = models.fct_logs(spark.createDataFrame([
        event("a", "T59", 100, 10.0, "INFO"),
        event("b", "T59", 300, 20.0, "ERROR", at=LATER),
        event("c", "T59", None, 33.0, "WARNING", error=True),  # an error flag on a warning counts as error
        event("d", "T59", 200, None, "DEBUG"),
        event("x", "T-UNKNOWN", 5000, 99.0, "ERROR"),  # unknown ticket: in no summary row
        event("n", None, 5000, 99.0, "ERROR"),
    ], LOG_SCHEMA))
    return models.fct_ticket_log_summary(tickets, logs)


def test_summary_has_one_row_per_ticket_and_none_for_unknown_tickets(summary: DataFrame, tickets: DataFrame) -> None:
    assert_rows(summary.select("ticket_id"), tickets.select("ticket_id"))


def test_summary_counts_and_metrics_of_a_ticket_with_logs_and_one_without(
    spark: SparkSession, summary: DataFrame
) -> None:
    expected = spark.createDataFrame(
        [
            ("T59", 4, 2, 1, 1, 200.0, 300, 21.0, T0, LATER),
            ("T60", 0, 0, 0, 0, None, None, None, None, None),  # no logs: zero counts, no metrics
        ],
        "ticket_id STRING, total_log_events BIGINT, total_errors BIGINT, total_warnings BIGINT, "
        "total_debug_events BIGINT, avg_response_time_ms DOUBLE, max_response_time_ms INT, avg_cpu_percent DOUBLE, "
        "first_log_at TIMESTAMP, last_log_at TIMESTAMP",
    )
    got = summary.where(F.col("ticket_id").isin("T59", "T60")).select(*SUMMARY_METRICS)
    assert_rows(got, expected)


# ------------------------------------------------------------------------------------ KPIs --


def test_daily_ticket_kpis_by_priority_and_channel(spark: SparkSession, tickets: DataFrame) -> None:
    expected = spark.createDataFrame(
        [
            # 7 High/Chat tickets: 6 resolved (59..4320 min), 1 open; breaches: all but T59 and T60 (> 240 min)
            (D1, "High", "Chat", 7, 1, 6, exact_mean(59, 60, 1439, 1440, 4319, 4320), 6, 4, round(4 / 6, 4)),
            (D1, "Low", "Chat", 1, 0, 1, 100.0, 1, 0, 0.0),
            (D1, "Unknown", "Unknown", 1, 0, 1, 10_000.0, 0, 0, None),  # no priority: no SLA verdict
            (D2, "Medium", "Email", 1, 0, 1, 1441.0, 1, 1, 1.0),
        ],
        "created_date DATE, priority STRING, channel STRING, tickets BIGINT, open_tickets BIGINT, "
        "resolved_tickets BIGINT, avg_resolution_time_mins DOUBLE, sla_evaluated BIGINT, sla_breaches BIGINT, "
        "sla_breach_rate DOUBLE",
    )
    assert_rows(models.kpi_tickets_daily(tickets), expected)


def exact_mean(*values: float) -> float:
    """The mean as Spark computes it from decimal(20,6) sums: 10 decimals, half up; not rounded further."""
    mean = Decimal(sum(Decimal(str(v)) for v in values)) / Decimal(len(values))
    return float(mean.quantize(Decimal("1e-10"), ROUND_HALF_UP))


def test_averages_are_exact_unless_a_precision_is_configured(spark: SparkSession, tickets: DataFrame) -> None:
    cpu = [46.0, 46.5, 46.885, 46.5]  # mean 46.47125: rounding to 3 decimals would make it 46.471
    rows = [event(f"c{i}", "T59", 100, value, at=T0 + dt.timedelta(minutes=i)) for i, value in enumerate(cpu)]
    logs = models.fct_logs(spark.createDataFrame(rows, LOG_SCHEMA))

    exact = models.fct_ticket_log_summary(tickets, logs).where("ticket_id = 'T59'").first()
    rounded = models.fct_ticket_log_summary(tickets, logs, average_decimals=2).where("ticket_id = 'T59'").first()

    assert exact is not None and rounded is not None
    assert exact["avg_cpu_percent"] == 46.47125 and rounded["avg_cpu_percent"] == 46.47


def test_agent_kpis(spark: SparkSession, tickets: DataFrame) -> None:
    resolved_by_ann = (59, 60, 1439, 1440, 4319, 4320, 100)
    expected = spark.createDataFrame(
        [
            (D1, "Ann", 8, 1, 7, exact_mean(*resolved_by_ann), 7, 4, 2.0, round(4 / 7, 4)),
            (D1, "Unknown", 1, 0, 1, 10_000.0, 0, 0, 2.0, None),
            (D2, "Ann", 1, 0, 1, 1441.0, 1, 1, 2.0, 1.0),
        ],
        "created_date DATE, agent STRING, tickets BIGINT, open_tickets BIGINT, resolved_tickets BIGINT, "
        "avg_resolution_time_mins DOUBLE, sla_evaluated BIGINT, sla_breaches BIGINT, avg_interactions DOUBLE, "
        "sla_breach_rate DOUBLE",
    )
    assert_rows(models.kpi_agents_daily(tickets), expected)


def test_hourly_service_health_percentiles_and_error_rate(spark: SparkSession) -> None:
    rows = [event(f"e{i}", "T59", ms, 1.0, "ERROR" if i < 2 else "INFO", at=T0 + dt.timedelta(minutes=i))
            for i, ms in enumerate([100, 200, 300, 400, None])]
    rows.append(event("other-hour", "T59", 50, 1.0, at=T0 + dt.timedelta(hours=1)))
    out = models.kpi_service_hourly(models.fct_logs(spark.createDataFrame(rows, LOG_SCHEMA)))
    expected = spark.createDataFrame(
        [
            # p50 exact, interpolated over 100..400; p95 = 300 + 0.85 * 100 (up to floating point)
            (D1, 9, "Api", 5, 2, 250.0, 385.0, 250.0, 0.4),
            (D1, 10, "Api", 1, 0, 50.0, 50.0, 50.0, 0.0),
        ],
        "log_date DATE, log_hour INT, service STRING, events BIGINT, error_events BIGINT, "
        "p50_response_time_ms DOUBLE, p95_response_time_ms DOUBLE, avg_response_time_ms DOUBLE, error_rate DOUBLE",
    )
    assert_approx_df_equality(out, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)
