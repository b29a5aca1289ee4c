"""Quarantine-rate alarms of the silver steps: ops.dq_results, progress, status, warn and fail."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from careplus_spark.errors import DataQualityError
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline import ledger, status
from careplus_spark.pipeline.steps import run_steps
from careplus_spark.platform.config import AppConfig
from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url

pytestmark = pytest.mark.integration

CREATED = "2025-07-01 09:00:00"


def ticket(i: int, **values: str | None) -> tuple[str | None, ...]:
    """A clean source row (TICKET_COLUMNS order) with some values replaced."""
    row: dict[str, str | None] = {
        "ticket_id": f"TCK{i:07d}", "created_at": CREATED, "updated_at": f"2025-07-01 10:{i // 60:02d}:{i % 60:02d}",
        "resolved_at": None, "agent": "Alice Johnson", "priority": "High", "num_interactions": "3",
        "IssUeCat": "Billing", "channel": "Chat", "status": "Open", "agent_feedback": "ok",
    }
    row.update(values)
    return tuple(row.values())


def clean_tickets(n: int, start: int = 0) -> list[tuple[str | None, ...]]:
    return [ticket(i) for i in range(start, start + n)]


#: 50 tickets: 2 with an unparseable created_at (4% > 1%), 1 unmapped priority (2% < 5%),
#: and values that are legitimately NULL: a blank priority, a zero and a blank resolved_at.
MESSY = [
    ticket(0, created_at="TBD"),
    ticket(1, created_at="next week"),
    ticket(2, priority="Urgent!!"),
    ticket(3, priority="  "),
    ticket(4, resolved_at="0000-00-00 00:00:00", status="Closed"),
    ticket(5, resolved_at="", status="Closed"),
    ticket(6, resolved_at="sometime", status="Closed"),
    ticket(7, num_interactions="-999999"),
    ticket(8, num_interactions=""),
    *clean_tickets(41, start=9),
]


def put(cfg: AppConfig, rows: list[tuple[str | None, ...]]) -> None:
    """Writes rows to the SQLite source table of ``cfg`` (created when missing)."""
    with sink_for_url(cfg.sources.tickets.url, "", "", cfg.sources.tickets.table) as sink:
        sink.create_schema(drop=False)
        sink.insert(rows)  # type: ignore[arg-type]


def with_alarms(cfg: AppConfig, **changes: object) -> AppConfig:
    """``cfg`` with ``quality.alarms`` settings replaced (``rules`` a plain dict)."""
    alarms = replace(cfg.quality.alarms, **changes)  # type: ignore[arg-type]
    return replace(cfg, quality=replace(cfg.quality, alarms=alarms))


def run(spark: SparkSession, cfg: AppConfig, steps: list[str]) -> tuple[RunContext, list[StepResult], list[str]]:
    """Runs ``steps`` in a new run; returns its context, results and progress lines."""
    ctx = RunContext(cfg)
    lines: list[str] = []
    return ctx, run_steps(spark, ctx, steps, progress=lines.append), lines


def table(spark: SparkSession, cfg: AppConfig, database: str, name: str) -> DataFrame:
    return spark.read.format("delta").load(RunContext(cfg).table(database, name).path)


def dq_rows(spark: SparkSession, cfg: AppConfig, run_id: str) -> Mapping[str, dict[str, object]]:
    """This run's ops.dq_results rows by ``<table>.<rule>``."""
    rows = table(spark, cfg, "ops", "dq_results").where(f"run_id = '{run_id}'").collect()
    return {f"{r['table']}.{r['rule']}": r.asDict() for r in rows}


def ledger_row(spark: SparkSession, cfg: AppConfig, run_id: str, job: str) -> dict[str, object]:
    rows = ledger.latest(table(spark, cfg, "ops", "runs"))
    return rows.where(f"run_id = '{run_id}' AND job = '{job}'").first().asDict()  # type: ignore[union-attr]


def cursors(spark: SparkSession, cfg: AppConfig) -> dict[str, str]:
    return {r["name"]: r["value"] for r in table(spark, cfg, "ops", "cursors").collect()}


@pytest.fixture
def cfg(lakehouse: AppConfig, tmp_path: Path) -> AppConfig:
    tickets = replace(lakehouse.sources.tickets, url=f"jdbc:sqlite:{tmp_path / 'tickets.db'}", reconcile_every_runs=0)
    logs = replace(lakehouse.sources.logs, path=str(tmp_path / "logs"))
    return replace(lakehouse, sources=replace(lakehouse.sources, tickets=tickets, logs=logs))


def test_a_share_above_the_threshold_warns_in_progress_log_results_and_status(
    spark: SparkSession, cfg: AppConfig, caplog: pytest.LogCaptureFixture
) -> None:
    put(cfg, MESSY)
    with caplog.at_level(logging.WARNING, logger="careplus_spark.quality.alarms"):
        ctx, results, lines = run(spark, cfg, ["ingest_tickets", "silver_tickets"])
    silver = results[1]
    assert (silver.rows_read, silver.rows_quarantined) == (50, 2)
    alarm = "silver.tickets.unparseable_created_at: 2 of 50 rows (4.00%) > threshold 1.00%"
    assert [a.describe() for a in silver.alarms] == [alarm]
    assert lines[-1] == f"[2/2] silver_tickets: DATA-QUALITY ALARM (warn): {alarm}"
    assert "; data quality: silver.tickets.unparseable_created_at 4.00%" in lines[-2]
    assert "silver.tickets.unmapped_priority 2.00%" in lines[-2]
    assert [r.getMessage() for r in caplog.records if r.name == "careplus_spark.quality.alarms"] == [
        f"silver_tickets: data-quality alarm (warn): {alarm}"
    ]
    recorded = dq_rows(spark, cfg, ctx.run_id)
    row = recorded["silver.tickets.unparseable_created_at"]
    assert (row["step"], row["severity"], row["checked"], row["failed"]) == ("silver_tickets", "block", 50, 2)
    assert (row["share"], row["threshold"], row["alarm"]) == (0.04, 0.01, "warn")
    quiet = recorded["silver.tickets.unmapped_priority"]  # below its threshold: recorded, no alarm
    assert (quiet["failed"], quiet["share"], quiet["threshold"], quiet["alarm"]) == (1, 0.02, 0.05, None)
    assert ledger_row(spark, cfg, ctx.run_id, "silver_tickets")["status"] == "succeeded"
    assert alarm in str(ledger_row(spark, cfg, ctx.run_id, "silver_tickets")["detail"])

    screen = status.render(spark, cfg)
    quality = screen.split("== data quality ==\n")[1].split("\n\n==")[0].splitlines()
    assert quality[0].startswith(f"run {ctx.run_id}: ")
    assert quality[0].endswith("1 ALARM(S): silver.tickets.unparseable_created_at (warn)")
    assert quality[3].split() == ["warn", "silver_tickets", "silver.tickets.unparseable_created_at", "block", "50",
                                  "2", "4.00%", "1.00%"]
    listed = [line.split()[1] for line in quality[4:]]
    assert set(listed) == {"silver.tickets.unmapped_priority", "silver.tickets.unparseable_resolved_at",
                           "silver.tickets.invalid_num_interactions"}


def test_nulled_counts_leave_out_blanks_and_zero_dates(spark: SparkSession, cfg: AppConfig) -> None:
    put(cfg, MESSY)
    ctx, results, _ = run(spark, cfg, ["ingest_tickets", "silver_tickets"])
    failed = {name: row["failed"] for name, row in dq_rows(spark, cfg, ctx.run_id).items()}
    assert failed == {
        "silver.tickets.missing_ticket_id": 0,
        "silver.tickets.unparseable_created_at": 2,
        "silver.tickets.duplicate_ticket_id": 0,
        "silver.tickets.unmapped_priority": 1,  # "Urgent!!"; the blank one is legitimately NULL
        "silver.tickets.unmapped_status": 0,
        "silver.tickets.unmapped_channel": 0,
        "silver.tickets.invalid_num_interactions": 1,  # -999999; the blank one does not count
        "silver.tickets.unparseable_updated_at": 0,
        "silver.tickets.unparseable_resolved_at": 1,  # "sometime"; the zero date and the blank do not count
    }
    assert {r.name for r in results[1].quality} == {n for n, f in failed.items() if f}


def test_action_fail_fails_the_step_after_its_writes_and_keeps_the_watermark(
    spark: SparkSession, cfg: AppConfig
) -> None:
    put(cfg, MESSY)
    failing = with_alarms(cfg, action="fail")
    ctx = RunContext(failing)
    with pytest.raises(DataQualityError) as caught:
        run_steps(spark, ctx, ["ingest_tickets", "silver_tickets", "silver_logs"])
    assert caught.value.exit_code == 9
    message = str(caught.value)
    assert message.startswith("silver_tickets: data-quality alarm (quality.alarms.action=fail): "
                              "silver.tickets.unparseable_created_at: 2 of 50 rows (4.00%) > threshold 1.00%")
    row = dq_rows(spark, cfg, ctx.run_id)["silver.tickets.unparseable_created_at"]
    assert (row["failed"], row["alarm"]) == (2, "fail")
    assert table(spark, cfg, "silver", "tickets_quarantine").count() == 2
    assert table(spark, cfg, "silver", "tickets").count() == 48
    ledger = ledger_row(spark, cfg, ctx.run_id, "silver_tickets")
    assert ledger["status"] == "failed"
    assert str(ledger["error"]).startswith("DataQualityError: silver_tickets: data-quality alarm")
    assert table(spark, cfg, "ops", "runs").where(f"run_id = '{ctx.run_id}' AND job = 'silver_logs'").count() == 0
    assert "silver.tickets<-bronze.tickets" not in cursors(spark, cfg)

    _, again, _ = run(spark, cfg, ["silver_tickets"])  # action warn: the same rows are processed again
    assert (again[0].rows_read, again[0].rows_written, again[0].rows_quarantined) == (50, 0, 2)
    assert [a.alarm for a in again[0].alarms] == ["warn"]
    assert "silver.tickets<-bronze.tickets" in cursors(spark, cfg)
    _, unchanged, _ = run(spark, cfg, ["silver_tickets"])
    assert unchanged[0].rows_read == 0 and not unchanged[0].quality


def test_per_rule_thresholds_override_the_defaults(spark: SparkSession, cfg: AppConfig) -> None:
    put(cfg, MESSY)
    tuned = with_alarms(cfg, rules={"silver.tickets.unparseable_created_at": 0.05,
                                    "silver.tickets.unmapped_priority": 0.0,
                                    "silver.tickets.unparseable_resolved_at": None})
    ctx, results, lines = run(spark, tuned, ["ingest_tickets", "silver_tickets"])
    assert [a.name for a in results[1].alarms] == ["silver.tickets.unmapped_priority"]
    assert lines[-1].endswith("silver.tickets.unmapped_priority: 1 of 50 rows (2.00%) > threshold 0.00%")
    recorded = dq_rows(spark, cfg, ctx.run_id)
    assert (recorded["silver.tickets.unparseable_created_at"]["threshold"],
            recorded["silver.tickets.unparseable_created_at"]["alarm"]) == (0.05, None)
    assert (recorded["silver.tickets.unparseable_resolved_at"]["threshold"],
            recorded["silver.tickets.unparseable_resolved_at"]["alarm"]) == (None, None)


def test_clean_tickets_raise_no_alarm(spark: SparkSession, cfg: AppConfig) -> None:
    put(cfg, clean_tickets(20))
    ctx, results, lines = run(spark, cfg, ["ingest_tickets", "silver_tickets"])
    assert results[1].quality == () and "data quality" not in lines[-1] and "ALARM" not in "\n".join(lines)
    recorded = dq_rows(spark, cfg, ctx.run_id)
    assert len(recorded) == 9 and all(r["failed"] == 0 and r["share"] == 0.0 for r in recorded.values())
    screen = status.render(spark, cfg)
    assert f"run {ctx.run_id}: 9 rule(s) checked; no alarm\nno rule nulled or quarantined a row" in screen


def test_silver_logs_count_nulled_fields_and_quarantined_blocks(
    spark: SparkSession, cfg: AppConfig, tmp_path: Path
) -> None:
    spec = GenerateSpec(seed=5, start_date=dt.date(2025, 7, 1), days=1, tickets_per_day=30, log_files_per_day=1,
                        negative_response=0.3, dirty_level=0.3)
    generate(spec, None, Path(cfg.sources.logs.path))
    ctx, results, lines = run(spark, cfg, ["ingest_logs", "silver_logs"])
    blocks = table(spark, cfg, "bronze", "logs").where("_parse_error IS NULL")
    negative = blocks.where("trim(response_time) LIKE '-%'").count()
    assert negative > 0.05 * blocks.count()
    recorded = dq_rows(spark, cfg, ctx.run_id)
    response = recorded["silver.logs.invalid_response_time"]
    assert (response["step"], response["checked"], response["failed"]) == ("silver_logs", blocks.count(), negative)
    assert (response["threshold"], response["alarm"]) == (0.05, "warn")
    assert recorded["silver.logs.unmapped_log_level"]["failed"] == 0  # INF0, info, warnING: all mapped
    assert (recorded["silver.logs.unparseable_timestamp"]["failed"], results[1].rows_quarantined) == (0, 0)
    assert lines[-1].startswith("[2/2] silver_logs: DATA-QUALITY ALARM (warn): silver.logs.invalid_response_time: ")
