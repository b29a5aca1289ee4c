"""Log files that vanish from the source: marked ``missing``; ``on_missing`` keeps or retracts their rows."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from careplus_spark.bronze import logs as bronze_logs
from careplus_spark.gold.refresh import MODELS
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.pipeline.steps import run_steps
from careplus_spark.platform.config import AppConfig
from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url
from tests.reference_log_parser import parse_file

SPEC = GenerateSpec(seed=17, start_date=dt.date(2025, 7, 1), days=2, tickets_per_day=30, log_files_per_day=2,
                    malformed_block=0.05, duplicate_event=0.05)
#: Lineage that differs between two runs over the same data.
RUN_COLUMNS = ("_run_id", "_ingested_at", "_processed_at", "_quarantined_at")
PIPELINE = ["ingest_tickets", "ingest_logs", "silver", "gold"]


def with_logs(cfg: AppConfig, **settings: object) -> AppConfig:
    return replace(cfg, sources=replace(cfg.sources, logs=replace(cfg.sources.logs, **settings)))


def table(spark: SparkSession, cfg: AppConfig, db: str, name: str) -> DataFrame:
    return spark.read.format("delta").load(RunContext(cfg).table(db, name).path)


def ledger(spark: SparkSession, cfg: AppConfig) -> dict[str, tuple[str, object]]:
    return {r.path: (r.status, r.missing_at) for r in table(spark, cfg, "ops", "log_files").collect()}


def version(spark: SparkSession, cfg: AppConfig, db: str, name: str) -> int:
    from delta.tables import DeltaTable

    return int(DeltaTable.forPath(spark, RunContext(cfg).table(db, name).path).history(1).first()["version"])


def assert_same(actual: DataFrame, expected: DataFrame, what: str) -> None:
    actual, expected = actual.drop(*RUN_COLUMNS), expected.drop(*RUN_COLUMNS)
    assert actual.count() == expected.count(), what
    assert actual.exceptAll(expected).count() == 0 and expected.exceptAll(actual).count() == 0, what


def blocks_of(path: Path) -> int:
    return len(parse_file(path))


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    generate(SPEC, None, tmp_path / "logs")
    return tmp_path / "logs"


def test_keep_marks_missing_then_retract_removes_and_a_returning_file_is_read_again(
    spark: SparkSession, lakehouse: AppConfig, logs: Path, tmp_path: Path
) -> None:
    cfg = with_logs(lakehouse, path=str(logs))
    first = sorted(p for p in logs.rglob("*.log*") if p.stat().st_size)[0]
    gone = first.rename(first.with_name("it's-" + first.name))  # a quote in the path: no SQL text from it
    total = bronze_logs.ingest(spark, RunContext(cfg)).rows_read
    uri = f"file:{gone}"
    assert ledger(spark, cfg)[uri][0] == "ingested"
    gone.rename(tmp_path / "held.log")
    held = blocks_of(tmp_path / "held.log")

    kept = bronze_logs.ingest(spark, RunContext(cfg))  # keep: the ledger says missing, rows stay
    assert "1 missing (1 newly), rows kept" in kept.detail and kept.rows_read == 0
    status, missing_at = ledger(spark, cfg)[uri]
    assert status == "missing" and missing_at is not None
    bronze = table(spark, cfg, "bronze", "logs")
    assert bronze.where(bronze._source_file == uri).count() == held > 0
    assert bronze.count() == total

    versions = {name: version(spark, cfg, db, name) for db, name in [("bronze", "logs"), ("ops", "log_files")]}
    again = bronze_logs.ingest(spark, RunContext(cfg))  # nothing changed: nothing written
    assert again.versions == {} and "(0 newly), rows kept" in again.detail
    assert {name: version(spark, cfg, db, name) for db, name in [("bronze", "logs"), ("ops", "log_files")]} == versions

    retract = with_logs(cfg, on_missing="retract")  # switching to retract retracts files missing before
    retracted = bronze_logs.ingest(spark, RunContext(retract))
    assert f"1 missing (0 newly), {held} rows retracted" in retracted.detail
    bronze = table(spark, cfg, "bronze", "logs")
    assert bronze.count() == total - held and bronze.where(bronze._source_file == uri).count() == 0
    quarantined = table(spark, cfg, "bronze", "logs_quarantine")
    assert quarantined.where(quarantined._source_file == uri).count() == 0
    assert bronze_logs.ingest(spark, RunContext(retract)).versions == {}  # retracted once: nothing more to do

    (tmp_path / "held.log").rename(gone)  # the file comes back: read again as changed
    back = bronze_logs.ingest(spark, RunContext(retract))
    assert "1 changed" in back.detail and back.rows_read == held
    assert ledger(spark, cfg)[uri] == ("ingested", None)
    clean = with_logs(replace(lakehouse, lakehouse=replace(lakehouse.lakehouse, root=str(tmp_path / "clean"))),
                      path=str(logs))
    bronze_logs.ingest(spark, RunContext(clean))
    for name in ("logs", "logs_quarantine"):
        assert_same(table(spark, cfg, "bronze", name), table(spark, clean, "bronze", name), f"bronze.{name}")


def test_an_empty_listing_marks_every_file_missing_but_retracts_nothing(
    spark: SparkSession, lakehouse: AppConfig, logs: Path, tmp_path: Path
) -> None:
    cfg = with_logs(lakehouse, path=str(logs), on_missing="retract")
    first = bronze_logs.ingest(spark, RunContext(cfg))
    shutil.move(logs, tmp_path / "away")
    logs.mkdir()
    result = bronze_logs.ingest(spark, RunContext(cfg))
    assert "retraction skipped: the source lists no file" in result.detail
    assert {s for s, _ in ledger(spark, cfg).values()} == {"missing"}
    assert table(spark, cfg, "bronze", "logs").count() == first.rows_read


def test_retract_flows_to_silver_and_gold_like_a_clean_run_on_the_remaining_files(
    spark: SparkSession, lakehouse: AppConfig, logs: Path, tmp_path: Path
) -> None:
    def pipeline_cfg(root: Path) -> AppConfig:
        tickets = replace(lakehouse.sources.tickets, url=f"jdbc:sqlite:{tmp_path / 'tickets.db'}",
                          reconcile_every_runs=0)
        cfg = replace(lakehouse, lakehouse=replace(lakehouse.lakehouse, root=str(root)),
                      sources=replace(lakehouse.sources, tickets=tickets))
        return with_logs(cfg, path=str(logs), on_missing="retract")

    cfg = pipeline_cfg(tmp_path / "lakehouse")
    with sink_for_url(cfg.sources.tickets.url, "", "", cfg.sources.tickets.table) as sink:
        generate(SPEC, sink, None)
    run_steps(spark, RunContext(cfg), PIPELINE)
    bronze = table(spark, cfg, "bronze", "logs")
    # the file with the most malformed blocks (both bronze tables lose rows), of the first day
    victim = bronze.where("_parse_error IS NOT NULL").groupBy("_source_file").count().orderBy("count", "_source_file",
                                                                                               ascending=False).first()
    assert victim is not None
    path = Path(victim._source_file.removeprefix("file:"))
    before = bronze.count()
    path.unlink()

    results = {r.step: r for r in run_steps(spark, RunContext(cfg), PIPELINE)}
    assert f"1 missing (1 newly), {before - table(spark, cfg, 'bronze', 'logs').count()} rows retracted" in results[
        "ingest_logs"].detail
    assert table(spark, cfg, "bronze", "logs").where(F.col("_source_file") == victim._source_file).count() == 0
    assert "vanished events removed" in results["silver_logs"].detail
    assert ledger(spark, cfg)[victim._source_file][0] == "missing"

    clean = pipeline_cfg(tmp_path / "clean")
    run_steps(spark, RunContext(clean), PIPELINE)
    pairs = [("bronze", "logs"), ("bronze", "logs_quarantine"), ("silver", "logs"), ("silver", "logs_quarantine"),
             *[("gold", m.name) for m in MODELS]]
    for db, name in pairs:
        assert_same(table(spark, cfg, db, name), table(spark, clean, db, name), f"{db}.{name}")
