"""Gold model values against hand-computed expectations on small inline data."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import DataFrame, SparkSession

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


def by_id(df: DataFrame, key: str = "ticket_id") -> dict:
    return {r[key]: r.asDict() for r in df.collect()}


def test_fct_tickets_buckets_at_every_edge_and_open_tickets(tickets: DataFrame) -> None:
    rows = by_id(tickets)
    assert {k: rows[k]["resolution_bucket"] for k in ("T59", "T60", "T1439", "T1440", "T4319", "T4320")} == {
        "T59": "Under 1 hour", "T60": "Under 1 day", "T1439": "Under 1 day",
        "T1440": "Under 3 days", "T4319": "Under 3 days", "T4320": "Over 3 days",
    }
    assert rows["TOPEN"]["resolution_bucket"] is None and rows["TOPEN"]["sla_breached"] is None
    first = rows["T59"]
    assert (first["created_date"], first["created_day_of_week"], first["created_hour"]) == (dt.date(2025, 7, 1), "Tuesday", 9)
    assert rows["TMED"]["created_day_of_week"] == "Wednesday" and rows["TMED"]["created_hour"] == 14


def test_fct_tickets_sla_verdicts_follow_the_priority_targets(tickets: DataFrame) -> None:
    rows = by_id(tickets)
    assert rows["T59"]["sla_breached"] is False and rows["T59"]["sla_target_hours"] == 4.0
    assert rows["T1439"]["sla_breached"] is True  # High: 4 h = 240 min
    assert rows["TLOW"]["sla_breached"] is False  # Low: 72 h
    assert rows["TMED"]["sla_breached"] is True  # Medium: 24 h, took 24 h 1 min
    assert rows["TNOPRIO"]["sla_target_hours"] is None and rows["TNOPRIO"]["sla_breached"] is None


def test_fct_logs_response_and_cpu_buckets(spark: SparkSession) -> None:
    rows = [
        event("a", "T59", 499, 49.99), event("b", "T59", 500, 50.0), event("c", "T59", 999, 79.99),
        event("d", "T59", 1000, 80.0), event("e", "T59", None, None, at=T0 + dt.timedelta(hours=14)),
    ]
    out = by_id(models.fct_logs(spark.createDataFrame(rows, LOG_SCHEMA)), "event_id")
    assert [out[k]["response_bucket"] for k in "abcde"] == ["Fast", "Normal", "Normal", "Slow", None]
    assert [out[k]["cpu_load"] for k in "abcde"] == ["Low", "Medium", "Medium", "High", None]
    assert out["a"]["log_hour"] == 9 and out["e"]["log_hour"] == 23
    assert tuple(models.fct_logs(spark.createDataFrame(rows, LOG_SCHEMA)).columns) == models.FCT_LOGS_COLUMNS


def test_summary_counts_metrics_and_keeps_tickets_without_logs(spark: SparkSession, tickets: DataFrame) -> None:
    later = T0 + dt.timedelta(hours=2)
    logs = models.fct_logs(spark.createDataFrame([
        event("a", "T59", 100, 10.0, "INFO"),
        event("b", "T59", 300, 20.0, "ERROR", at=later),
        event("c", "T59", None, 33.0, "WARNING", error=True),  # an error flag on a warning counts as error
        event("d", "T59", 200, None, "DEBUG"),
        event("x", "T-UNKNOWN", 5000, 99.0, "ERROR"),  # unknown ticket: in no summary row
        event("n", None, 5000, 99.0, "ERROR"),
    ], LOG_SCHEMA))
    out = by_id(models.fct_ticket_log_summary(tickets, logs))
    assert set(out) == set(by_id(tickets))
    t = out["T59"]
    assert (t["total_log_events"], t["total_errors"], t["total_warnings"], t["total_debug_events"]) == (4, 2, 1, 1)
    assert t["avg_response_time_ms"] == 200.0 and t["max_response_time_ms"] == 300
    assert t["avg_cpu_percent"] == 21.0
    assert (t["first_log_at"], t["last_log_at"]) == (T0, later)
    none = out["T60"]
    assert (none["total_log_events"], none["total_errors"], none["total_warnings"], none["total_debug_events"]) == (0, 0, 0, 0)
    assert none["avg_response_time_ms"] is None and none["first_log_at"] is None


def test_daily_ticket_kpis_by_priority_and_channel(tickets: DataFrame) -> None:
    rows = {(r["created_date"], r["priority"], r["channel"]): r.asDict() for r in models.kpi_tickets_daily(tickets).collect()}
    high = rows[(dt.date(2025, 7, 1), "High", "Chat")]
    # 7 High/Chat tickets: 6 resolved (59..4320 min), 1 open; breaches: all but T59 (> 240 min)
    assert (high["tickets"], high["open_tickets"], high["resolved_tickets"]) == (7, 1, 6)
    assert high["avg_resolution_time_mins"] == round((59 + 60 + 1439 + 1440 + 4319 + 4320) / 6, 3)
    assert (high["sla_evaluated"], high["sla_breaches"], high["sla_breach_rate"]) == (6, 4, round(4 / 6, 4))
    unknown = rows[(dt.date(2025, 7, 1), "Unknown", "Unknown")]
    assert (unknown["tickets"], unknown["sla_evaluated"], unknown["sla_breaches"], unknown["sla_breach_rate"]) == (1, 0, 0, None)
    assert rows[(dt.date(2025, 7, 2), "Medium", "Email")]["sla_breach_rate"] == 1.0


def test_agent_kpis(tickets: DataFrame) -> None:
    rows = {(r["created_date"], r["agent"]): r.asDict() for r in models.kpi_agents_daily(tickets).collect()}
    ann = rows[(dt.date(2025, 7, 1), "Ann")]
    assert (ann["tickets"], ann["open_tickets"], ann["resolved_tickets"], ann["avg_interactions"]) == (8, 1, 7, 2.0)
    assert rows[(dt.date(2025, 7, 1), "Unknown")]["tickets"] == 1


def test_hourly_service_health_percentiles_and_error_rate(spark: SparkSession) -> None:
    rows = [event(f"e{i}", "T59", ms, 1.0, "ERROR" if i < 2 else "INFO", at=T0 + dt.timedelta(minutes=i))
            for i, ms in enumerate([100, 200, 300, 400, None])]
    rows.append(event("other-hour", "T59", 50, 1.0, at=T0 + dt.timedelta(hours=1)))
    out = {(r["log_hour"], r["service"]): r.asDict() for r in models.kpi_service_hourly(
        models.fct_logs(spark.createDataFrame(rows, LOG_SCHEMA))).collect()}
    nine = out[(9, "Api")]
    assert (nine["events"], nine["error_events"], nine["error_rate"]) == (5, 2, 0.4)
    assert nine["p50_response_time_ms"] == 250.0  # exact, interpolated over 100..400
    assert nine["p95_response_time_ms"] == pytest.approx(385.0)
    assert out[(10, "Api")]["events"] == 1
