"""enforce(): passed rows, gold.quarantine MERGE (upsert, delete, idempotent), ops.dq_results."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import replace
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from careplus_spark.errors import SchemaError
from careplus_spark.lakehouse import tables
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.platform.config import AppConfig
from careplus_spark.quality import RuleShare, TableRules, enforce, load_rules
from careplus_spark.quality.ruleset import parse_rules

SCHEMA = "ticket_id STRING, priority STRING, n INT"
RULES: dict[str, Any] = {
    "key": ["ticket_id"],
    "rules": [
        {"name": "id_not_null", "check": "not_null", "column": "ticket_id", "severity": "block"},
        {"name": "id_unique", "check": "unique", "column": "ticket_id", "severity": "block"},
        {"name": "priority_values", "check": "accepted_values", "column": "priority", "values": ["High", "Low"],
         "severity": "block"},
        {"name": "n_non_negative", "check": "range", "column": "n", "min": 0, "severity": "warn"},
    ],
}
GOOD = [("T1", "High", 1), ("T2", "Low", -1), ("T3", None, 0)]
BAD = [("T4", "Hgh", 2), (None, "Low", 3), ("T5", "Hgh", -5)]


def ticket_rules() -> TableRules:
    return parse_rules("gold.fct_t", RULES, "inline.yaml")


def quarantine(spark: SparkSession, ctx: RunContext) -> DataFrame:
    return spark.read.format("delta").load(ctx.table("gold", "quarantine").path)


def version(spark: SparkSession, ctx: RunContext, database: str, name: str) -> int:
    from delta.tables import DeltaTable

    return int(DeltaTable.forPath(spark, ctx.table(database, name).path).history(1).first()["version"])  # type: ignore[index]


def run(spark: SparkSession, ctx: RunContext, rows: list[tuple], **kwargs: Any) -> tuple[list[tuple], Any]:
    """Enforces the ticket rules on ``rows``; returns the passed rows and the outcome."""
    df = spark.createDataFrame(rows, SCHEMA)
    with enforce(spark, ctx, ticket_rules(), df, **kwargs) as outcome:
        passed = sorted(tuple(r) for r in outcome.passed.collect())
        assert outcome.passed.columns == df.columns
    return passed, outcome


def quarantined(spark: SparkSession, ctx: RunContext) -> dict[str, list[str]]:
    return {r["row_key"]: list(r["rules"]) for r in quarantine(spark, ctx).collect()}


def test_blocked_rows_are_quarantined_and_warned_rows_pass(spark: SparkSession, lakehouse: AppConfig) -> None:
    ctx = RunContext(lakehouse, run_id="r1")
    passed, outcome = run(spark, ctx, GOOD + BAD)
    assert passed == sorted(GOOD)  # T2 breaks only the warn rule
    assert outcome.checked == 6 and outcome.quarantined == 3
    assert outcome.checked == len(passed) + outcome.quarantined
    rows = {r["row_key"]: r for r in quarantine(spark, ctx).collect()}
    assert {k: list(r["rules"]) for k, r in rows.items()} == {
        '{"ticket_id":"T4"}': ["priority_values"],
        '{"ticket_id":null}': ["id_not_null"],
        '{"ticket_id":"T5"}': ["priority_values"],
    }
    row = rows['{"ticket_id":null}']
    assert json.loads(row["row"]) == {"ticket_id": None, "priority": "Low", "n": 3}
    assert (row["table"], row["run_id"], row["occurrences"]) == ("gold.fct_t", "r1", 1)
    assert isinstance(row["quarantined_at"], dt.datetime)


def test_per_rule_counts_are_recorded_also_when_nothing_failed(spark: SparkSession, lakehouse: AppConfig) -> None:
    ctx = RunContext(lakehouse, run_id="r1")
    _, outcome = run(spark, ctx, GOOD + BAD)
    expected = (
        RuleShare("gold.fct_t", "id_not_null", "not_null", "block", 6, 1),
        RuleShare("gold.fct_t", "id_unique", "unique", "block", 6, 0),
        RuleShare("gold.fct_t", "priority_values", "accepted_values", "block", 6, 2),
        RuleShare("gold.fct_t", "n_non_negative", "range", "warn", 6, 2),
    )
    assert outcome.counts == expected
    results = spark.read.format("delta").load(ctx.table("ops", "dq_results").path)
    recorded = sorted((r["run_id"], r["table"], r["rule"], r["check"], r["severity"], r["checked"], r["failed"])
                      for r in results.collect())
    assert recorded == sorted(("r1", c.table, c.rule, c.check, c.severity, c.checked, c.failed) for c in expected)
    assert results.where("recorded_at IS NULL").count() == 0
    run(spark, RunContext(lakehouse, run_id="r2"), GOOD)
    assert spark.read.format("delta").load(ctx.table("ops", "dq_results").path).where("run_id = 'r2'").count() == 4


def test_warn_failures_are_logged_with_rule_and_count(
    spark: SparkSession, lakehouse: AppConfig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="careplus_spark.quality.engine"):
        run(spark, RunContext(lakehouse), GOOD)
    assert [r.getMessage() for r in caplog.records if r.name == "careplus_spark.quality.engine"] == [
        "gold.fct_t: rule n_non_negative (range, warn) failed on 1 of 3 rows; rows kept (warn)"
    ]


def test_shares_above_their_thresholds_are_alarms_recorded_with_the_counts(
    spark: SparkSession, lakehouse: AppConfig, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = RunContext(lakehouse, run_id="r1")
    with caplog.at_level(logging.WARNING, logger="careplus_spark.quality.alarms"):
        _, outcome = run(spark, ctx, GOOD + BAD, step="gold_t")
    assert [(s.rule, s.alarm) for s in outcome.shares] == [
        ("id_not_null", "warn"), ("id_unique", None), ("priority_values", "warn"), ("n_non_negative", "warn")
    ]
    results = spark.read.format("delta").load(ctx.table("ops", "dq_results").path)
    recorded = {r["rule"]: (r["step"], r["share"], r["threshold"], r["alarm"]) for r in results.collect()}
    assert recorded == {
        "id_not_null": ("gold_t", 1 / 6, 0.01, "warn"),
        "id_unique": ("gold_t", 0.0, 0.01, None),
        "priority_values": ("gold_t", 2 / 6, 0.01, "warn"),
        "n_non_negative": ("gold_t", 2 / 6, 0.05, "warn"),
    }
    assert "gold_t: data-quality alarm (warn): gold.fct_t.id_not_null: 1 of 6 rows (16.67%) > threshold 1.00%" in [
        r.getMessage() for r in caplog.records if r.name == "careplus_spark.quality.alarms"
    ]


def test_enforce_never_raises_an_alarm_itself(spark: SparkSession, lakehouse: AppConfig) -> None:
    failing = replace(lakehouse, quality=replace(lakehouse.quality,
                                                 alarms=replace(lakehouse.quality.alarms, action="fail")))
    _, outcome = run(spark, RunContext(failing), GOOD + BAD)  # the caller raises, once its writes are done
    assert {s.rule for s in outcome.shares if s.alarm == "fail"} == {"id_not_null", "priority_values", "n_non_negative"}


def test_a_rerun_with_the_same_input_writes_no_quarantine_version(spark: SparkSession, lakehouse: AppConfig) -> None:
    run(spark, RunContext(lakehouse, run_id="r1"), GOOD + BAD)
    before = version(spark, RunContext(lakehouse), "gold", "quarantine")
    _, outcome = run(spark, RunContext(lakehouse, run_id="r2"), GOOD + BAD)
    assert version(spark, RunContext(lakehouse), "gold", "quarantine") == before
    assert "gold.quarantine" not in outcome.versions and "ops.dq_results" in outcome.versions
    assert {r["run_id"] for r in quarantine(spark, RunContext(lakehouse)).collect()} == {"r1"}


def test_a_fixed_row_leaves_the_quarantine_and_passes(spark: SparkSession, lakehouse: AppConfig) -> None:
    run(spark, RunContext(lakehouse, run_id="r1"), GOOD + BAD)
    passed, outcome = run(spark, RunContext(lakehouse, run_id="r2"), [("T4", "High", 2)])
    assert passed == [("T4", "High", 2)] and outcome.quarantined == 0
    assert set(quarantined(spark, RunContext(lakehouse))) == {'{"ticket_id":null}', '{"ticket_id":"T5"}'}


def test_a_changed_blocked_row_replaces_its_quarantine_row(spark: SparkSession, lakehouse: AppConfig) -> None:
    run(spark, RunContext(lakehouse, run_id="r1"), GOOD + BAD)
    run(spark, RunContext(lakehouse, run_id="r2"), [("T4", "Medium", 2)])
    rows = quarantine(spark, RunContext(lakehouse)).where("row_key = '{\"ticket_id\":\"T4\"}'").collect()
    assert [(json.loads(r["row"])["priority"], r["run_id"]) for r in rows] == [("Medium", "r2")]


def test_rows_out_of_scope_stay_quarantined(spark: SparkSession, lakehouse: AppConfig) -> None:
    run(spark, RunContext(lakehouse, run_id="r1"), GOOD + BAD)
    run(spark, RunContext(lakehouse, run_id="r2"), [("T9", "High", 1)])
    assert len(quarantined(spark, RunContext(lakehouse))) == 3


def test_scope_keys_remove_quarantine_rows_of_rows_removed_upstream(spark: SparkSession, lakehouse: AppConfig) -> None:
    run(spark, RunContext(lakehouse, run_id="r1"), GOOD + BAD)
    deleted = spark.createDataFrame([("T5",)], "ticket_id STRING")
    _, outcome = run(spark, RunContext(lakehouse, run_id="r2"), [("T9", "High", 1)], scope_keys=deleted)
    assert set(quarantined(spark, RunContext(lakehouse))) == {'{"ticket_id":"T4"}', '{"ticket_id":null}'}
    assert "gold.quarantine" in outcome.versions


def test_scope_keys_need_the_key_columns(spark: SparkSession, lakehouse: AppConfig) -> None:
    wrong = spark.createDataFrame([("T5",)], "id STRING")
    with pytest.raises(SchemaError, match=r"key of the scope keys: missing required column\(s\) \['ticket_id'\]"):
        run(spark, RunContext(lakehouse), GOOD, scope_keys=wrong)


def test_full_mode_replaces_the_tables_quarantine_rows(spark: SparkSession, lakehouse: AppConfig) -> None:
    run(spark, RunContext(lakehouse, run_id="r1"), GOOD + BAD)
    other = parse_rules("gold.other", RULES, "inline.yaml")
    with enforce(spark, RunContext(lakehouse), other, spark.createDataFrame([("X1", "Hgh", 1)], SCHEMA)):
        pass
    run(spark, RunContext(lakehouse, run_id="r2", full_refresh=True), [("T9", "Hgh", 1)])
    rows = sorted((r["table"], r["row_key"]) for r in quarantine(spark, RunContext(lakehouse)).collect())
    assert rows == [("gold.fct_t", '{"ticket_id":"T9"}'), ("gold.other", '{"ticket_id":"X1"}')]
    run(spark, RunContext(lakehouse, run_id="r3"), [("T9", "High", 1)], full=True)
    assert [r["table"] for r in quarantine(spark, RunContext(lakehouse)).collect()] == ["gold.other"]


def test_duplicate_keys_are_all_quarantined(spark: SparkSession, lakehouse: AppConfig) -> None:
    rows = [("T1", "High", 1), ("T1", "Low", 2), ("T1", "Low", 2), ("T2", "High", 1)]
    passed, outcome = run(spark, RunContext(lakehouse, run_id="r1"), rows)
    assert passed == [("T2", "High", 1)] and outcome.quarantined == 3
    stored = quarantine(spark, RunContext(lakehouse)).collect()
    assert sorted((json.loads(r["row"])["n"], r["occurrences"], list(r["rules"])) for r in stored) == [
        (1, 1, ["id_unique"]), (2, 2, ["id_unique"])
    ]
    assert sum(r["occurrences"] for r in stored) == outcome.quarantined


def test_a_blocked_row_seen_more_often_is_updated_in_place(spark: SparkSession, lakehouse: AppConfig) -> None:
    run(spark, RunContext(lakehouse, run_id="r1"), [("T1", "High", 1)] * 2)
    run(spark, RunContext(lakehouse, run_id="r2"), [("T1", "High", 1)] * 3)
    from delta.tables import DeltaTable

    last = DeltaTable.forPath(spark, RunContext(lakehouse).table("gold", "quarantine").path).history(1).first()
    assert last["operationMetrics"]["numTargetRowsUpdated"] == "1"  # type: ignore[index]
    rows = quarantine(spark, RunContext(lakehouse)).collect()
    assert [(r["occurrences"], r["run_id"], list(r["rules"])) for r in rows] == [(3, "r2", ["id_unique"])]


def test_blocked_keys_list_each_blocked_key_once(spark: SparkSession, lakehouse: AppConfig) -> None:
    rows = [("T1", "High", 1), ("T1", "Low", 2), ("T2", "Hgh", 1), ("T3", "High", 1)]
    df = spark.createDataFrame(rows, SCHEMA)
    with enforce(spark, RunContext(lakehouse), ticket_rules(), df) as outcome:
        expected = spark.createDataFrame([("T1",), ("T2",)], "ticket_id STRING")
        assert_df_equality(outcome.blocked_keys, expected, ignore_row_order=True, ignore_nullable=True)


def test_references_warn_and_keep_the_row(spark: SparkSession, lakehouse: AppConfig) -> None:
    ctx = RunContext(lakehouse, run_id="r1")
    tickets = spark.createDataFrame([("T1",), ("T2",)], "ticket_id STRING")
    tables.upsert(spark, tickets, ctx.table("silver", "tickets"), keys=["ticket_id"])
    logs = spark.createDataFrame([("e1", "T1"), ("e2", "T404"), ("e3", None)], "event_id STRING, ticket_id STRING")
    rules = parse_rules("gold.fct_l", {"key": "event_id", "rules": [
        {"name": "ticket_exists", "check": "references", "column": "ticket_id", "to": "silver.tickets.ticket_id",
         "severity": "warn"}]}, "inline.yaml")
    with enforce(spark, ctx, rules, logs) as outcome:
        assert_df_equality(outcome.passed, logs, ignore_row_order=True)
    assert [(c.rule, c.failed, c.severity) for c in outcome.counts] == [("ticket_exists", 1, "warn")]
    assert outcome.quarantined == 0 and quarantine(spark, ctx).count() == 0


def test_a_reference_to_a_missing_column_names_the_rule(spark: SparkSession, lakehouse: AppConfig) -> None:
    ctx = RunContext(lakehouse)
    tables.upsert(spark, spark.createDataFrame([("T1",)], "id STRING"), ctx.table("silver", "tickets"), keys=["id"])
    rules = parse_rules("gold.fct_l", {"key": "event_id", "rules": [
        {"name": "ticket_exists", "check": "references", "column": "ticket_id", "to": "silver.tickets.ticket_id",
         "severity": "warn"}]}, "inline.yaml")
    logs = spark.createDataFrame([("e1", "T1")], "event_id STRING, ticket_id STRING")
    message = r"rule 'ticket_exists' references silver\.tickets\.ticket_id: .*\['id'\]"
    with pytest.raises(SchemaError, match=message), enforce(spark, ctx, rules, logs):
        pass


def test_a_table_without_rules_passes_everything(spark: SparkSession, lakehouse: AppConfig) -> None:
    rules = load_rules("gold.kpi_none", lakehouse.quality.rules_dir or None, missing_ok=True)
    df = spark.createDataFrame(GOOD, SCHEMA)
    with enforce(spark, RunContext(lakehouse), rules, df) as outcome:
        assert_df_equality(outcome.passed, df, ignore_row_order=True)
    assert (outcome.counts, outcome.checked, outcome.quarantined, dict(outcome.versions)) == ((), 3, 0, {})
    assert not tables.exists(spark, RunContext(lakehouse).table("gold", "quarantine"))
