"""``sources.logs.change_detection: checksum``: a file edited in place (same size, same mtime) is noticed."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import replace
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from careplus_spark.bronze import logs as bronze_logs
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.platform.config import AppConfig
from careplus_spark.sources.files import list_files, sha256_of
from careplus_spark.synthetic import GenerateSpec, generate

SPEC = GenerateSpec(seed=21, start_date=dt.date(2025, 7, 1), days=1, tickets_per_day=30, log_files_per_day=2,
                    malformed_block=0.05)
RUN_COLUMNS = ("_run_id", "_ingested_at")


def with_logs(cfg: AppConfig, **settings: object) -> AppConfig:
    return replace(cfg, sources=replace(cfg.sources, logs=replace(cfg.sources.logs, **settings)))


def table(spark: SparkSession, cfg: AppConfig, db: str, name: str) -> DataFrame:
    return spark.read.format("delta").load(RunContext(cfg).table(db, name).path).drop(*RUN_COLUMNS)


def versions(spark: SparkSession, cfg: AppConfig) -> list[int]:
    from delta.tables import DeltaTable

    return [int(DeltaTable.forPath(spark, RunContext(cfg).table(db, name).path).history(1).first()["version"])
            for db, name in [("bronze", "logs"), ("bronze", "logs_quarantine"), ("ops", "log_files")]]


def edit_in_place(path: Path, old: bytes, new: bytes) -> None:
    """Replaces the first ``old`` by ``new`` (same length), then restores the modification time."""
    assert len(old) == len(new)
    stat = path.stat()
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)


def test_an_edit_keeping_size_and_mtime_is_noticed_only_by_checksum(
    spark: SparkSession, lakehouse: AppConfig, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    generate(SPEC, None, logs)
    cfg = with_logs(lakehouse, path=str(logs))
    files = sorted(p for p in logs.rglob("*.log*") if p.stat().st_size)
    bronze_logs.ingest(spark, RunContext(cfg))

    edit_in_place(files[0], b"ERROR", b"FATAL")
    unnoticed = bronze_logs.ingest(spark, RunContext(cfg))  # mtime_size: same size and mtime, nothing read
    assert unnoticed.rows_read == 0 and unnoticed.versions == {}

    checksum = with_logs(cfg, change_detection="checksum")
    switched = bronze_logs.ingest(spark, RunContext(checksum))  # no digest recorded yet: every file read once
    listed = list_files(spark, str(logs), "*.log*")
    assert f"{len(listed)} changed" in switched.detail
    recorded = {r.path: r.checksum for r in table(spark, cfg, "ops", "log_files").collect()}
    assert recorded == {f"file:{p}": "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in sorted(logs.rglob("*.log*"))}

    edit_in_place(files[1], b"INFO", b"DBUG")
    noticed = bronze_logs.ingest(spark, RunContext(checksum))
    assert "1 changed" in noticed.detail and f"{len(listed) - 1} unchanged" in noticed.detail
    assert recorded[f"file:{files[1]}"] != sha256_of(spark, f"file:{files[1]}")

    clean = replace(checksum, lakehouse=replace(checksum.lakehouse, root=str(tmp_path / "clean")))
    bronze_logs.ingest(spark, RunContext(clean))
    for name in ("logs", "logs_quarantine"):
        actual, expected = table(spark, cfg, "bronze", name), table(spark, clean, "bronze", name)
        assert actual.count() == expected.count() > 0, name
        assert actual.exceptAll(expected).count() == 0 and expected.exceptAll(actual).count() == 0, name
    assert table(spark, cfg, "bronze", "logs").where("level = 'DBUG'").count() > 0

    before = versions(spark, cfg)
    again = bronze_logs.ingest(spark, RunContext(checksum))  # nothing changed: nothing written
    assert again.rows_read == 0 and again.versions == {}
    assert versions(spark, cfg) == before


def test_checksums_on_s3_come_from_the_etag_or_the_bytes(
    spark: SparkSession, lakehouse: AppConfig, s3: object, s3_bucket: str, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    generate(SPEC, None, logs)
    client = s3.client()  # type: ignore[attr-defined]
    files = sorted(p for p in logs.rglob("*.log*") if p.stat().st_size)
    prefix = f"checksum-{tmp_path.name}"
    for path in files:
        client.upload_file(str(path), s3_bucket, f"{prefix}/{path.name}")
    root = f"s3a://{s3_bucket}/{prefix}"
    listed = list_files(spark, root, "*.log*", checksum=True)
    expected = {f"{root}/{p.name}": hashlib.md5(p.read_bytes()).hexdigest() for p in files}  # noqa: S324 - S3's ETag
    assert {f.path: f.checksum for f in listed} == {k: f"md5:{v}" for k, v in expected.items()}
    first = f"{root}/{files[0].name}"
    assert sha256_of(spark, first) == "sha256:" + hashlib.sha256(files[0].read_bytes()).hexdigest()

    cfg = with_logs(lakehouse, path=root, change_detection="checksum")
    bronze_logs.ingest(spark, RunContext(cfg))
    edit_in_place(files[0], b"ERROR", b"FATAL")
    client.upload_file(str(files[0]), s3_bucket, f"{prefix}/{files[0].name}")
    noticed = bronze_logs.ingest(spark, RunContext(cfg))
    assert "1 changed" in noticed.detail
    recorded = {r.path: r.checksum for r in table(spark, cfg, "ops", "log_files").collect()}
    assert recorded[first] == "md5:" + hashlib.md5(files[0].read_bytes()).hexdigest()  # noqa: S324


def test_a_ledger_from_before_gets_the_new_columns(spark: SparkSession, lakehouse: AppConfig, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    generate(SPEC, None, logs)
    cfg = with_logs(lakehouse, path=str(logs))
    bronze_logs.ingest(spark, RunContext(cfg))
    path = RunContext(cfg).table("ops", "log_files").path
    old = spark.read.format("delta").load(path).drop("checksum", "missing_at")  # the ledger's earlier schema
    old.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)
    files = sorted(p for p in logs.rglob("*.log*") if p.stat().st_size)
    files[0].unlink()
    result = bronze_logs.ingest(spark, RunContext(with_logs(cfg, change_detection="checksum")))
    assert "1 missing (1 newly), rows kept" in result.detail and f"{len(files) - 1} changed" in result.detail
    ledger = {r.path: (r.status, r.checksum is not None) for r in table(spark, cfg, "ops", "log_files").collect()}
    assert ledger[f"file:{files[0]}"] == ("missing", False)
    assert all(ledger[f"file:{p}"] == ("ingested", True) for p in sorted(logs.rglob("*.log*")))
