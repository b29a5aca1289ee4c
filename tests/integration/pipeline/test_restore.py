"""Restore and backfill on real runs: ``careplus restore`` of a gold table and of bronze.tickets
followed by a run, ``ingest_tickets --since`` re-reading exactly the rows updated since a date."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from careplus_spark.bronze.ticket_cursor import cursor_name
from careplus_spark.errors import ConfigError
from careplus_spark.lakehouse import catalog, delta, state, tables
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.pipeline import restore, steps
from careplus_spark.platform.config import AppConfig
from tests.integration.pipeline.conftest import add_day

pytestmark = pytest.mark.integration

LINEAGE = {"_run_id", "_processed_at", "_extracted_at", "_cursor_from", "_cursor_to"}


def rows(spark: SparkSession, path: str) -> list[tuple[object, ...]]:
    df = spark.read.format("delta").load(path)
    return sorted(tuple(r) for r in df.select(*[c for c in df.columns if c not in LINEAGE]).collect())


def gold(spark: SparkSession, cfg: AppConfig) -> dict[str, list[tuple[object, ...]]]:
    return {t.qualified: rows(spark, t.ref(cfg.lakehouse.root).path) for t in catalog.models()
            if tables.exists(spark, t.ref(cfg.lakehouse.root))}


def test_restoring_a_gold_table_and_running_gives_gold_as_before_the_bad_change(
    spark: SparkSession, cfg: AppConfig
) -> None:
    steps.run_steps(spark, RunContext(cfg), [])
    before = gold(spark, cfg)
    facts = catalog.FCT_TICKETS.ref(cfg.lakehouse.root).path
    good = delta.latest_version(spark, facts)

    DeltaTable.forPath(spark, facts).delete("priority = 'High'")  # a bad change ...
    steps.run_steps(spark, RunContext(cfg), ["gold_summary", "gold_kpis"])  # ... that reached the models after it
    assert gold(spark, cfg) != before

    result = restore.restore(spark, RunContext(cfg), "gold.fct_tickets", version=good)
    assert f"to version {good}" in result.detail and "gold.fct_ticket_log_summary<-gold.fct_tickets" in result.detail
    steps.run_steps(spark, RunContext(cfg), [])
    assert gold(spark, cfg) == before

    with pytest.raises(ConfigError, match="earlier version"):
        restore.restore(spark, RunContext(cfg), "gold.fct_tickets", version=delta.latest_version(spark, facts))


def test_restoring_bronze_tickets_moves_the_cursor_back_and_the_next_run_reads_again(
    spark: SparkSession, cfg: AppConfig
) -> None:
    steps.run_steps(spark, RunContext(cfg), ["ingest_tickets", "silver_tickets"])
    bronze = catalog.BRONZE_TICKETS.ref(cfg.lakehouse.root).path
    good = delta.latest_version(spark, bronze)
    cursors = catalog.CURSORS.ref(cfg.lakehouse.root)
    name = cursor_name(cfg.sources.tickets)
    good_cursor = state.load(spark, cursors, name).value  # type: ignore[union-attr]
    add_day(cfg, 1)
    steps.run_steps(spark, RunContext(cfg), ["ingest_tickets", "silver_tickets"])
    after_day_1 = rows(spark, bronze), rows(spark, catalog.SILVER_TICKETS.ref(cfg.lakehouse.root).path)

    when, latest = dt.datetime.now(dt.UTC), delta.latest_version(spark, bronze)
    restore.restore(spark, RunContext(cfg), "bronze.tickets", version=good)
    assert state.load(spark, cursors, name).value == good_cursor  # type: ignore[union-attr]
    assert restore.version_at(spark, bronze, when) == latest  # the version at a time: the one before the restore

    steps.run_steps(spark, RunContext(cfg), ["ingest_tickets", "silver_tickets"])  # day 1 again
    assert (rows(spark, bronze), rows(spark, catalog.SILVER_TICKETS.ref(cfg.lakehouse.root).path)) == after_day_1


def test_since_rereads_exactly_the_tickets_updated_since_and_changes_nothing(
    spark: SparkSession, cfg: AppConfig
) -> None:
    add_day(cfg, 1)
    steps.run_steps(spark, RunContext(cfg), ["ingest_tickets"])
    bronze = catalog.BRONZE_TICKETS.ref(cfg.lakehouse.root).path
    version = delta.latest_version(spark, bronze)
    database = cfg.sources.tickets.url.removeprefix("jdbc:sqlite:")
    with sqlite3.connect(database) as db:
        (total,) = db.execute("SELECT COUNT(*) FROM support_tickets").fetchone()
        (since_day_1,) = db.execute(
            "SELECT COUNT(*) FROM support_tickets WHERE updated_at >= ?", ("2025-07-02 00:00:00",)).fetchone()
    assert 0 < since_day_1 < total

    (result,) = steps.run_steps(spark, RunContext(cfg, since=dt.date(2025, 7, 2)), ["ingest_tickets"])
    assert (result.rows_read, result.rows_written, result.rows_updated) == (since_day_1, 0, 0)
    assert delta.latest_version(spark, bronze) == version  # nothing changed: no commit
    (everything,) = steps.run_steps(spark, RunContext(cfg, since=dt.date(2025, 6, 1)), ["ingest_tickets"])
    assert everything.rows_read == total and delta.latest_version(spark, bronze) == version
