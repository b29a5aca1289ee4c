"""What ingest_logs reports about vanished files (no Spark)."""

from __future__ import annotations

from careplus_spark.bronze.logs import Vanished


def test_nothing_vanished_adds_nothing_to_the_detail() -> None:
    assert Vanished().describe() == ""


def test_kept_retracted_and_skipped_are_told_apart() -> None:
    assert Vanished(2, 1).describe() == "; 2 missing (1 newly), rows kept"
    assert Vanished(2, 0, retracted=412).describe() == "; 2 missing (0 newly), 412 rows retracted"
    skipped = Vanished(3, 3, skipped=True).describe()
    assert skipped == "; 3 missing (3 newly), retraction skipped: the source lists no file"
