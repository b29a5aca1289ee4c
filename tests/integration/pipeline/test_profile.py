"""``careplus run --profile``: a step's Spark jobs, Delta commits and files, counted from Spark and the logs."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from careplus_spark.lakehouse import catalog
from careplus_spark.lakehouse import state as cursor_state
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.pipeline import steps
from careplus_spark.pipeline.ledger import latest, runs_table
from careplus_spark.pipeline.profile import Profiler, StepProfile, job_kind
from careplus_spark.platform.config import AppConfig

pytestmark = pytest.mark.integration


def test_a_step_profile_counts_its_own_jobs_commits_and_files(spark: SparkSession, cfg: AppConfig) -> None:
    ctx = RunContext(cfg)
    cursors = ctx.ref(catalog.CURSORS)
    profiler = Profiler(spark, cfg.lakehouse.root)
    spark.range(5).count()  # a job outside any step: not counted
    with profiler.step("writes"):
        cursor_state.save(spark, cursors, cursor_state.CursorState("a", "1", run_id=ctx.run_id))
        cursor_state.save(spark, cursors, cursor_state.CursorState("a", "2", run_id=ctx.run_id))
        spark.range(3).count()
    with profiler.step("idle"):
        pass
    writes, idle = profiler.profiles
    assert writes.commits == {"ops.cursors": 2}
    assert writes.files_added == 2 and writes.files_removed == 1  # the second replaces the first's file
    assert writes.jobs >= 1 and sum(writes.job_seconds.values()) <= writes.seconds
    assert (idle.jobs, idle.commits, idle.files_added) == (0, {}, 0)
    assert "0 Spark jobs" in idle.describe() and "0 Delta commits; files +0 -0" in idle.describe()


def test_run_steps_with_profile_prints_and_records_each_steps_profile(spark: SparkSession, cfg: AppConfig) -> None:
    said: list[str] = []
    ctx = RunContext(cfg, profile=True)
    steps.run_steps(spark, ctx, ["ingest_tickets", "silver_tickets"], progress=said.append)
    lines = [line for line in said if ": profile: " in line]
    assert [line.split(":", 1)[0] for line in lines] == ["[1/2] ingest_tickets", "[2/2] silver_tickets"]
    assert "bronze.tickets 1" in lines[0] and "ops.runs 2" in lines[0]  # the ledger created, its running row
    assert "silver.tickets 1" in lines[1] and "ops.runs 1" in lines[1]  # the running row is inside the profile
    rows = latest(spark.read.format("delta").load(runs_table(ctx).path)).where(f"run_id = '{ctx.run_id}'").collect()
    details = {r.job: r.detail for r in rows}
    assert details["silver_tickets"].endswith(lines[1].split(": profile: ", 1)[1])


def test_job_kinds_follow_the_descriptions_spark_and_delta_give_their_jobs() -> None:
    assert job_kind("Delta: gold_kpis: Updating incremental Hive manifest for the Delta table") == "manifest"
    assert job_kind("Delta: x: Filtering files for query") == "log"
    assert job_kind("x - MERGE operation - writing new files for only inserts") == "write"
    assert job_kind("x - MERGE operation - scanning files for matches") == "read"
    assert job_kind("collect at /work/careplus_spark/silver/tickets.py:1") == "compute"
    profile = StepProfile("s", 2.0, 3, {"silver.logs": 1}, 1, 0, {"read": 0.5, "write": 0.01})
    assert profile.describe() == "3 Spark jobs (read 0.5 s, driver 1.5 s); 1 Delta commits (silver.logs 1); files +1 -0"
