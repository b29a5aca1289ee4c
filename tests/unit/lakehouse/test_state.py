"""The state store's pure parts: valid names, and which cursor to resume from (no Spark)."""

from __future__ import annotations

import pytest

from careplus_spark.errors import ConfigError
from careplus_spark.lakehouse import state as cursor_state
from careplus_spark.lakehouse.delta import TableInfo


def info(version: int, table_id: str = "id-1", commits: tuple = ()) -> TableInfo:
    return TableInfo(table_id, version, 1, {}, commits)


# ------------------------------------------------------------------------------ names --


@pytest.mark.parametrize("name", ["tickets:support_tickets", "silver.logs<-bronze.logs"])
def test_check_name_accepts_cursor_and_watermark_names(name: str) -> None:
    assert cursor_state.check_name(name) == name


@pytest.mark.parametrize("name", ["tickets:o'brien", "tickets:a\\b", 'tickets:"t"'])
def test_check_name_refuses_quotes_and_backslashes(name: str) -> None:
    with pytest.raises(ConfigError, match="invalid cursor name"):
        cursor_state.check_name(name)


# ---------------------------------------------------------------------------- resolve --


def test_cursor_recovered_from_a_commit_newer_than_the_state_row() -> None:
    state = cursor_state.CursorState("n", "2025-07-01 10:00:00", table_id="id-1", table_version=3,
                                     attributes={"runs_since_reconcile": "5"})
    meta = '{"cursor_name": "n", "cursor_value": "2025-07-02 10:00:00", "run_id": "r9"}'
    target = info(4, commits=((4, meta), (3, None)))
    committed = cursor_state.latest_commit_cursor(target, "n")
    resolved = cursor_state.resolve(state, committed, target)
    assert (resolved.value, resolved.table_version, dict(resolved.attributes)) == (
        "2025-07-02 10:00:00", 4, {"runs_since_reconcile": "5"})


def test_state_row_wins_when_it_is_at_or_past_the_commit() -> None:
    state = cursor_state.CursorState("n", "2025-07-03 10:00:00", table_id="id-1", table_version=4)
    committed = cursor_state.CursorState("n", "2025-07-02 10:00:00", table_version=4)
    assert cursor_state.resolve(state, committed, info(4)) == state


def test_state_row_of_a_recreated_table_is_ignored() -> None:
    state = cursor_state.CursorState("n", "2025-07-03 10:00:00", table_id="old-id", table_version=9)
    assert cursor_state.resolve(state, None, info(0, table_id="new-id")) is None


def test_no_cursor_without_a_target_table() -> None:
    state = cursor_state.CursorState("n", "2025-07-03 10:00:00", table_id="old-id", table_version=9)
    assert cursor_state.resolve(state, None, None) is None
