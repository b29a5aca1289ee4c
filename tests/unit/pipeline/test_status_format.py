"""Formatting of the ``careplus status`` sections (no Spark)."""

from __future__ import annotations

from careplus_spark.pipeline.status import FilesSummary, QualitySummary, format_files, format_quality, format_runs


def step(run_id: str, job: str, status: str = "succeeded", **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "run_id": run_id, "env": "local", "job": job, "status": status, "started_at": "2025-07-01 02:00:00",
        "rows_read": 10, "rows_written": 9, "rows_updated": 0, "rows_quarantined": 1, "rows_skipped": 0,
        "seconds": 2.5, "versions": {}, "error": None,
    }
    return {**base, **extra}


def test_runs_are_grouped_with_the_run_id_on_their_first_line_only() -> None:
    text = format_runs([
        step("r2", "ingest_tickets", versions={"bronze.tickets": 4, "a.b": 1}),
        step("r2", "silver_tickets"),
        step("r1", "ingest_tickets"),
    ])
    lines = text.splitlines()[2:]
    assert [line.split()[0] for line in lines] == ["r2", "silver_tickets", "r1"]
    assert lines[0].endswith("a.b@1, bronze.tickets@4")
    assert "errors:" not in text


def test_failed_steps_show_their_error_below_the_table() -> None:
    text = format_runs([step("r1", "ingest_logs", "failed", error="DataError: no files\nsecond\nthird\nfourth")])
    assert text.endswith("errors:\n  r1 ingest_logs: DataError: no files\n    second\n    third")


def test_running_steps_show_without_an_error() -> None:
    text = format_runs([step("r1", "ingest_logs", "running", seconds=None)])
    assert "running" in text.splitlines()[2] and "errors:" not in text


def test_no_runs() -> None:
    assert format_runs([]) == "no runs yet"


def test_files_section_lists_statuses_latest_file_and_files_not_ingested() -> None:
    summary = FilesSummary(
        by_status=(("failed", 1, 0, 0, 0), ("ingested", 3, 30, 28, 2)),
        last=("file:/logs/b.log", "2025-07-02 01:00:00", "r2"),
        not_ingested=(("failed", "file:/logs/c.log", "r2"),),
        with_quarantine=1,
    )
    text = format_files(summary)
    assert "4 file(s), 30 block(s); 1 file(s) with quarantined blocks" in text
    assert "last ingested: file:/logs/b.log at 2025-07-02 01:00:00 (run r2)" in text
    assert text.splitlines()[-1].split() == ["failed", "file:/logs/c.log", "r2"]


def test_no_files() -> None:
    assert format_files(None) == "no log files ingested yet"


def test_quality_section_names_the_run_and_its_alarms_and_lists_rules_with_failures() -> None:
    summary = QualitySummary("r1", 9, (
        ("fail", "silver_tickets", "silver.tickets.unparseable_created_at", "block", 50, 8, 0.16, 0.01),
        ("", "silver_tickets", "silver.tickets.unparseable_resolved_at", "warn", 50, 1, 0.02, None),
    ))
    lines = format_quality(summary).splitlines()
    assert lines[0] == "run r1: 9 rule(s) checked; 1 ALARM(S): silver.tickets.unparseable_created_at (fail)"
    assert lines[1].split() == ["alarm", "step", "rule", "severity", "checked", "failed", "share", "threshold"]
    assert lines[3].split() == ["fail", "silver_tickets", "silver.tickets.unparseable_created_at", "block", "50", "8",
                                "16.00%", "1.00%"]
    assert lines[4].split() == ["silver_tickets", "silver.tickets.unparseable_resolved_at", "warn", "50", "1", "2.00%"]


def test_quality_section_without_results_or_failures() -> None:
    assert format_quality(None) == "no data-quality results yet"
    assert format_quality(QualitySummary("r1", 4, ())) == (
        "run r1: 4 rule(s) checked; no alarm\nno rule nulled or quarantined a row"
    )
