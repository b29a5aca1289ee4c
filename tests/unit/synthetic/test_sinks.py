"""The SQLite ticket sink: the source table's columns, key and updated_at index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from careplus_spark.synthetic import TICKET_COLUMNS, GenerateSpec
from tests.synthetic_support import run


def test_sqlite_schema_and_updated_at_index(tmp_path: Path) -> None:
    run(GenerateSpec(days=1, tickets_per_day=5), tmp_path)
    with sqlite3.connect(tmp_path / "tickets.db") as conn:
        info = conn.execute("PRAGMA table_info(support_tickets)").fetchall()
        indexes = conn.execute("PRAGMA index_list(support_tickets)").fetchall()
        indexed = [conn.execute(f"PRAGMA index_info({i[1]})").fetchall() for i in indexes]
    assert tuple(c[1] for c in info) == TICKET_COLUMNS
    assert {c[1]: (c[2], c[3]) for c in info}["updated_at"] == ("TEXT", 1)
    assert {c[1]: c[5] for c in info}["ticket_id"] == 1
    assert any(cols and cols[0][2] == "updated_at" for cols in indexed)
