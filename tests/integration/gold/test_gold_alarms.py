"""Quarantine-rate alarms of the gold steps: the quality engine's counts against thresholds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from careplus_spark.errors import DataQualityError
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.pipeline.steps import run_steps
from careplus_spark.platform.config import AppConfig
from tests.integration.silver.test_silver_alarms import (
    clean_tickets,
    cursors,
    dq_rows,
    ledger_row,
    put,
    run,
    table,
    ticket,
    with_alarms,
)

pytestmark = pytest.mark.integration

STEPS = ["ingest_tickets", "silver_tickets", "gold_tickets"]
#: 20 tickets, 2 without an agent: gold.fct_tickets.agent_not_null (warn) fails on 10% > 5%.
NO_AGENT = [ticket(0, agent=""), ticket(1, agent=None), *clean_tickets(18, start=2)]
ALARM = "gold.fct_tickets.agent_not_null: 2 of 20 rows (10.00%) > threshold 5.00%"


@pytest.fixture
def cfg(lakehouse: AppConfig, tmp_path: Path) -> AppConfig:
    tickets = replace(lakehouse.sources.tickets, url=f"jdbc:sqlite:{tmp_path / 'tickets.db'}", reconcile_every_runs=0)
    return replace(lakehouse, sources=replace(lakehouse.sources, tickets=tickets))


def test_a_gold_rule_above_its_threshold_warns(spark: SparkSession, cfg: AppConfig) -> None:
    put(cfg, NO_AGENT)
    ctx, results, lines = run(spark, cfg, STEPS)
    gold = results[2]
    assert [a.describe() for a in gold.alarms] == [ALARM]
    assert lines[-1] == f"[3/3] gold_tickets: DATA-QUALITY ALARM (warn): {ALARM}"
    assert lines[-2].endswith("; data quality: gold.fct_tickets.agent_not_null 10.00%")
    row = dq_rows(spark, cfg, ctx.run_id)["gold.fct_tickets.agent_not_null"]
    assert (row["step"], row["severity"], row["share"], row["threshold"], row["alarm"]) == (
        "gold_tickets", "warn", 0.1, 0.05, "warn")
    quiet = dq_rows(spark, cfg, ctx.run_id)["gold.fct_tickets.ticket_id_unique"]
    assert (quiet["failed"], quiet["threshold"], quiet["alarm"]) == (0, 0.01, None)
    assert ALARM in str(ledger_row(spark, cfg, ctx.run_id, "gold_tickets")["detail"])
    assert results[1].alarms == ()  # a blank agent is legitimately NULL in silver


def test_a_gold_rule_below_its_own_threshold_stays_quiet(spark: SparkSession, cfg: AppConfig) -> None:
    put(cfg, NO_AGENT)
    ctx, results, lines = run(spark, with_alarms(cfg, rules={"gold.fct_tickets.agent_not_null": 0.2}), STEPS)
    assert results[2].alarms == () and "ALARM" not in lines[-1]
    assert [r.name for r in results[2].quality] == ["gold.fct_tickets.agent_not_null"]
    assert dq_rows(spark, cfg, ctx.run_id)["gold.fct_tickets.agent_not_null"]["threshold"] == 0.2


def test_action_fail_fails_the_gold_step_after_its_merge_and_keeps_the_watermark(
    spark: SparkSession, cfg: AppConfig
) -> None:
    put(cfg, NO_AGENT)
    ctx = RunContext(with_alarms(cfg, action="fail"))
    with pytest.raises(DataQualityError, match=r"^gold_tickets \(gold\.fct_tickets\): data-quality alarm") as caught:
        run_steps(spark, ctx, STEPS)
    assert caught.value.exit_code == 9 and ALARM in str(caught.value)
    assert dq_rows(spark, cfg, ctx.run_id)["gold.fct_tickets.agent_not_null"]["alarm"] == "fail"
    assert ledger_row(spark, cfg, ctx.run_id, "silver_tickets")["status"] == "succeeded"
    assert ledger_row(spark, cfg, ctx.run_id, "gold_tickets")["status"] == "failed"
    assert table(spark, cfg, "gold", "fct_tickets").count() == 20  # warn-level rows are kept
    assert "gold.fct_tickets<-silver.tickets" not in cursors(spark, cfg)

    _, again, _ = run(spark, cfg, ["gold_tickets"])  # action warn: the same scope again, nothing to write
    assert (again[0].rows_read, again[0].rows_written, again[0].rows_updated) == (20, 0, 0)
    assert "gold.fct_tickets<-silver.tickets" in cursors(spark, cfg)
