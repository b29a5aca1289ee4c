"""updated_at of the generated tickets: inside the write day, shared maxima, late commits."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path

from careplus_spark.synthetic import GenerateSpec
from tests.synthetic_support import CANONICAL_TS, UPDATED_TS, rows, run


def test_updated_at_inside_the_write_day_with_boundary_ties(tmp_path: Path) -> None:
    spec = GenerateSpec(days=1, tickets_per_day=300, updated_at_ties=0.2)
    run(spec, tmp_path)
    table = rows(tmp_path / "tickets.db")
    updated = [r[2] for r in table]
    assert all(UPDATED_TS.match(u) and u.startswith("2025-07-01 ") for u in updated)
    for r in table:
        if CANONICAL_TS.match(r[1]):
            assert r[2] >= r[1], r
    counts = Counter(updated)
    assert counts[max(updated)] >= 2, "the day's maximum updated_at must be shared"
    assert sum(1 for n in counts.values() if n > 1) >= 10


def late_rows(root: Path, rate: float) -> int:
    """Rows committed after a row whose updated_at is over 11 minutes later."""
    spec = GenerateSpec(
        days=1,
        tickets_per_day=300,
        initially_resolved=0.0,
        late_update_fraction=rate,
        updated_at_ties=0.0,
    )
    run(spec, root)
    with sqlite3.connect(root / "tickets.db") as conn:
        ordered = [r[0] for r in conn.execute("SELECT updated_at FROM support_tickets ORDER BY rowid")]
    newest, late = "", 0
    for value in ordered:
        stamp = datetime.fromisoformat(value).timestamp()
        late += bool(newest) and stamp < datetime.fromisoformat(newest).timestamp() - 660
        newest = max(newest, value)
    return late


def test_late_commits_put_earlier_updated_at_after_later_ones(tmp_path: Path) -> None:
    assert late_rows(tmp_path / "none", 0.0) == 0
    assert late_rows(tmp_path / "some", 0.3) >= 20
