"""silver.logs from bronze.logs: distinct events, incremental by day, vanished events removed."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from careplus_spark.bronze import logs as bronze_logs
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.platform.config import AppConfig
from careplus_spark.silver import logs as silver_logs
from careplus_spark.synthetic import GenerateSpec, generate
from tests.reference_log_parser import parse_file

SPEC = GenerateSpec(seed=9, start_date=dt.date(2025, 7, 1), days=2, tickets_per_day=40, log_files_per_day=2,
                    duplicate_event=0.1, dirty_level=0.2, malformed_block=0.03)
LEVELS = {"INF0": "INFO", "DEBG": "DEBUG", "EROR": "ERROR", "WARN": "WARNING"}


def reference_events(folder: Path) -> set[tuple]:
    """Distinct normalised events, computed plainly in Python from the raw files."""
    events = set()
    for path in sorted(folder.rglob("*.log*")):
        for b in parse_file(path):
            if b.fields is None:
                continue
            ts, level, *rest = b.fields
            level = level.strip().upper()
            events.add((ts, LEVELS.get(level, level), *rest))
    return events


@pytest.fixture
def cfg(lakehouse: AppConfig, tmp_path: Path) -> AppConfig:
    generate(SPEC, None, tmp_path / "logs")
    logs = replace(lakehouse.sources.logs, path=str(tmp_path / "logs"))
    return replace(lakehouse, sources=replace(lakehouse.sources, logs=logs))


def run(spark: SparkSession, cfg: AppConfig):  # type: ignore[no-untyped-def]
    bronze_logs.ingest(spark, RunContext(cfg))
    return silver_logs.build(spark, RunContext(cfg))


def silver(spark: SparkSession, cfg: AppConfig):  # type: ignore[no-untyped-def]
    return spark.read.format("delta").load(RunContext(cfg).table("silver", "logs").path)


def test_distinct_events_match_the_reference_and_reconcile(spark: SparkSession, cfg: AppConfig, tmp_path: Path) -> None:
    result = run(spark, cfg)
    expected = reference_events(tmp_path / "logs")
    table = silver(spark, cfg)
    assert table.count() == len(expected) == result.rows_written
    assert table.where("response_time_ms < 0 OR log_level NOT IN ('INFO','DEBUG','WARNING','ERROR')").count() == 0
    occurrences = table.agg({"_occurrences": "sum"}).first()[0]
    assert occurrences + result.rows_quarantined == result.rows_read  # every good block accounted for
    assert occurrences > table.count()  # duplicates were there and were removed
    assert table.select("event_id").distinct().count() == table.count()


def test_rerun_changes_nothing(spark: SparkSession, cfg: AppConfig) -> None:
    run(spark, cfg)
    again = run(spark, cfg)
    assert (again.rows_read, again.versions) == (0, {}) and "unchanged" in again.detail


def test_next_day_recomputes_only_that_day(spark: SparkSession, cfg: AppConfig, tmp_path: Path) -> None:
    run(spark, cfg)
    generate(replace(SPEC, days=1), None, tmp_path / "logs", first_day=2)
    result = run(spark, cfg)
    assert "1 day(s) recomputed" in result.detail
    assert silver(spark, cfg).count() == len(reference_events(tmp_path / "logs"))


def test_events_of_a_shrunk_file_vanish(spark: SparkSession, cfg: AppConfig, tmp_path: Path) -> None:
    run(spark, cfg)
    target = sorted((tmp_path / "logs").rglob("*.log"))[0]
    target.write_text("---\n".join(target.read_text(encoding="utf-8").split("---\n")[:2]) + "---\n", encoding="utf-8")
    result = run(spark, cfg)
    assert "vanished events removed" in result.detail and not result.detail.startswith("0 ")
    assert silver(spark, cfg).count() == len(reference_events(tmp_path / "logs"))
