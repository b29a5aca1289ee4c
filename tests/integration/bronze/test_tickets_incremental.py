"""Incremental, loss-free extraction of tickets from a real MariaDB server into bronze.

Every test has its own source table and lakehouse; rows are written with explicit
``updated_at`` values so that the windows, ties and late commits are exact.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest
from pyspark.sql import SparkSession

from careplus_spark.bronze import reconcile as bronze_reconcile
from careplus_spark.bronze import tickets as bronze_tickets
from careplus_spark.bronze.ticket_cursor import ReconcileSchedule, cursor_name
from careplus_spark.errors import (
    AuthenticationError,
    SchemaError,
    SourceUnavailableError,
)
from careplus_spark.lakehouse import state as cursor_state
from careplus_spark.lakehouse import tables
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.secrets import Secret
from careplus_spark.sources.tickets_extract import SchemaDriftError

pytestmark = pytest.mark.integration

T0 = dt.datetime(2025, 7, 1, 8, 0, 0)
COLUMNS = (
    "ticket_id, created_at, updated_at, resolved_at, agent, priority, num_interactions, IssUeCat, channel, status, "
    "agent_feedback"
)
DDL = """(
    ticket_id VARCHAR(32) NOT NULL, created_at VARCHAR(64), updated_at DATETIME(6) NOT NULL,
    resolved_at VARCHAR(64) NULL, agent VARCHAR(64), priority VARCHAR(32), num_interactions VARCHAR(32),
    IssUeCat VARCHAR(64), channel VARCHAR(32), status VARCHAR(32), agent_feedback TEXT,
    PRIMARY KEY (ticket_id), KEY idx_updated_at (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"""


class Source:
    """The test's own support_tickets table in the session's MariaDB database."""

    def __init__(self, mysql_db, table: str) -> None:  # type: ignore[no-untyped-def]
        self.db = mysql_db
        self.table = table
        self.sql(f"CREATE TABLE {table} {DDL}")

    def sql(self, statement: str, params: Sequence[object] = ()) -> list[tuple]:
        with self.db.connect() as conn, conn.cursor() as cur:
            cur.execute(statement, tuple(params) or None)
            return list(cur.fetchall())

    def insert(self, ids: Sequence[str], updated_at: dt.datetime, priority: str = "Hgh") -> None:
        rows = [
            (tid, "2025-07-01 07:00:00", updated_at, None, "Alice Johnson ", priority, "3", "Billing", "Chat", "Open",
             "ok")
            for tid in ids
        ]
        with self.db.connect() as conn, conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {self.table} ({COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", rows)

    def resolve(self, tid: str, updated_at: dt.datetime) -> None:
        self.sql(
            f"UPDATE {self.table} SET status='Resolved', resolved_at='2025-07-02 09:00:00', updated_at=%s "
            "WHERE ticket_id=%s",
            (updated_at, tid),
        )

    def rows(self) -> dict[str, tuple]:
        found = self.sql(f"SELECT ticket_id, status, resolved_at, updated_at FROM {self.table}")
        return {r[0]: (r[1], r[2], r[3]) for r in found}


def ids(prefix: str, n: int, start: int = 0) -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(start, start + n)]


def bronze(spark: SparkSession, cfg: AppConfig):  # type: ignore[no-untyped-def]
    return spark.read.format("delta").load(RunContext(cfg).table("bronze", "tickets").path)


def live_rows(spark: SparkSession, cfg: AppConfig) -> dict[str, tuple]:
    df = bronze(spark, cfg).where("_deleted_at IS NULL")
    return {r.ticket_id: (r.status, r.resolved_at, r.updated_at) for r in df.collect()}


def version(spark: SparkSession, cfg: AppConfig) -> int:
    info = tables.table_info(spark, RunContext(cfg).table("bronze", "tickets"))
    return -1 if info is None else info.version


def state(spark: SparkSession, cfg: AppConfig) -> cursor_state.CursorState | None:
    ctx = RunContext(cfg)
    return cursor_state.load(spark, ctx.table("ops", "cursors"), cursor_name(cfg.sources.tickets))


def ingest(spark: SparkSession, cfg: AppConfig):  # type: ignore[no-untyped-def]
    return bronze_tickets.ingest(spark, RunContext(cfg))


def with_source(cfg: AppConfig, **changes: object) -> AppConfig:
    return replace(cfg, sources=replace(cfg.sources, tickets=replace(cfg.sources.tickets, **changes)))


@pytest.fixture
def cfg(mysql_cfg: AppConfig) -> AppConfig:
    return with_source(
        mysql_cfg,
        table=f"inc_{uuid.uuid4().hex[:8]}",
        num_partitions=2,
        partition_min_rows=1,
        lookback_minutes=60,
        reconcile_every_runs=0,
        retries=2,
        retry_backoff_s=0.2,
    )


@pytest.fixture
def src(cfg: AppConfig, mysql_db) -> Source:  # type: ignore[no-untyped-def]
    return Source(mysql_db, cfg.sources.tickets.table)


def test_first_load_reads_key_ranges_in_parallel(spark: SparkSession, cfg: AppConfig, src: Source, caplog) -> None:  # type: ignore[no-untyped-def]
    src.insert(ids("TCK07010", 40), T0)
    src.insert(ids("TCK07020", 20), T0 + dt.timedelta(hours=1))
    with caplog.at_level(logging.INFO, logger="careplus_spark.sources.tickets_extract"):
        result = ingest(spark, cfg)
    assert (result.rows_read, result.rows_written, result.rows_updated) == (60, 60, 0)
    assert "2 partition(s) by key" in caplog.text
    assert live_rows(spark, cfg) == src.rows()
    saved = state(spark, cfg)
    assert saved is not None and saved.value == "2025-07-01 09:00:00.000000"
    last = bronze(spark, cfg).where("_cursor_to IS NOT NULL").select("_cursor_from", "_cursor_to").distinct().collect()
    assert [(r._cursor_from, r._cursor_to) for r in last] == [(None, "2025-07-01 09:00:00.000000")]


def test_incremental_run_reads_only_the_window_and_merges_updates(  # type: ignore[no-untyped-def]
    spark: SparkSession, cfg: AppConfig, src: Source, caplog
) -> None:
    src.insert(ids("TCK07010", 30), T0)
    src.insert(["TCK07019999"], T0 + dt.timedelta(hours=5))  # the cursor: the overlap holds this row only
    ingest(spark, cfg)
    later = T0 + dt.timedelta(days=1)
    src.resolve("TCK070100003", later)  # an old ticket resolved a day later
    src.insert(ids("TCK07020", 5), later + dt.timedelta(minutes=1))
    with caplog.at_level(logging.INFO, logger="careplus_spark.sources.tickets_extract"):
        result = ingest(spark, cfg)
    assert (result.rows_read, result.rows_written, result.rows_updated) == (7, 5, 1)
    assert "by cursor" in caplog.text
    assert live_rows(spark, cfg) == src.rows()


def test_late_commit_inside_the_overlap_is_not_lost(spark: SparkSession, cfg: AppConfig, src: Source) -> None:
    src.insert(ids("TCK07010", 10), T0)
    src.insert(["TCK070109999"], T0 + dt.timedelta(hours=2))
    ingest(spark, cfg)  # cursor: T0 + 2h
    src.insert(["TCK07011LATE"], T0 + dt.timedelta(hours=2) - dt.timedelta(minutes=25))  # committed late
    result = ingest(spark, cfg)
    assert (result.rows_written, result.rows_updated) == (1, 0)
    assert live_rows(spark, cfg) == src.rows()


def test_rows_sharing_the_boundary_timestamp_are_not_lost(spark: SparkSession, cfg: AppConfig, src: Source) -> None:
    exact = with_source(cfg, lookback_minutes=0)  # no overlap at all: the inclusive boundary alone must do
    boundary = T0 + dt.timedelta(hours=3, microseconds=250)
    src.insert(ids("TCK07010", 5), T0)
    src.insert(["TCK07010B"], boundary)
    ingest(spark, exact)
    src.insert(["TCK07010A"], boundary)  # same timestamp, smaller key, committed after the run
    result = ingest(spark, exact)
    assert (result.rows_read, result.rows_written, result.rows_updated) == (2, 1, 0)
    assert live_rows(spark, exact) == src.rows()


def test_rerun_with_nothing_new_makes_no_bronze_version(spark: SparkSession, cfg: AppConfig, src: Source) -> None:
    src.insert(ids("TCK07010", 20), T0)
    ingest(spark, cfg)
    before = version(spark, cfg)
    again = ingest(spark, cfg)
    assert (again.rows_written, again.rows_updated, again.versions) == (0, 0, {})
    assert again.rows_skipped == again.rows_read == 20  # the look-back overlap, unchanged
    assert version(spark, cfg) == before


def test_crash_between_bronze_commit_and_cursor_write_neither_loses_nor_doubles(
    spark: SparkSession, cfg: AppConfig, src: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    src.insert(ids("TCK07010", 20), T0)
    ingest(spark, cfg)
    first_cursor = state(spark, cfg).value  # type: ignore[union-attr]
    src.insert(ids("TCK07020", 10), T0 + dt.timedelta(days=1))
    src.resolve("TCK070100001", T0 + dt.timedelta(days=1, minutes=5))

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash after the bronze commit")

    committed_before = version(spark, cfg)
    monkeypatch.setattr(cursor_state, "save", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest(spark, cfg)
    monkeypatch.undo()
    assert version(spark, cfg) == committed_before + 1  # bronze committed ...
    assert state(spark, cfg).value == first_cursor  # type: ignore[union-attr]  # ... the state did not
    history = bronze_history(spark, cfg)
    assert history[0]["cursor_value"] == "2025-07-02 08:05:00.000000"

    src.insert(ids("TCK07030", 3), T0 + dt.timedelta(days=2))
    rerun = ingest(spark, cfg)
    # resumed from the committed cursor (3 new + the 11 rows in its overlap), not from the
    # stale state row, whose window would hold all 33 rows
    assert rerun.rows_read == 14
    assert (rerun.rows_written, rerun.rows_updated) == (3, 0)
    assert live_rows(spark, cfg) == src.rows()
    keys = bronze(spark, cfg).groupBy("ticket_id").count().where("count > 1").count()
    assert keys == 0 and bronze(spark, cfg).count() == 33
    assert state(spark, cfg).value == "2025-07-03 08:00:00.000000"  # type: ignore[union-attr]


def bronze_history(spark: SparkSession, cfg: AppConfig) -> list[dict[str, str]]:
    from delta.tables import DeltaTable

    path = RunContext(cfg).table("bronze", "tickets").path
    rows = DeltaTable.forPath(spark, path).history().orderBy("version", ascending=False).collect()
    return [json.loads(r.userMetadata) if r.userMetadata else {} for r in rows]


def test_deletes_are_soft_deleted_by_reconciliation_and_undone_on_return(
    spark: SparkSession, cfg: AppConfig, src: Source
) -> None:
    src.insert(ids("TCK07010", 10), T0)
    ingest(spark, cfg)
    src.sql(f"DELETE FROM {src.table} WHERE ticket_id IN ('TCK070100002', 'TCK070100007')")
    result = bronze_reconcile.reconcile(spark, RunContext(cfg))
    assert (result.rows_read, result.rows_updated) == (10, 2)
    deleted = {r.ticket_id for r in bronze(spark, cfg).where("_deleted_at IS NOT NULL").collect()}
    assert deleted == {"TCK070100002", "TCK070100007"}
    assert bronze(spark, cfg).count() == 10  # soft: the rows stay
    again = bronze_reconcile.reconcile(spark, RunContext(cfg))
    assert (again.rows_updated, again.versions) == (0, {})
    src.insert(["TCK070100002"], T0 + dt.timedelta(days=1))  # the ticket comes back
    back = ingest(spark, cfg)
    assert back.rows_updated == 1
    assert live_rows(spark, cfg) == src.rows()


def test_reconciliation_runs_every_n_ingest_runs(spark: SparkSession, cfg: AppConfig, src: Source) -> None:
    every2 = with_source(cfg, reconcile_every_runs=2)
    src.insert(ids("TCK07010", 6), T0)
    ingest(spark, every2)
    src.sql(f"DELETE FROM {src.table} WHERE ticket_id = 'TCK070100001'")
    second = ingest(spark, every2)
    assert "1 soft-deleted" in second.detail
    assert ReconcileSchedule.of(state(spark, every2)).runs_since == 0
    third = ingest(spark, every2)
    assert "reconciled" not in third.detail and ReconcileSchedule.of(state(spark, every2)).runs_since == 1


def test_reconciliation_refuses_to_delete_everything_for_an_empty_source(
    spark: SparkSession, cfg: AppConfig, src: Source
) -> None:
    from careplus_spark.errors import DataError

    src.insert(ids("TCK07010", 4), T0)
    ingest(spark, cfg)
    src.sql(f"DELETE FROM {src.table}")
    with pytest.raises(DataError, match=r"returned no keys while bronze\.tickets has 4 live rows"):
        bronze_reconcile.reconcile(spark, RunContext(cfg))
    assert bronze(spark, cfg).where("_deleted_at IS NOT NULL").count() == 0


@pytest.fixture
def daily(cfg: AppConfig, mysql_cfg: AppConfig) -> AppConfig:
    """``cfg`` with the shipped reconciliation settings (``cfg`` itself never reconciles)."""
    shipped = mysql_cfg.sources.tickets
    return with_source(cfg, reconcile_every_runs=shipped.reconcile_every_runs,
                       reconcile_max_delete_fraction=shipped.reconcile_max_delete_fraction)


def commit_metadata(spark: SparkSession, cfg: AppConfig) -> dict[str, str]:
    return bronze_history(spark, cfg)[0]


def test_by_default_every_ingest_soft_deletes_in_its_own_commit(
    spark: SparkSession, daily: AppConfig, src: Source
) -> None:
    assert daily.sources.tickets.reconcile_every_runs == 1  # conf/base.yaml: every run
    src.insert(ids("TCK07010", 10), T0)
    ingest(spark, daily)
    before = version(spark, daily)
    src.sql(f"DELETE FROM {src.table} WHERE ticket_id IN ('TCK070100002', 'TCK070100007')")
    src.resolve("TCK070100003", T0 + dt.timedelta(days=1))
    src.insert(["TCK07020NEW"], T0 + dt.timedelta(days=1, minutes=1))
    result = ingest(spark, daily)
    assert "reconciled 9 source keys with 10 live bronze rows: 2 soft-deleted, 0 not yet in bronze" in result.detail
    assert (result.rows_written, result.rows_updated) == (1, 1)
    assert live_rows(spark, daily) == src.rows()
    assert version(spark, daily) == before + 1  # changes and deletions: one commit ...
    assert commit_metadata(spark, daily)["cursor_value"] == "2025-07-02 08:01:00.000000"  # ... with the cursor
    deleted = {r.ticket_id for r in bronze(spark, daily).where("_deleted_at IS NOT NULL").collect()}
    assert deleted == {"TCK070100002", "TCK070100007"} and bronze(spark, daily).count() == 11
    assert ReconcileSchedule.of(state(spark, daily)).runs_since == 0


def test_a_reconciling_rerun_with_nothing_new_makes_no_bronze_version(
    spark: SparkSession, daily: AppConfig, src: Source
) -> None:
    src.insert(ids("TCK07010", 10), T0)
    ingest(spark, daily)
    src.sql(f"DELETE FROM {src.table} WHERE ticket_id = 'TCK070100004'")
    deleting = ingest(spark, daily)  # the window is the unchanged overlap: the deletion alone
    assert "1 soft-deleted" in deleting.detail and deleting.versions
    before, deleted_at = version(spark, daily), bronze(spark, daily).where("_deleted_at IS NOT NULL").first()
    again = ingest(spark, daily)
    assert "0 soft-deleted" in again.detail
    assert (again.rows_written, again.rows_updated, again.versions) == (0, 0, {})
    assert version(spark, daily) == before
    assert bronze(spark, daily).where("_deleted_at IS NOT NULL").collect() == [deleted_at]


def test_a_deletion_in_a_run_with_an_empty_window_commits_alone_keeping_the_cursor(
    spark: SparkSession, daily: AppConfig, src: Source
) -> None:
    src.insert(ids("TCK07010", 5), T0)
    src.insert(["TCK07019999"], T0 + dt.timedelta(hours=5))  # the cursor row, alone in the look-back
    ingest(spark, daily)
    cursor, before = state(spark, daily).value, version(spark, daily)  # type: ignore[union-attr]
    src.sql(f"DELETE FROM {src.table} WHERE ticket_id = 'TCK07019999'")
    result = ingest(spark, daily)
    assert result.rows_read == 0 and "1 soft-deleted" in result.detail
    assert version(spark, daily) == before + 1 and result.versions == {"bronze.tickets": before + 1}
    assert commit_metadata(spark, daily)["cursor_value"] == cursor == state(spark, daily).value  # type: ignore[union-attr]
    assert live_rows(spark, daily) == src.rows()


def test_a_deleted_ticket_that_returns_is_live_again_and_stays(
    spark: SparkSession, daily: AppConfig, src: Source
) -> None:
    src.insert(ids("TCK07010", 6), T0)
    ingest(spark, daily)
    src.sql(f"DELETE FROM {src.table} WHERE ticket_id = 'TCK070100001'")
    ingest(spark, daily)
    assert "TCK070100001" not in live_rows(spark, daily)
    src.insert(["TCK070100001"], T0 + dt.timedelta(days=1), priority="Low")  # re-created at the source
    back = ingest(spark, daily)
    assert back.rows_updated == 1 and "0 soft-deleted" in back.detail
    assert live_rows(spark, daily) == src.rows()
    assert ingest(spark, daily).versions == {}  # and the next reconciliation leaves it alone


def test_keys_read_by_the_run_itself_are_never_reported_gone(
    spark: SparkSession, daily: AppConfig, src: Source
) -> None:
    src.insert(ids("TCK07010", 4), T0)
    ingest(spark, daily)
    table = RunContext(daily).table("bronze", "tickets")
    src.sql(f"DELETE FROM {src.table} WHERE ticket_id IN ('TCK070100000', 'TCK070100001')")
    window = bronze(spark, daily).where("ticket_id = 'TCK070100000'")  # as if read just before its delete
    found = bronze_reconcile.compare_keys(spark, daily.sources.tickets, table, keep=window)
    assert (found.source_keys, found.bronze_live, found.soft_deletes) == (2, 4, 1)
    assert [r.ticket_id for r in found.gone.collect()] == ["TCK070100001"]  # type: ignore[union-attr]


def test_the_key_read_selects_only_the_key_column_in_key_ranges(
    spark: SparkSession, daily: AppConfig, src: Source
) -> None:
    src.insert(ids("TCK07010", 30), T0)
    keys = bronze_reconcile.source_keys(spark, daily.sources.tickets)
    plan = keys._jdf.queryExecution().executedPlan().toString()
    assert keys.columns == ["ticket_id"]
    assert f"JDBCRelation((SELECT `ticket_id` FROM `{src.table}`) k) [numPartitions=2]" in plan
    assert "ReadSchema: struct<ticket_id:string>" in plan
    assert sorted(r.ticket_id for r in keys.collect()) == sorted(src.rows())


def test_an_empty_source_fails_the_ingest_and_soft_deletes_nothing(
    spark: SparkSession, daily: AppConfig, src: Source
) -> None:
    from careplus_spark.errors import DataError

    src.insert(ids("TCK07010", 4), T0)
    ingest(spark, daily)
    before, cursor = version(spark, daily), state(spark, daily)
    src.sql(f"DELETE FROM {src.table}")
    with pytest.raises(DataError, match=r"returned no keys while bronze\.tickets has 4 live rows; refusing"):
        ingest(spark, daily)
    assert version(spark, daily) == before and state(spark, daily) == cursor
    assert bronze(spark, daily).where("_deleted_at IS NOT NULL").count() == 0


def test_too_many_deletes_are_refused_but_the_changes_are_written(
    spark: SparkSession, daily: AppConfig, src: Source
) -> None:
    from careplus_spark.errors import DataError

    guarded = with_source(daily, reconcile_max_delete_fraction=0.25)
    src.insert(ids("TCK07010", 8), T0)
    ingest(spark, guarded)
    src.sql(f"DELETE FROM {src.table} WHERE ticket_id IN ('TCK070100001', 'TCK070100002', 'TCK070100003')")
    src.insert(["TCK07020NEW"], T0 + dt.timedelta(days=1))
    with pytest.raises(DataError, match=r"would soft-delete 3 of the 8 live rows .*reconcile_max_delete_fraction"
                                        r"=0\.25; nothing was soft-deleted"):
        ingest(spark, guarded)
    assert bronze(spark, guarded).where("_deleted_at IS NOT NULL").count() == 0
    assert "TCK07020NEW" in live_rows(spark, guarded)  # the window's changes were written
    saved = state(spark, guarded)
    assert saved is not None and saved.value == "2025-07-02 08:00:00.000000"  # and the cursor moved on
    assert ReconcileSchedule.of(saved).runs_since == 2  # not reconciled since the first (full) load: still due
    forced = bronze_reconcile.reconcile(spark, RunContext(with_source(guarded, reconcile_max_delete_fraction=1.0)))
    assert forced.rows_updated == 3
    assert live_rows(spark, guarded) == src.rows()


def test_an_unreachable_source_fails_reconciliation_writing_nothing(
    spark: SparkSession, daily: AppConfig, src: Source
) -> None:
    src.insert(ids("TCK07010", 4), T0)
    ingest(spark, daily)
    before = version(spark, daily)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = with_source(daily, url=f"jdbc:mysql://127.0.0.1:{port}/nowhere", connect_timeout_s=2)
    with pytest.raises(SourceUnavailableError, match=r"unreachable after 2 attempts"):
        bronze_reconcile.reconcile(spark, RunContext(down))
    assert version(spark, daily) == before
    assert bronze(spark, daily).where("_deleted_at IS NOT NULL").count() == 0


def test_schema_drift_add_evolves_bronze(spark: SparkSession, cfg: AppConfig, src: Source, caplog) -> None:  # type: ignore[no-untyped-def]
    src.insert(ids("TCK07010", 4), T0)
    ingest(spark, cfg)
    src.sql(f"ALTER TABLE {src.table} ADD COLUMN sla_tier VARCHAR(16) NULL")
    src.sql(
        f"UPDATE {src.table} SET sla_tier='gold', updated_at=%s WHERE ticket_id='TCK070100001'",
        (T0 + dt.timedelta(days=1),),
    )
    with caplog.at_level(logging.WARNING):
        result = ingest(spark, cfg)
    assert "new column(s) ['sla_tier'] will be added" in caplog.text
    assert result.rows_updated == 1
    tiers = {r.ticket_id: r.sla_tier for r in bronze(spark, cfg).collect()}
    assert tiers["TCK070100001"] == "gold" and tiers["TCK070100000"] is None


def test_schema_drift_ignore_keeps_bronze_schema(spark: SparkSession, cfg: AppConfig, src: Source, caplog) -> None:  # type: ignore[no-untyped-def]
    ignoring = with_source(cfg, schema_drift="ignore")
    src.insert(ids("TCK07010", 4), T0)
    ingest(spark, ignoring)
    src.sql(f"ALTER TABLE {src.table} ADD COLUMN sla_tier VARCHAR(16) NULL")
    src.insert(["TCK07020NEW"], T0 + dt.timedelta(days=1))
    with caplog.at_level(logging.WARNING):
        result = ingest(spark, ignoring)
    assert "new column(s) ['sla_tier'] ignored" in caplog.text
    assert result.rows_written == 1 and "sla_tier" not in bronze(spark, ignoring).columns


def test_schema_drift_fail_stops_before_writing(spark: SparkSession, cfg: AppConfig, src: Source) -> None:
    failing = with_source(cfg, schema_drift="fail")
    src.insert(ids("TCK07010", 4), T0)
    ingest(spark, failing)
    before, cursor = version(spark, failing), state(spark, failing)
    src.sql(f"ALTER TABLE {src.table} ADD COLUMN sla_tier VARCHAR(16) NULL")
    src.insert(["TCK07020NEW"], T0 + dt.timedelta(days=1))
    with pytest.raises(SchemaDriftError, match=r"new source column\(s\) \['sla_tier'\] are not in bronze.tickets"):
        ingest(spark, failing)
    assert version(spark, failing) == before and state(spark, failing) == cursor


def test_renamed_required_column_fails_naming_it(spark: SparkSession, cfg: AppConfig, src: Source) -> None:
    src.insert(ids("TCK07010", 4), T0)
    ingest(spark, cfg)
    src.sql(f"ALTER TABLE {src.table} CHANGE COLUMN channel contact_channel VARCHAR(32)")
    missing = r"missing required column\(s\) \['channel'\]; columns present: .*'contact_channel'"
    with pytest.raises(SchemaError, match=missing):
        ingest(spark, cfg)


def test_unreachable_source_is_retried_then_fails_leaving_cursor_unchanged(  # type: ignore[no-untyped-def]
    spark: SparkSession, cfg: AppConfig, src: Source, caplog
) -> None:
    src.insert(ids("TCK07010", 4), T0)
    ingest(spark, cfg)
    before, cursor = version(spark, cfg), state(spark, cfg)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = with_source(cfg, url=f"jdbc:mysql://127.0.0.1:{port}/nowhere", connect_timeout_s=2)
    with caplog.at_level(logging.WARNING), pytest.raises(SourceUnavailableError, match=r"unreachable after 2 attempts"):
        ingest(spark, down)
    assert "attempt 1/2" in caplog.text
    assert version(spark, cfg) == before and state(spark, cfg) == cursor


def test_wrong_credentials_fail_at_once_without_the_password(  # type: ignore[no-untyped-def]
    spark: SparkSession, cfg: AppConfig, src: Source, caplog
) -> None:
    src.insert(ids("TCK07010", 4), T0)
    bad = with_source(cfg, password=Secret("Not-The-Password-42", "env:X"), retry_backoff_s=30.0)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), pytest.raises(AuthenticationError, match="rejected the credentials") as info:
        ingest(spark, bad)
    assert time.monotonic() - started < 30  # no backoff: not retried
    assert "attempt" not in caplog.text
    assert "Not-The-Password-42" not in str(info.value) and "Not-The-Password-42" not in caplog.text
    assert not tables.exists(spark, RunContext(bad).table("bronze", "tickets"))


class DroppingProxy:
    """A loopback TCP proxy that cuts the first ``drops`` connections after ``limit`` bytes."""

    def __init__(self, host: str, port: int, limit: int, drops: int) -> None:
        self.target = (host, port)
        self.limit = limit
        self.drops = drops
        self.dropped = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        sent = 0
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                sent += len(data)
                if count and sent > self.limit:
                    with self.lock:
                        cut = self.dropped < self.drops
                        self.dropped += cut
                    if cut:
                        break
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def proxy(mysql_db) -> Iterator[DroppingProxy]:  # type: ignore[no-untyped-def]
    server = DroppingProxy(mysql_db.host, mysql_db.port, limit=64 * 1024, drops=1)
    yield server
    server.close()


def test_connection_dropped_mid_read_is_retried_without_loss(
    spark: SparkSession, cfg: AppConfig, src: Source, proxy: DroppingProxy, caplog  # type: ignore[no-untyped-def]
) -> None:
    src.insert(ids("TCK0701", 3000), T0)
    database = cfg.sources.tickets.url.rsplit("/", 1)[1]
    flaky = with_source(cfg, url=f"jdbc:mysql://127.0.0.1:{proxy.port}/{database}", fetch_size=200, retry_backoff_s=0.5)
    with caplog.at_level(logging.WARNING):
        result = ingest(spark, flaky)
    assert proxy.dropped == 1 and "unreachable (attempt 1/2)" in caplog.text
    assert result.rows_written == 3000
    assert live_rows(spark, flaky) == src.rows()
