"""The views' Spark SQL run on inline rows: what each view computes (Spark is the reference engine).

The inputs are temporary views named through the view's table mapping, so nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from careplus_spark.exposure import views

T = dt.datetime
D = dt.date

TICKETS_SCHEMA = (
    "ticket_id string, created_at timestamp, updated_at timestamp, resolved_at timestamp, agent string, "
    "priority string, num_interactions int, issue_cat string, channel string, status string, agent_feedback string, "
    "resolution_time_mins int, is_open boolean, created_date date, created_day_of_week string, created_hour int, "
    "resolution_bucket string, sla_target_hours double, sla_breached boolean"
)
TICKETS = [
    ("T1", T(2025, 7, 1, 8), None, T(2025, 7, 1, 10, 30), "Ann", "High", 3, "Billing", "Chat", "Resolved", None,
     150, False, D(2025, 7, 1), "Tuesday", 8, "Under 1 day", 4.0, False),
    ("T2", T(2025, 7, 1, 9), None, T(2025, 7, 2, 9), "Bob", "High", 2, "Billing", "Phone", "Resolved", None,
     1440, False, D(2025, 7, 1), "Tuesday", 9, "Under 3 days", 4.0, True),
    ("T3", T(2025, 7, 2, 8), None, None, "Bob", "Low", None, None, "Phone", "Open", None,
     None, True, D(2025, 7, 2), "Wednesday", 8, None, 24.0, None),
]
KPI_TICKETS_DAILY = (
    [(D(2025, 6, 30), "High", "Chat", 2, 1, 1), (D(2025, 7, 6), "Low", "Web", 2, 0, 2),
     (D(2025, 7, 7), "Low", "Web", 1, 1, 0)],
    "created_date date, priority string, channel string, tickets long, open_tickets long, resolved_tickets long",
)
KPI_AGENTS_DAILY = (
    [(D(2025, 7, 1), "Ann", 2, 1, 1, 30.0, 1, 1, 2.5), (D(2025, 7, 2), "Ann", 1, 0, 1, 90.0, 1, 0, None),
     (D(2025, 7, 1), "Bob", 4, 0, 4, 60.0, 4, 0, 1.0)],
    "created_date date, agent string, tickets long, open_tickets long, resolved_tickets long, "
    "avg_resolution_time_mins double, sla_evaluated long, sla_breaches long, avg_interactions double",
)
KPI_SERVICE_HOURLY = (
    [(D(2025, 7, 1), 13, "api", 10, 1, 100.0, 900.0, 200.0, 0.1)],
    "log_date date, log_hour int, service string, events long, error_events long, p50_response_time_ms double, "
    "p95_response_time_ms double, avg_response_time_ms double, error_rate double",
)
NAMES = {f"gold.{name}": f"exposure_test_{name}" for name in
         ("fct_tickets", "kpi_tickets_daily", "kpi_agents_daily", "kpi_service_hourly")}


@pytest.fixture(scope="module")
def inputs(spark: Any) -> Iterator[Any]:
    frames = {
        "gold.fct_tickets": spark.createDataFrame(TICKETS, TICKETS_SCHEMA),
        "gold.kpi_tickets_daily": spark.createDataFrame(*KPI_TICKETS_DAILY),
        "gold.kpi_agents_daily": spark.createDataFrame(*KPI_AGENTS_DAILY),
        "gold.kpi_service_hourly": spark.createDataFrame(*KPI_SERVICE_HOURLY),
    }
    for qualified, frame in frames.items():
        frame.createOrReplaceTempView(NAMES[qualified])
    yield spark
    for name in NAMES.values():
        spark.catalog.dropTempView(name)


def rows(spark: Any, view: str) -> list[dict[str, Any]]:
    return [r.asDict() for r in spark.sql(views.query(views.view(view), "spark", NAMES)).collect()]


def test_tickets_enriched_adds_resolution_hours_days_open_and_hours_since_created(inputs: Any) -> None:
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    found = {r["ticket_id"]: r for r in rows(inputs, "v_tickets_enriched")}
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert (found["T1"]["resolution_hours"], found["T2"]["resolution_hours"], found["T3"]["resolution_hours"]) == (
        2.5, 24.0, None)
    assert found["T1"]["days_open"] is None
    assert found["T3"]["days_open"] in {(before.date() - D(2025, 7, 2)).days, (after.date() - D(2025, 7, 2)).days}
    lowest, highest = ((t - T(2025, 7, 2, 8)).total_seconds() / 3600 for t in (before, after))
    assert lowest - 0.01 <= found["T3"]["hours_since_created"] <= highest + 0.01
    assert list(found["T1"])[:19] == TICKETS_SCHEMA.replace(",", "").split()[::2]


def test_top_issue_categories_count_rank_and_share_with_unknown_for_null(inputs: Any) -> None:
    found = {r["issue_cat"]: r for r in rows(inputs, "v_top_issue_categories")}
    assert found["Billing"] == {
        "issue_cat": "Billing", "tickets": 2, "open_tickets": 0, "resolved_tickets": 2,
        "avg_resolution_hours": 13.25, "sla_breach_rate": 0.5, "share_of_tickets": 0.6667, "category_rank": 1,
    }
    assert found["Unknown"] == {
        "issue_cat": "Unknown", "tickets": 1, "open_tickets": 1, "resolved_tickets": 0,
        "avg_resolution_hours": None, "sla_breach_rate": None, "share_of_tickets": 0.3333, "category_rank": 2,
    }


def test_weekly_open_vs_resolved_groups_days_by_their_monday(inputs: Any) -> None:
    found = sorted(rows(inputs, "v_weekly_open_vs_resolved"), key=lambda r: r["week_start"])
    assert found == [
        {"week_start": D(2025, 6, 30), "tickets": 4, "open_tickets": 1, "resolved_tickets": 3, "resolved_share": 0.75},
        {"week_start": D(2025, 7, 7), "tickets": 1, "open_tickets": 1, "resolved_tickets": 0, "resolved_share": 0.0},
    ]


def test_agent_leaderboard_sums_the_days_and_ranks_by_resolved(inputs: Any) -> None:
    found = {r["agent"]: r for r in rows(inputs, "v_agent_leaderboard")}
    assert found["Ann"] == {
        "agent": "Ann", "tickets": 3, "resolved_tickets": 2, "open_tickets": 1, "resolved_share": 0.6667,
        "sla_evaluated": 2, "sla_breaches": 1, "sla_breach_rate": 0.5, "active_days": 2,
        "first_day": D(2025, 7, 1), "last_day": D(2025, 7, 2), "leaderboard_rank": 2,
    }
    assert (found["Bob"]["leaderboard_rank"], found["Bob"]["sla_breach_rate"]) == (1, 0.0)


def test_service_health_hourly_adds_the_hour_as_a_timestamp(inputs: Any) -> None:
    (found,) = rows(inputs, "v_service_health_hourly")
    assert found["hour_start"] == T(2025, 7, 1, 13)
    assert (found["service"], found["events"], found["error_rate"]) == ("api", 10, 0.1)


@pytest.mark.parametrize("name", [v.name for v in views.VIEWS])
def test_spark_parses_the_create_view_statement(spark: Any, name: str) -> None:
    parser = spark._jsparkSession.sessionState().sqlParser()
    assert parser.parsePlan(views.spark_sql(views.view(name))) is not None
