"""Pure parts of the run ledger: error text (redacted by `secrets.redact`, tested there), cursor diffs."""

from __future__ import annotations

import datetime as dt

from careplus_spark.pipeline.ledger import (
    ERROR_CHARS,
    ERROR_LINES,
    LedgerEntry,
    cursor_changes,
    error_text,
)


def test_error_text_names_the_class_and_keeps_the_first_lines_without_stack_frames() -> None:
    message = (
        "boom\n: org.x.SQLException: no such table\n\tat org.x.A.b(A.java:1)\n\t... 21 more\n"
        "\tSuppressed: org.apache.spark.util.Utils$OriginalTryStackTraceException: Full stacktrace\n"
        "\t\tat org.x.C.d(C.java:2)\nCaused by: y"
    )
    assert error_text(RuntimeError(message)) == "RuntimeError: boom\n: org.x.SQLException: no such table\nCaused by: y"


def test_error_text_is_capped_in_lines_and_characters() -> None:
    many = error_text(ValueError("\n".join(f"line {i}" for i in range(100))))
    assert len(many.splitlines()) == ERROR_LINES and many.splitlines()[-1] == f"line {ERROR_LINES - 1}"
    long = error_text(ValueError("x" * 10_000))
    assert len(long) == ERROR_CHARS and long.endswith("...")


def test_error_text_redacts() -> None:
    assert error_text(ConnectionError("login failed, password=s3cr3t")) == "ConnectionError: login failed, password=***"


def test_cursor_changes_keeps_only_what_moved_appeared_or_vanished() -> None:
    before = {"a": "1", "same": "x", "gone": "9", "was_null": None}
    after = {"a": "2", "same": "x", "new": "0", "was_null": "5"}
    assert cursor_changes(before, after) == (
        {"a": "1", "gone": "9", "new": None, "was_null": None},
        {"a": "2", "gone": None, "new": "0", "was_null": "5"},
    )


def test_cursor_changes_of_equal_readings_is_empty() -> None:
    assert cursor_changes({"a": "1"}, {"a": "1"}) == ({}, {})


def test_ledger_entry_row_follows_the_schema_order() -> None:
    started = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    entry = LedgerEntry("r1", "ingest_logs", "local", started, versions={"bronze.logs": 3}, detail="d")
    row = entry.row()
    assert row[:6] == ("r1", "ingest_logs", "local", started, None, "running")
    assert row[11:] == ({"bronze.logs": 3}, {}, {}, None, "d", None)
