"""Incremental gold refresh equals a full refresh, over days with updates, late events and deletes."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from careplus_spark.gold.refresh import MODELS
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.pipeline.steps import run_steps
from careplus_spark.platform.config import AppConfig
from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url

SPEC = GenerateSpec(seed=11, start_date=dt.date(2025, 7, 1), days=1, tickets_per_day=30, log_files_per_day=2,
                    delete_per_day=2, unknown_ticket_event=0.05, duplicate_event=0.05)
LINEAGE = ("_run_id", "_processed_at")


@pytest.fixture
def cfg(lakehouse: AppConfig, tmp_path: Path) -> AppConfig:
    tickets = replace(lakehouse.sources.tickets, url=f"jdbc:sqlite:{tmp_path / 'tickets.db'}")
    logs = replace(lakehouse.sources.logs, path=str(tmp_path / "logs"))
    return replace(lakehouse, sources=replace(lakehouse.sources, tickets=tickets, logs=logs))


def add_day(cfg: AppConfig, day: int) -> None:
    with sink_for_url(cfg.sources.tickets.url, "", "", cfg.sources.tickets.table) as sink:
        generate(SPEC, sink, Path(cfg.sources.logs.path), first_day=day)


def gold(spark: SparkSession, cfg: AppConfig, name: str) -> DataFrame:
    df = spark.read.format("delta").load(RunContext(cfg).table("gold", name).path)
    return df.drop(*LINEAGE)


def versions(spark: SparkSession, cfg: AppConfig) -> dict[str, int]:
    from delta.tables import DeltaTable

    return {m.name: DeltaTable.forPath(spark, RunContext(cfg).table("gold", m.name).path).history(1).first()["version"]
            for m in MODELS}


def assert_ticket_layout(spark: SparkSession, cfg: AppConfig, results: list) -> None:
    """Day 2's ticket updates: bronze/silver mark replaced rows in deletion vectors; the ticket facts,
    partitioned by ``is_open``, leave the resolved partition's files alone when only open tickets change."""
    from delta.tables import DeltaTable

    from careplus_spark.lakehouse import delta_log

    ctx = RunContext(cfg)
    for name in ("bronze.tickets", "silver.tickets"):
        path = ctx.table(*name.split(".")).path
        assert DeltaTable.forPath(spark, path).detail().first().properties["delta.enableDeletionVectors"] == "true"
        version = next(v for r in results for t, v in r.versions.items() if t == name)
        adds = [a["add"] for a in delta_log.actions(spark, path, version) or [] if "add" in a]
        assert any(a.get("deletionVector") for a in adds), (name, version, adds)
    for name in ("fct_tickets", "fct_ticket_log_summary"):
        detail = DeltaTable.forPath(spark, ctx.table("gold", name).path).detail().first()
        assert list(detail.partitionColumns) == ["is_open"], name
        assert detail.properties.get("delta.enableDeletionVectors", "false") == "false", name  # exposed: manifests


def test_incremental_days_equal_a_full_refresh(spark: SparkSession, cfg: AppConfig, tmp_path: Path) -> None:
    logs = Path(cfg.sources.logs.path)
    add_day(cfg, 0)
    run_steps(spark, RunContext(cfg), [])
    add_day(cfg, 1)
    held = sorted(logs.rglob("app-2025-07-02-1.log*"))
    assert held, "day 1 has a second log file"
    late = tmp_path / "late"
    late.mkdir()
    for path in held:  # this file arrives a day late: its events belong to 2025-07-02
        shutil.move(path, late / path.name)
    run_steps(spark, RunContext(cfg), ["all", "reconcile_tickets"])
    add_day(cfg, 2)
    for path in held:
        shutil.move(late / path.name, path)
    results = run_steps(spark, RunContext(cfg), ["all", "reconcile_tickets"])
    by_step = {r.step: r for r in results}
    assert "2 log_date value(s)" in by_step["gold_logs"].detail  # the late day and the new one

    assert_ticket_layout(spark, cfg, results)

    silver_ids = spark.read.format("delta").load(RunContext(cfg).table("silver", "tickets").path).select("ticket_id")
    fct = gold(spark, cfg, "fct_tickets")
    assert fct.count() == silver_ids.count()
    assert fct.select("ticket_id").exceptAll(silver_ids).count() == 0  # deleted tickets left gold
    incremental = {m.name: gold(spark, cfg, m.name).cache() for m in MODELS}
    before = versions(spark, cfg)

    run_steps(spark, RunContext(cfg), ["gold"])  # nothing new: no gold table gets a version
    assert versions(spark, cfg) == before

    full = run_steps(spark, RunContext(cfg, full_refresh=True), ["gold"])
    assert all(r.rows_written == 0 and r.rows_updated == 0 for r in full), [r.detail for r in full]
    for name, expected in incremental.items():
        actual = gold(spark, cfg, name)
        assert expected.count() == actual.count() > 0, name
        assert expected.exceptAll(actual).count() == 0 and actual.exceptAll(expected).count() == 0, name

    # a lost gold table is rebuilt from its inputs by the next run
    shutil.rmtree(RunContext(cfg).table("gold", "fct_ticket_log_summary").path.removeprefix("file:"))
    rebuilt = {r.step: r for r in run_steps(spark, RunContext(cfg), ["gold"])}
    assert "recomputed everything" in rebuilt["gold_summary"].detail
    assert rebuilt["gold_tickets"].versions == {}  # the others are unchanged
    summary, actual = incremental["fct_ticket_log_summary"], gold(spark, cfg, "fct_ticket_log_summary")
    assert summary.exceptAll(actual).count() == 0 and actual.exceptAll(summary).count() == 0
