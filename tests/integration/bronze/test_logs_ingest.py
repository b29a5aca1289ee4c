"""bronze.logs: file-level incremental ingest with a ledger, replace-on-change, quarantine."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from careplus_spark.bronze import logs as bronze_logs
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.platform.config import AppConfig
from careplus_spark.synthetic import GenerateSpec, generate
from tests.reference_log_parser import parse_file

SPEC = GenerateSpec(
    seed=5, start_date=dt.date(2025, 7, 1), days=2, tickets_per_day=40, log_files_per_day=2, malformed_block=0.05,
    empty_file_per_day=1,
)


def with_logs(cfg: AppConfig, folder: Path | str) -> AppConfig:
    return replace(cfg, sources=replace(cfg.sources, logs=replace(cfg.sources.logs, path=str(folder))))


def expected_counts(folder: Path) -> tuple[int, int]:
    blocks = [b for f in sorted(folder.rglob("*.log*")) if not f.name.startswith(".") for b in parse_file(f)]
    return len(blocks), sum(1 for b in blocks if b.parse_error is not None)


def table_count(spark: SparkSession, ctx: RunContext, db: str, name: str) -> int:
    return spark.read.format("delta").load(ctx.table(db, name).path).count()


@pytest.fixture
def cfg(lakehouse: AppConfig, tmp_path: Path) -> AppConfig:
    generate(SPEC, None, tmp_path / "logs")
    return with_logs(lakehouse, tmp_path / "logs")


def test_first_run_reconciles_with_the_reference_parser(spark: SparkSession, cfg: AppConfig, tmp_path: Path) -> None:
    ctx = RunContext(cfg)
    result = bronze_logs.ingest(spark, ctx)
    blocks, bad = expected_counts(tmp_path / "logs")
    assert (result.rows_read, result.rows_quarantined) == (blocks, bad)
    assert result.rows_read == result.rows_written + result.rows_quarantined and bad > 0
    assert table_count(spark, ctx, "bronze", "logs") == blocks
    quarantine = spark.read.format("delta").load(ctx.table("bronze", "logs_quarantine").path)
    assert quarantine.count() == bad
    assert quarantine.where("_reason IS NULL OR _raw IS NULL OR _source_file IS NULL").count() == 0
    ledger = spark.read.format("delta").load(ctx.table("ops", "log_files").path).collect()
    assert len(ledger) == 6  # 2 days x (2 files + 1 empty file)
    assert sum(r.blocks for r in ledger) == blocks and all(r.blocks == r.parsed + r.quarantined for r in ledger)
    # the ledger's counts come from the reader's tasks; the same as counting the rows written
    from_data = bronze_logs.per_file_counts(spark, ctx.table("bronze", "logs"), ctx.run_id)
    assert {r.path: (r.blocks, r.parsed, r.quarantined) for r in ledger if r.blocks} == {
        c.path: (c.blocks, c.parsed, c.quarantined) for c in from_data.values()
    }
    assert bronze_logs.reader_counts(spark, "no-such-read", ctx.table("bronze", "logs"), 0) is None
    assert spark.sql("SELECT count(*) AS n FROM bronze.logs").first() is not None


def test_bronze_files_are_zstd_without_dictionaries_or_statistics_in_one_commit(
    spark: SparkSession, cfg: AppConfig
) -> None:
    import pyarrow.parquet as pq
    from delta.tables import DeltaTable

    ctx = RunContext(cfg)
    result = bronze_logs.ingest(spark, ctx)
    bronze = ctx.table("bronze", "logs")
    assert result.versions[bronze.qualified] == 0  # created holding the rows
    properties = DeltaTable.forPath(spark, bronze.path).detail().first().properties
    assert properties["delta.enableChangeDataFeed"] == "true"
    assert properties["delta.dataSkippingStatsColumns"] == "_source_file"
    files = sorted(Path(bronze.path).rglob("*.parquet"))
    assert files
    for file in files:
        meta = pq.ParquetFile(file).metadata
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                chunk = meta.row_group(g).column(c)
                assert chunk.compression == "ZSTD", (file, chunk.path_in_schema)
                assert not chunk.has_dictionary_page, (file, chunk.path_in_schema)
                assert chunk.statistics is None or not chunk.statistics.has_min_max, (file, chunk.path_in_schema)


def test_rerun_reads_nothing_and_writes_nothing(spark: SparkSession, cfg: AppConfig) -> None:
    bronze_logs.ingest(spark, RunContext(cfg))
    again = bronze_logs.ingest(spark, RunContext(cfg))
    assert (again.rows_read, again.versions) == (0, {})
    assert "6 unchanged" in again.detail


def test_next_day_reads_only_new_files(spark: SparkSession, cfg: AppConfig, tmp_path: Path) -> None:
    bronze_logs.ingest(spark, RunContext(cfg))
    before, _ = expected_counts(tmp_path / "logs")
    generate(replace(SPEC, days=1), None, tmp_path / "logs", first_day=2)
    ctx = RunContext(cfg)
    result = bronze_logs.ingest(spark, ctx)
    after, _ = expected_counts(tmp_path / "logs")
    assert result.rows_read == after - before
    assert "3 new" in result.detail and "6 unchanged" in result.detail
    assert table_count(spark, ctx, "bronze", "logs") == after


def test_changed_file_replaces_its_rows_and_reprocess_never_duplicates(
    spark: SparkSession, cfg: AppConfig, tmp_path: Path
) -> None:
    bronze_logs.ingest(spark, RunContext(cfg))
    target = next(p for p in sorted((tmp_path / "logs").rglob("*.log")) if p.stat().st_size > 0)
    lines = target.read_text(encoding="utf-8").split("---\n")
    target.write_text("---\n".join(lines[:3]) + "---\n", encoding="utf-8")  # the file shrank to 3 blocks
    ctx = RunContext(cfg)
    result = bronze_logs.ingest(spark, ctx)
    assert result.rows_read == 3 and "1 changed" in result.detail
    blocks, _ = expected_counts(tmp_path / "logs")
    assert table_count(spark, ctx, "bronze", "logs") == blocks
    forced = bronze_logs.ingest(spark, RunContext(cfg, reprocess=(str(tmp_path / "logs"),)))
    assert forced.rows_read == blocks
    assert table_count(spark, ctx, "bronze", "logs") == blocks


@pytest.mark.integration
def test_log_files_on_s3(spark: SparkSession, lakehouse: AppConfig, s3: object, s3_bucket: str, tmp_path: Path) -> None:
    generate(replace(SPEC, days=1), None, tmp_path / "logs")
    client = s3.client()  # type: ignore[attr-defined]
    for path in sorted((tmp_path / "logs").rglob("*.log*")):
        key = f"raw/{path.relative_to(tmp_path / 'logs').as_posix()}"
        client.upload_file(str(path), s3_bucket, key)
    cfg = with_logs(lakehouse, f"s3a://{s3_bucket}/raw")
    result = bronze_logs.ingest(spark, RunContext(cfg))
    blocks, bad = expected_counts(tmp_path / "logs")
    assert (result.rows_read, result.rows_quarantined) == (blocks, bad)
    assert bronze_logs.ingest(spark, RunContext(cfg)).rows_read == 0
