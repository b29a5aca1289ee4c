"""Delta tables on a real S3-compatible server through s3a."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from careplus_spark.bronze import tickets as bronze_tickets
from careplus_spark.lakehouse import tables
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.platform.config import AppConfig
from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url

pytestmark = pytest.mark.integration


@pytest.fixture
def s3_root(s3_bucket: str) -> str:
    return f"s3a://{s3_bucket}/lake-{uuid.uuid4().hex[:8]}"


@pytest.mark.smoke
def test_upsert_creates_merges_and_registers_on_s3(
    spark: SparkSession, s3_root: str, s3: object, s3_bucket: str
) -> None:
    table = tables.TableRef("bronze", f"s3_{uuid.uuid4().hex[:6]}", s3_root)
    first = spark.createDataFrame([("a", 1), ("b", 2)], "k string, v int")
    created = tables.upsert(spark, first, table, keys=["k"])
    assert (created.inserted, created.updated, created.version) == (2, 0, 0)  # created with its rows: one commit
    second = spark.createDataFrame([("b", 20), ("c", 3)], "k string, v int")
    merged = tables.upsert(spark, second, table, keys=["k"])
    assert (merged.inserted, merged.updated) == (1, 1)
    expected = spark.createDataFrame([("a", 1), ("b", 20), ("c", 3)], "k string, v int")
    assert_df_equality(spark.table(table.qualified), expected, ignore_row_order=True)
    prefix = table.path.split(f"{s3_bucket}/", 1)[1]
    listed = s3.client().list_objects_v2(Bucket=s3_bucket, Prefix=prefix)  # type: ignore[attr-defined]
    keys = [o["Key"] for o in listed["Contents"]]
    assert any("/_delta_log/" in k for k in keys) and any(k.endswith(".parquet") for k in keys)


def test_bronze_tickets_into_an_s3_lakehouse(spark: SparkSession, lakehouse: AppConfig, s3_root: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = replace(lakehouse.sources.tickets, url=f"jdbc:sqlite:{tmp_path / 'tickets.db'}")
    cfg = replace(
        lakehouse,
        lakehouse=replace(lakehouse.lakehouse, root=s3_root),
        sources=replace(lakehouse.sources, tickets=source),
    )
    with sink_for_url(source.url, "", "", source.table) as sink:
        spec = GenerateSpec(seed=3, start_date=dt.date(2025, 7, 1), days=1, tickets_per_day=25)
        stats = generate(spec, sink, tmp_path / "logs")
    result = bronze_tickets.ingest(spark, RunContext(cfg))
    assert result.rows_read == result.rows_written == stats.tickets_inserted - stats.tickets_deleted
    again = bronze_tickets.ingest(spark, RunContext(cfg))
    assert (again.rows_written, again.rows_updated, again.versions) == (0, 0, {})  # nothing new: no new version


def test_unreachable_s3_endpoint_fails_clearly(spark: SparkSession) -> None:
    from careplus_spark.errors import SourceUnavailableError
    from careplus_spark.sources.files import list_files

    with pytest.raises(SourceUnavailableError, match="s3a://no-such-bucket-careplus"):
        list_files(spark, "s3a://no-such-bucket-careplus/logs")
