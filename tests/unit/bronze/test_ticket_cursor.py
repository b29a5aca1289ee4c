"""The tickets cursor's name and the reconciliation schedule carried in its attributes."""

from __future__ import annotations

import datetime as dt

import pytest

from careplus_spark.bronze.ticket_cursor import ReconcileSchedule, cursor_name
from careplus_spark.errors import ConfigError
from careplus_spark.lakehouse.state import CursorState
from careplus_spark.platform.config import TicketsSourceConfig
from careplus_spark.platform.secrets import Secret


def source(table: str) -> TicketsSourceConfig:
    return TicketsSourceConfig(url="jdbc:sqlite:/tmp/t.db", table=table, user="", password=Secret.empty())


def test_cursor_name_is_tickets_and_the_source_table() -> None:
    assert cursor_name(source("support_tickets")) == "tickets:support_tickets"


def test_a_table_name_that_could_break_a_cursor_name_is_refused_with_the_source() -> None:
    with pytest.raises(ConfigError, match=r"sources.tickets.table .*must be a table name"):
        cursor_name(source("support'tickets"))


@pytest.mark.parametrize(
    "schedule", [ReconcileSchedule(), ReconcileSchedule(3), ReconcileSchedule(2, dt.datetime(2025, 7, 1, 2, 0, 5, 250))]
)
def test_schedule_round_trips_through_cursor_attributes(schedule: ReconcileSchedule) -> None:
    state = CursorState("tickets:support_tickets", "2025-07-01 10:00:00", attributes=schedule.attributes())
    assert ReconcileSchedule.of(state) == schedule


def test_schedule_attributes_are_text() -> None:
    assert ReconcileSchedule(2, dt.datetime(2025, 7, 1, 2, 0)).attributes() == {
        "runs_since_reconcile": "2", "last_reconciled_at": "2025-07-01T02:00:00"
    }
    assert ReconcileSchedule(0).attributes() == {"runs_since_reconcile": "0"}


@pytest.mark.parametrize(
    "state", [None, CursorState("tickets:support_tickets", "2025-07-01 10:00:00")], ids=["no_state", "no_attributes"]
)
def test_a_cursor_without_a_schedule_gives_a_fresh_one(state: CursorState | None) -> None:
    assert ReconcileSchedule.of(state) == ReconcileSchedule(0, None)


def test_other_attributes_are_ignored() -> None:
    state = CursorState("tickets:t", "x", attributes={"runs_since_reconcile": "4", "other": "y"})
    assert ReconcileSchedule.of(state) == ReconcileSchedule(4, None)
