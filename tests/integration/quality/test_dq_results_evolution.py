"""ops.dq_results written by the version before the alarms: status reads it, the next append evolves it."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import SparkSession

from careplus_spark.lakehouse import catalog, tables
from careplus_spark.lakehouse.run import RuleShare, RunContext
from careplus_spark.pipeline.status import QualitySummary, quality_summary
from careplus_spark.platform.config import AppConfig
from careplus_spark.quality import store

pytestmark = pytest.mark.integration

#: The schema of ops.dq_results before the alarms (as that version created it: NOT NULL columns).
OLD_SCHEMA = (
    "run_id string not null, table string not null, rule string not null, check string not null, "
    "severity string not null, checked bigint not null, failed bigint not null, recorded_at timestamp not null"
)


def old_table(spark: SparkSession, ctx: RunContext) -> tables.TableRef:
    ref = ctx.ref(catalog.DQ_RESULTS)
    rows = [("old", "gold.fct_tickets", "agent_not_null", "not_null", "warn", 40, 4, dt.datetime(2025, 7, 1, 2)),
            ("old", "gold.fct_tickets", "ticket_id_unique", "unique", "block", 40, 0, dt.datetime(2025, 7, 1, 2))]
    df = spark.createDataFrame(rows, OLD_SCHEMA)
    tables.create_if_missing(spark, ref, df)
    df.write.format("delta").mode("append").save(ref.path)
    return ref


def test_status_reads_a_table_without_the_alarm_columns(spark: SparkSession, lakehouse: AppConfig) -> None:
    ref = old_table(spark, RunContext(lakehouse))
    assert quality_summary(spark, ref) == QualitySummary(
        "old", 2, (("", "", "gold.fct_tickets.agent_not_null", "warn", 40, 4, 0.1, None),)
    )


def test_an_append_adds_the_alarm_columns_to_an_older_table(spark: SparkSession, lakehouse: AppConfig) -> None:
    ctx = RunContext(lakehouse, run_id="new")
    ref = old_table(spark, ctx)
    share = RuleShare("silver.tickets", "unparseable_created_at", "timestamp", "block", 50, 2, 0.01, "warn")
    assert store.append_results(spark, ref, [share], ctx.run_id, "silver_tickets") is not None
    df = spark.read.format("delta").load(ref.path)
    assert df.columns == [f.name for f in store.RESULTS_SCHEMA.fields]
    old = df.where("run_id = 'old'").select("step", "share", "threshold", "alarm").distinct().collect()
    assert [tuple(r) for r in old] == [(None, None, None, None)]
    new = df.where("run_id = 'new'").first()
    assert (new["step"], new["share"], new["threshold"], new["alarm"], new["failed"]) == (
        "silver_tickets", 0.04, 0.01, "warn", 2)
    summary = quality_summary(spark, ref)
    assert summary is not None and summary.run_id == "new"
    assert summary.rows == (("warn", "silver_tickets", "silver.tickets.unparseable_created_at", "block", 50, 2, 0.04,
                             0.01),)
