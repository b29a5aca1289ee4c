"""The run ledger ``ops.runs``: real steps on generated SQLite data, successes and failures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from pyspark.sql import SparkSession

from careplus_spark.bronze import tickets as bronze_tickets
from careplus_spark.lakehouse import incremental, tables
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline import steps
from careplus_spark.pipeline.ledger import ERROR_LINES, latest, runs_table
from careplus_spark.platform.config import AppConfig
from tests.integration.pipeline.conftest import add_day

pytestmark = pytest.mark.integration

TICKETS_CURSOR = "tickets:support_tickets"


def ledger_rows(spark: SparkSession, ctx: RunContext) -> dict[str, dict[str, object]]:
    """The ledger rows of ``ctx``'s run by job."""
    rows = latest(spark.read.format("delta").load(runs_table(ctx).path)).where(f"run_id = '{ctx.run_id}'").collect()
    return {r.job: r.asDict() for r in rows}


def version(spark: SparkSession, ctx: RunContext, database: str, name: str) -> int | None:
    info = tables.table_info(spark, ctx.table(database, name))
    return info.version if info else None


def test_steps_leave_succeeded_rows_with_counts_versions_and_cursors(spark: SparkSession, cfg: AppConfig) -> None:
    ctx = RunContext(cfg)
    results = steps.run_steps(spark, ctx, ["ingest_tickets", "silver_tickets"])
    rows = ledger_rows(spark, ctx)
    assert sorted(rows) == ["ingest_tickets", "silver_tickets"]
    for result in results:
        row = rows[result.step]
        assert (row["status"], row["env"], row["error"]) == ("succeeded", cfg.env, None)
        counts = ("rows_read", "rows_written", "rows_updated", "rows_quarantined", "rows_skipped")
        assert tuple(row[c] for c in counts) == tuple(getattr(result, c) for c in counts)
        assert row["versions"] == dict(result.versions) and row["versions"]
        assert row["detail"] == result.detail
        assert row["started_at"] <= row["ended_at"]
        assert row["seconds"] == pytest.approx(result.seconds) and result.seconds > 0  # one time everywhere
    assert rows["ingest_tickets"]["rows_read"] > 0
    cursors = {r.name: r.value for r in spark.read.format("delta").load(ctx.table("ops", "cursors").path).collect()}
    assert rows["ingest_tickets"]["cursor_before"] == {TICKETS_CURSOR: None}  # first run: no cursor before
    assert rows["ingest_tickets"]["cursor_after"] == {TICKETS_CURSOR: cursors[TICKETS_CURSOR]}
    watermark = incremental.watermark_name("silver.tickets", "bronze.tickets")
    assert rows["silver_tickets"]["cursor_after"] == {watermark: cursors[watermark]}


def test_next_run_records_the_cursor_it_moved_from(spark: SparkSession, cfg: AppConfig) -> None:
    first = RunContext(cfg)
    steps.run_steps(spark, first, ["ingest_tickets"])
    add_day(cfg, 1)
    second = RunContext(cfg)
    steps.run_steps(spark, second, ["ingest_tickets"])
    before, after = ledger_rows(spark, first)["ingest_tickets"], ledger_rows(spark, second)["ingest_tickets"]
    assert after["cursor_before"] == {TICKETS_CURSOR: before["cursor_after"][TICKETS_CURSOR]}
    assert after["cursor_after"][TICKETS_CURSOR] > after["cursor_before"][TICKETS_CURSOR]


def test_a_step_that_does_nothing_is_succeeded_with_zero_counts(spark: SparkSession, cfg: AppConfig) -> None:
    steps.run_steps(spark, RunContext(cfg), ["ingest_tickets", "silver_tickets"])
    again = RunContext(cfg)
    steps.run_steps(spark, again, ["silver_tickets"])
    row = ledger_rows(spark, again)["silver_tickets"]
    assert (row["status"], row["rows_read"], row["rows_written"], row["versions"]) == ("succeeded", 0, 0, {})
    assert (row["cursor_before"], row["cursor_after"]) == ({}, {})
    assert "unchanged" in row["detail"]


def test_failing_source_leaves_a_failed_row_and_stops_the_run(spark: SparkSession, cfg: AppConfig) -> None:
    steps.run_steps(spark, RunContext(cfg), ["ingest_tickets"])
    bronze_before = version(spark, RunContext(cfg), "bronze", "tickets")
    broken = replace(cfg, sources=replace(cfg.sources, tickets=replace(cfg.sources.tickets, table="no_such_table")))
    ctx = RunContext(broken)
    with pytest.raises(Exception) as raised:
        steps.run_steps(spark, ctx, ["ingest_tickets", "silver_tickets"])
    rows = ledger_rows(spark, ctx)
    assert list(rows) == ["ingest_tickets"]  # silver_tickets never started
    failed = rows["ingest_tickets"]
    assert failed["status"] == "failed" and failed["ended_at"] is not None
    assert failed["error"].startswith(f"{type(raised.value).__name__}: ")
    assert "no such table: no_such_table" in failed["error"]
    assert "\tat " not in failed["error"] and len(failed["error"].splitlines()) <= ERROR_LINES
    assert (failed["rows_written"], failed["versions"], failed["cursor_after"]) == (0, {}, {})
    assert version(spark, ctx, "bronze", "tickets") == bronze_before


def test_failing_step_error_is_redacted_and_later_steps_do_not_run(
    spark: SparkSession, cfg: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def exploding(spark: SparkSession, ctx: RunContext) -> StepResult:
        calls.append("silver_tickets")
        raise RuntimeError("could not connect to jdbc:mysql://db/x?user=app&password=hunter2\nsecond line")

    def recorder(name: str) -> Callable[[SparkSession, RunContext], StepResult]:
        def step(spark: SparkSession, ctx: RunContext) -> StepResult:
            calls.append(name)
            return StepResult(step=name)
        return step

    monkeypatch.setitem(steps.STEPS, "silver_tickets", exploding)
    monkeypatch.setitem(steps.STEPS, "silver_logs", recorder("silver_logs"))
    ctx = RunContext(cfg)
    with pytest.raises(RuntimeError, match="hunter2"):
        steps.run_steps(spark, ctx, ["ingest_tickets", "silver_tickets", "silver_logs"])
    assert calls == ["silver_tickets"]
    rows = ledger_rows(spark, ctx)
    statuses = {job: row["status"] for job, row in rows.items()}
    assert statuses == {"ingest_tickets": "succeeded", "silver_tickets": "failed"}
    assert rows["silver_tickets"]["error"] == (
        "RuntimeError: could not connect to jdbc:mysql://db/x?user=app&password=***\nsecond line"
    )


def test_a_crash_leaves_the_running_row_visible(
    spark: SparkSession, cfg: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    def inspecting(spark: SparkSession, ctx: RunContext) -> StepResult:
        seen.update(ledger_rows(spark, ctx)["ingest_tickets"])
        return bronze_tickets.ingest(spark, ctx)

    monkeypatch.setitem(steps.STEPS, "ingest_tickets", inspecting)
    ctx = RunContext(cfg)
    steps.run_steps(spark, ctx, ["ingest_tickets"])
    assert (seen["status"], seen["ended_at"], seen["error"]) == ("running", None, None)
    assert ledger_rows(spark, ctx)["ingest_tickets"]["status"] == "succeeded"


def test_each_step_is_two_appended_rows_and_its_state_the_final_one(spark: SparkSession, cfg: AppConfig) -> None:
    """No join and no rewrite: a running row, then a final row, each a one-row append."""
    from delta.tables import DeltaTable

    steps.run_steps(spark, RunContext(cfg), ["ingest_tickets"])  # the ledger already holds another run
    ctx = RunContext(cfg)
    table = runs_table(ctx)
    before = tables.table_info(spark, table)
    steps.run_steps(spark, ctx, ["ingest_tickets", "silver_tickets"])

    runs = spark.read.format("delta").load(table.path).where(f"run_id = '{ctx.run_id}'")
    assert sorted((r.job, r.status) for r in runs.collect()) == [
        ("ingest_tickets", "running"), ("ingest_tickets", "succeeded"),
        ("silver_tickets", "running"), ("silver_tickets", "succeeded")]
    assert latest(runs).count() == 2
    assert before is not None
    history = DeltaTable.forPath(spark, table.path).history().where(f"version > {before.version}").collect()
    assert {h.operation for h in history} == {"WRITE"} and len(history) == 4
    assert all(h.operationParameters["mode"] == "Append" and h.operationMetrics["numOutputRows"] == "1"
               for h in history)
