"""bronze.tickets from a real MariaDB server through Spark's JDBC source."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

import pytest
from pyspark.sql import SparkSession

from careplus_spark.bronze import tickets as bronze_tickets
from careplus_spark.errors import (
    AuthenticationError,
    SchemaError,
    SourceUnavailableError,
)
from careplus_spark.lakehouse import tables
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.secrets import Secret
from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url

pytestmark = pytest.mark.integration


def with_table(cfg: AppConfig, table: str) -> AppConfig:
    tickets = replace(cfg.sources.tickets, table=table)
    return replace(cfg, sources=replace(cfg.sources, tickets=tickets))


def fill(cfg: AppConfig, tmp_path, days: int, first_day: int = 0) -> None:  # type: ignore[no-untyped-def]
    source = cfg.sources.tickets
    spec = GenerateSpec(seed=7, start_date=dt.date(2025, 7, 1), days=days, tickets_per_day=30, log_files_per_day=1)
    with sink_for_url(source.url, source.user, source.password.reveal(), source.table) as sink:
        generate(spec, sink, tmp_path / "logs", first_day=first_day)


def source_rows(cfg: AppConfig, mysql_db) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    with mysql_db.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT ticket_id, priority, resolved_at, IssUeCat FROM {cfg.sources.tickets.table}")
        return {row[0]: row[1:] for row in cur.fetchall()}


def bronze_rows(spark: SparkSession, cfg: AppConfig) -> dict[str, tuple]:
    df = spark.read.format("delta").load(RunContext(cfg).table("bronze", "tickets").path)
    return {r.ticket_id: (r.priority, r.resolved_at, r.IssUeCat) for r in df.collect()}


@pytest.fixture
def cfg(mysql_cfg: AppConfig) -> AppConfig:
    return with_table(mysql_cfg, f"tickets_{uuid.uuid4().hex[:8]}")


@pytest.mark.smoke
def test_first_load_keeps_raw_values_with_lineage(spark: SparkSession, cfg: AppConfig, mysql_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fill(cfg, tmp_path, days=2)
    ctx = RunContext(cfg)
    result = bronze_tickets.ingest(spark, ctx)
    expected = source_rows(cfg, mysql_db)
    assert result.rows_read == len(expected) == result.rows_written
    assert bronze_rows(spark, cfg) == expected  # dirty values exactly as they came
    lineage = spark.read.format("delta").load(ctx.table("bronze", "tickets").path)
    traced = f"_run_id = '{ctx.run_id}' AND _extracted_at IS NOT NULL AND _row_hash IS NOT NULL"
    assert lineage.where(traced).count() == len(expected)
    assert dict(lineage.dtypes)["updated_at"] == "timestamp"
    assert spark.sql("SELECT count(*) AS n FROM bronze.tickets").first()["n"] >= 0  # registered by name


def test_rerun_with_nothing_new_writes_no_version(spark: SparkSession, cfg: AppConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fill(cfg, tmp_path, days=1)
    first = bronze_tickets.ingest(spark, RunContext(cfg))
    again = bronze_tickets.ingest(spark, RunContext(cfg))
    assert first.rows_written > 0
    assert (again.rows_written, again.rows_updated, again.versions) == (0, 0, {})
    assert again.rows_skipped == again.rows_read <= first.rows_read  # only the look-back overlap is re-read


def test_updated_source_rows_are_merged(spark: SparkSession, cfg: AppConfig, mysql_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fill(cfg, tmp_path, days=1)
    bronze_tickets.ingest(spark, RunContext(cfg))
    fill(cfg, tmp_path, days=1, first_day=1)  # resolutions of older tickets, new tickets, deletions
    result = bronze_tickets.ingest(spark, RunContext(cfg))
    assert result.rows_updated > 0 and result.rows_written > 0
    current = source_rows(cfg, mysql_db)
    in_bronze = bronze_rows(spark, cfg)
    assert {k: in_bronze[k] for k in current} == current


def test_wrong_password_fails_at_once_without_leaking_it(spark: SparkSession, cfg: AppConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fill(cfg, tmp_path, days=1)
    bad = replace(cfg.sources.tickets, password=Secret("not-the-password-42", "env:X"))
    bad_cfg = replace(cfg, sources=replace(cfg.sources, tickets=bad))
    with pytest.raises(AuthenticationError) as info:
        bronze_tickets.ingest(spark, RunContext(bad_cfg))
    assert "not-the-password-42" not in str(info.value)
    assert "rejected the credentials" in str(info.value)


def test_unreachable_server_is_retried_then_reported(spark: SparkSession, cfg: AppConfig) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = replace(cfg.sources.tickets, url=f"jdbc:mysql://127.0.0.1:{port}/nowhere", connect_timeout_s=2)
    down_cfg = replace(cfg, sources=replace(cfg.sources, tickets=down))
    with pytest.raises(SourceUnavailableError, match=rf"127\.0\.0\.1:{port}/nowhere is unreachable after 3 attempts"):
        bronze_tickets.ingest(spark, RunContext(down_cfg))
    assert not tables.exists(spark, RunContext(down_cfg).table("bronze", "tickets"))  # nothing half-written


def test_missing_required_column_is_named(spark: SparkSession, cfg: AppConfig, mysql_db) -> None:  # type: ignore[no-untyped-def]
    table = cfg.sources.tickets.table
    with mysql_db.connect() as conn, conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {table} (ticket_id VARCHAR(32) PRIMARY KEY, updated_at DATETIME(6), priority VARCHAR(8))"
        )
        conn.commit()
    missing = (
        r"missing required column\(s\) \[.*'IssUeCat'.*\]; columns present: \['priority', 'ticket_id', 'updated_at'\]"
    )
    with pytest.raises(SchemaError, match=missing):
        bronze_tickets.ingest(spark, RunContext(cfg))
