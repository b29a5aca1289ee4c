"""silver.tickets from bronze.tickets (real MariaDB source): cleaning, quarantine, changes, deletes."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from careplus_spark.bronze import reconcile as bronze_reconcile
from careplus_spark.bronze import tickets as bronze_tickets
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.platform.config import AppConfig
from careplus_spark.silver import tickets as silver_tickets
from careplus_spark.synthetic import LAYOUTS, GenerateSpec, generate, sink_for_url
from tests.integration.bronze.test_tickets_incremental import COLUMNS, Source
from tests.synthetic_support import epoch_micros, expected_utc, layout_of

pytestmark = pytest.mark.integration

T0 = dt.datetime(2025, 7, 1, 8, 0, 0)


@pytest.fixture
def cfg(mysql_cfg: AppConfig) -> AppConfig:
    tickets = replace(mysql_cfg.sources.tickets, table=f"sil_{uuid.uuid4().hex[:8]}", reconcile_every_runs=0)
    return replace(mysql_cfg, sources=replace(mysql_cfg.sources, tickets=tickets))


@pytest.fixture
def src(cfg: AppConfig, mysql_db) -> Source:  # type: ignore[no-untyped-def]
    return Source(mysql_db, cfg.sources.tickets.table)


def put(src: Source, *rows: tuple) -> None:
    with src.db.connect() as conn, conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {src.table} ({COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", rows)


def run(spark: SparkSession, cfg: AppConfig):  # type: ignore[no-untyped-def]
    bronze_tickets.ingest(spark, RunContext(cfg))
    return silver_tickets.build(spark, RunContext(cfg))


def table(spark: SparkSession, cfg: AppConfig, name: str):  # type: ignore[no-untyped-def]
    return spark.read.format("delta").load(RunContext(cfg).table("silver", name).path)


DIRTY = (
    ("TCK0701000", "2025-07-01 09:00:00", T0, None, "Alice Johnson  ", " hgh ", "-999999", "Billing ", "chat", "OPEN",
     "ok "),
    ("TCK0701001", "01/07/2025 09:30", T0, "2025-07-01T11:00:00Z", "Brian Smith", "Medum", "4", "Refund Request",
     "Web Form", "resolved", "fine"),
    ("TCK0701002", "TBD", T0, None, "Brian Smith", "Lw", "n/a", "Login Problem", "Phone", "Open", "x"),
    ("TCK0701003", "2025-07-01T10:00:00", T0, "0000-00-00 00:00:00", "Diana Lopez", "Low", "2", "Billing", "EMAIL ",
     "Closed", "Très bon 👍"),
)


def test_first_run_cleans_types_and_quarantines(spark: SparkSession, cfg: AppConfig, src: Source) -> None:
    put(src, *DIRTY)
    ctx = RunContext(cfg)
    bronze_tickets.ingest(spark, ctx)
    result = silver_tickets.build(spark, ctx)
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (4, 3, 1)
    assert "silver 3 + quarantine 1 = live bronze 4" in result.detail
    got = table(spark, cfg, "tickets").select(
        "ticket_id", "created_at", "resolved_at", "agent", "priority", "num_interactions", "issue_cat", "channel",
        "status", "resolution_time_mins", "is_open",
    )
    want = spark.createDataFrame(
        [
            ("TCK0701000", dt.datetime(2025, 7, 1, 9), None, "Alice Johnson", "High", None, "Billing", "Chat", "Open",
             None, True),
            ("TCK0701001", dt.datetime(2025, 7, 1, 9, 30), dt.datetime(2025, 7, 1, 11), "Brian Smith", "Medium", 4,
             "Refund Request", "Web Form", "Resolved", 90, False),
            ("TCK0701003", dt.datetime(2025, 7, 1, 10), None, "Diana Lopez", "Low", 2, "Billing", "Email", "Closed",
             None, False),
        ],
        "ticket_id string, created_at timestamp, resolved_at timestamp, agent string, priority string, "
        "num_interactions int, issue_cat string, channel string, status string, resolution_time_mins int, "
        "is_open boolean",
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)
    quarantined = table(spark, cfg, "tickets_quarantine").collect()
    assert [(r.ticket_id, r._rule, r._run_id) for r in quarantined] == [
        ("TCK0701002", "unparseable_created_at", ctx.run_id)
    ]
    assert '"created_at":"TBD"' in quarantined[0]._raw
    assert '"resolved_at":null' in quarantined[0]._raw  # every source column shown, NULLs too


def test_later_run_merges_only_the_changed_tickets(spark: SparkSession, cfg: AppConfig, src: Source) -> None:
    put(src, *DIRTY)
    first = RunContext(cfg)
    bronze_tickets.ingest(spark, first)
    silver_tickets.build(spark, first)
    src.resolve("TCK0701000", T0 + dt.timedelta(days=1))
    put(src, ("TCK0702000", "2025-07-02 08:00:00", T0 + dt.timedelta(days=1), None, "Hannah Lee", "High", "1",
              "Billing", "Chat", "Open", "new"))
    result = run(spark, cfg)
    assert (result.rows_read, result.rows_written, result.rows_updated) == (2, 1, 1)
    assert "change data feed" in result.detail
    runs = {r.ticket_id: r._run_id for r in table(spark, cfg, "tickets").collect()}
    assert runs["TCK0701001"] == runs["TCK0701003"] == first.run_id  # untouched rows were not rewritten
    assert runs["TCK0701000"] != first.run_id
    resolved = table(spark, cfg, "tickets").where("ticket_id = 'TCK0701000'").first()
    assert (resolved.status, resolved.is_open) == ("Resolved", False)


def test_rerun_with_nothing_new_reads_and_writes_nothing(spark: SparkSession, cfg: AppConfig, src: Source) -> None:
    put(src, *DIRTY)
    run(spark, cfg)
    again = silver_tickets.build(spark, RunContext(cfg))
    assert (again.rows_read, again.versions) == (0, {})
    assert "unchanged" in again.detail


def test_deleted_tickets_leave_silver_and_quarantine(spark: SparkSession, cfg: AppConfig, src: Source) -> None:
    put(src, *DIRTY)
    run(spark, cfg)
    src.sql(f"DELETE FROM {src.table} WHERE ticket_id IN ('TCK0701001', 'TCK0701002')")
    bronze_reconcile.reconcile(spark, RunContext(cfg))
    result = silver_tickets.build(spark, RunContext(cfg))
    assert "2 deleted at the source; removed from silver 1" in result.detail
    assert {r.ticket_id for r in table(spark, cfg, "tickets").collect()} == {"TCK0701000", "TCK0701003"}
    assert table(spark, cfg, "tickets_quarantine").count() == 0
    assert "silver 2 + quarantine 0 = live bronze 2" in result.detail


def test_ticket_repaired_at_the_source_moves_from_quarantine_to_silver(
    spark: SparkSession, cfg: AppConfig, src: Source
) -> None:
    put(src, *DIRTY)
    run(spark, cfg)
    src.sql(f"UPDATE {src.table} SET created_at='2025-07-01 09:45:00', updated_at=%s WHERE ticket_id='TCK0701002'",
            (T0 + dt.timedelta(days=1),))
    result = run(spark, cfg)
    assert (result.rows_written, result.rows_quarantined) == (1, 0)
    assert table(spark, cfg, "tickets_quarantine").count() == 0
    assert table(spark, cfg, "tickets").where("ticket_id = 'TCK0701002'").first().priority == "Low"


def test_generated_days_reconcile_end_to_end(spark: SparkSession, cfg: AppConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = cfg.sources.tickets
    spec = GenerateSpec(seed=11, start_date=dt.date(2025, 7, 1), days=2, tickets_per_day=60, log_files_per_day=0,
                        unparseable_created_at=0.05)
    with sink_for_url(source.url, source.user, source.password.reveal(), source.table) as sink:
        generate(spec, sink, None)
    run(spark, cfg)
    with sink_for_url(source.url, source.user, source.password.reveal(), source.table) as sink:
        generate(replace(spec, days=1), sink, None, first_day=2)  # resolutions, new tickets, deletions
    bronze_reconcile.reconcile(spark, RunContext(cfg))
    result = run(spark, cfg)
    assert " != " not in result.detail and "= live bronze" in result.detail
    silver = table(spark, cfg, "tickets")
    assert silver.count() == silver.select("ticket_id").distinct().count()
    assert silver.where("priority NOT IN ('High', 'Medium', 'Low') OR created_at IS NULL").count() == 0


def test_every_generated_layout_reaches_silver_and_only_garbage_is_quarantined(
    spark: SparkSession, cfg: AppConfig, mysql_db  # type: ignore[no-untyped-def]
) -> None:
    source = cfg.sources.tickets
    layouts = {f"ts_{name}": 0.07 for name in LAYOUTS if name != "month_first"}
    spec = GenerateSpec(seed=5, days=1, tickets_per_day=150, log_files_per_day=0, zero_date=0.03,
                        unparseable_created_at=0.05).with_rates(layouts)
    with sink_for_url(source.url, source.user, source.password.reveal(), source.table) as sink:
        generate(spec, sink, None)
    with mysql_db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT ticket_id, created_at, resolved_at FROM {source.table}")
        texts = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
    assert {layout_of(v) for pair in texts.values() for v in pair} >= {*LAYOUTS} - {"month_first"}
    result = run(spark, cfg)
    garbage = {tid for tid, (created, _) in texts.items() if expected_utc(created) is None}
    assert garbage and result.rows_quarantined == len(garbage)
    quarantined = {r.ticket_id: r for r in table(spark, cfg, "tickets_quarantine").collect()}
    assert set(quarantined) == garbage
    for tid, row in quarantined.items():
        assert row._rule == "unparseable_created_at"
        assert f'"created_at":"{texts[tid][0]}"' in row._raw  # the raw value next to the rule
    got = table(spark, cfg, "tickets").select(
        "ticket_id", F.unix_micros("created_at").alias("created"), F.unix_micros("resolved_at").alias("resolved")
    )
    want = [(tid, epoch_micros(expected_utc(c)), epoch_micros(expected_utc(r)))
            for tid, (c, r) in texts.items() if tid not in garbage]
    assert_df_equality(got, spark.createDataFrame(want, "ticket_id string, created bigint, resolved bigint"),
                       ignore_row_order=True, ignore_nullable=True)
