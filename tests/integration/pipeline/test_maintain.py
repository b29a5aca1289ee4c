"""``careplus maintain``: compaction of what changed, manifests, VACUUM and its retention floor,
on real Delta tables, and on a lakehouse the pipeline built (which then keeps running)."""

from __future__ import annotations

import datetime as dt
import glob
import os
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from careplus_spark.errors import ConfigError
from careplus_spark.lakehouse import catalog, delta, state, tables
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.pipeline import maintain, steps
from careplus_spark.pipeline.ledger import latest, runs_table
from careplus_spark.platform.config import AppConfig
from tests.integration.pipeline.conftest import add_day

pytestmark = pytest.mark.integration

DAYS = ("2025-07-01", "2025-07-02", "2025-07-03")


def small_files_table(spark: SparkSession, ctx: RunContext, appends: int) -> str:
    """``gold.fct_logs``'s folder holding ``appends`` one-row files in each of three day partitions,
    with symlink manifests on (as the exposed table)."""
    path = ctx.ref(catalog.FCT_LOGS).path
    for i in range(appends):
        rows = [(f"e{i}-{day}", dt.date.fromisoformat(day), i) for day in DAYS]
        df = spark.createDataFrame(rows, "event_id string, log_date date, n int").repartition(1)
        writer = df.write.format("delta").mode("append").partitionBy("log_date")
        if i == 0:
            writer = writer.option(delta.SYMLINK_MANIFEST, "true")
        writer.save(path)
    return path


def rows_of(spark: SparkSession, path: str) -> list[tuple[object, ...]]:
    return sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())


def manifest_files(path: str) -> set[str]:
    listed: set[str] = set()
    for manifest in glob.glob(f"{path}/_symlink_format_manifest/**/manifest", recursive=True):
        listed |= {line.strip() for line in Path(manifest).read_text().splitlines() if line.strip()}
    return {p.removeprefix("file:") for p in listed}


def live_files(spark: SparkSession, path: str) -> set[str]:
    return {p.removeprefix("file:") for p in spark.read.format("delta").load(path).inputFiles()}


def files_in(path: str, day: str) -> set[str]:
    return set(os.listdir(f"{path}/log_date={day}"))


def test_compacts_what_changed_keeps_rows_and_manifests(spark: SparkSession, lakehouse: AppConfig) -> None:
    ctx = RunContext(lakehouse)
    path = small_files_table(spark, ctx, appends=6)
    before = rows_of(spark, path)
    reports: list[maintain.TableReport] = []
    options = maintain.Options(tables=("gold.fct_logs",), vacuum=False)

    maintain.maintain(spark, ctx, options, reports)
    (first,) = reports
    assert first.scope == "whole table" and first.compaction.version is not None
    assert (first.live_before.files, first.live_after.files) == (18, 3)
    assert first.compaction.files_removed == 18 and first.compaction.files_added == 3
    assert rows_of(spark, path) == before
    assert first.manifest and manifest_files(path) == live_files(spark, path)
    assert all(os.path.exists(p) for p in manifest_files(path))

    # nothing changed since: nothing is planned, nothing committed
    version = delta.latest_version(spark, path)
    reports.clear()
    maintain.maintain(spark, ctx, options, reports)
    assert reports[0].scope == "unchanged" and delta.latest_version(spark, path) == version

    # two appends to one day: only that partition is compacted, the others' files stay
    untouched = {day: files_in(path, day) for day in DAYS[1:]}
    for i in range(2):
        spark.createDataFrame([(f"late{i}", dt.date(2025, 7, 1), 99)], "event_id string, log_date date, n int") \
            .write.format("delta").mode("append").save(path)
    reports.clear()
    maintain.maintain(spark, ctx, options, reports)
    assert reports[0].scope == "1 partition(s)" and reports[0].compaction.files_removed == 3
    assert {day: files_in(path, day) for day in DAYS[1:]} == untouched
    assert len(rows_of(spark, path)) == len(before) + 2
    assert manifest_files(path) == live_files(spark, path)


def test_vacuum_retention_floor_and_readers(spark: SparkSession, lakehouse: AppConfig) -> None:
    ctx = RunContext(lakehouse)
    path = small_files_table(spark, ctx, appends=3)
    with pytest.raises(ConfigError, match="below 168 h"):
        maintain.maintain(spark, ctx, maintain.Options(tables=("gold.fct_logs",), retention_hours=1))
    assert delta.latest_version(spark, path) == 2  # refused before any work

    # a consumer that has read only version 0: its change feed needs versions 1.. kept
    state.save(spark, ctx.ref(catalog.CURSORS), state.CursorState("gold.x<-gold.fct_logs", "0", run_id="t"))
    reports: list[maintain.TableReport] = []
    maintain.maintain(spark, ctx, maintain.Options(tables=("gold.fct_logs",), retention_hours=0, force=True), reports)
    assert reports[0].retention_hours is not None and reports[0].retention_hours >= 1  # the reader's need
    assert spark.read.format("delta").option("versionAsOf", 2).load(path).count() == 9  # nothing deleted yet

    # once the consumer has caught up, a forced zero retention removes the compacted-away files
    latest_version = delta.latest_version(spark, path)
    state.save(spark, ctx.ref(catalog.CURSORS),
               state.CursorState("gold.x<-gold.fct_logs", str(latest_version), run_id="t"))
    reports.clear()
    maintain.maintain(spark, ctx, maintain.Options(tables=("gold.fct_logs",), retention_hours=0, force=True), reports)
    report = reports[0]
    assert report.retention_hours == 0
    data_files = set(glob.glob(f"{path}/log_date=*/*.parquet"))
    assert data_files == live_files(spark, path)
    assert report.stored_after.files < report.stored_before.files


def test_pipeline_runs_on_after_maintenance(spark: SparkSession, cfg: AppConfig) -> None:
    steps.run_steps(spark, RunContext(cfg), [])
    gold = [t for t in catalog.TABLES if t.database == "gold"]
    before = {t.qualified: rows_of(spark, t.ref(cfg.lakehouse.root).path) for t in gold
              if tables.exists(spark, t.ref(cfg.lakehouse.root))}

    ctx = RunContext(replace(cfg, maintenance=replace(cfg.maintenance, vacuum=False)))  # VACUUM: the test above
    steps.run_steps(spark, ctx, ["maintain"])
    ledger = {r.job: r for r in latest(spark.read.format("delta").load(runs_table(ctx).path))
              .where(f"run_id = '{ctx.run_id}'").collect()}
    assert ledger["maintain"].status == "succeeded" and "compacted" in ledger["maintain"].detail
    reports: list[maintain.TableReport] = []
    maintain.maintain(spark, RunContext(cfg), maintain.Options(vacuum=False), reports)  # again: unchanged but ops
    assert {r.table for r in reports if r.scope != "unchanged"} <= {"ops.runs", "ops.cursors"}

    assert {q: rows_of(spark, catalog.table(q).ref(cfg.lakehouse.root).path) for q in before} == before
    assert maintain.live(spark, ctx.ref(catalog.RUNS).path).files <= 2  # two appends per step, compacted
    for table in catalog.exposed():
        path = table.ref(cfg.lakehouse.root).path
        assert manifest_files(path) == live_files(spark, path), table.qualified

    add_day(cfg, 1)  # the incremental consumers go on from their watermarks
    results = steps.run_steps(spark, RunContext(cfg), [])
    assert sum(r.rows_written for r in results if r.step == "silver_tickets") > 0
    assert all(manifest_files(p) == live_files(spark, p)
               for p in (t.ref(cfg.lakehouse.root).path for t in catalog.exposed()))


def test_due_follows_every_hours(spark: SparkSession, lakehouse: AppConfig) -> None:
    cfg = replace(lakehouse, maintenance=replace(lakehouse.maintenance, every_hours=24))
    ctx = RunContext(cfg)
    assert maintain.due(spark, ctx)  # never maintained
    now = dt.datetime.now(dt.UTC)
    state.save(spark, ctx.ref(catalog.CURSORS),
               state.CursorState(maintain.LAST_RUN, now.isoformat(timespec="seconds"), run_id="t"))
    assert not maintain.due(spark, ctx, now + dt.timedelta(hours=23))
    assert maintain.due(spark, ctx, now + dt.timedelta(hours=24))
    assert not maintain.due(spark, RunContext(lakehouse))  # every_hours 0: never
