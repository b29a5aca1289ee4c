"""Symlink manifests kept current by Delta, turned on where missing, refused where impossible."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from careplus_spark.errors import ConfigError, ExposureError
from careplus_spark.exposure import manifests
from careplus_spark.exposure.model import Column
from careplus_spark.lakehouse import catalog, delta, tables
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.platform.config import AppConfig

D1, D2 = dt.date(2025, 7, 1), dt.date(2025, 7, 2)


@pytest.fixture
def ctx(lakehouse: AppConfig) -> RunContext:
    return RunContext(lakehouse)


def logs(spark: SparkSession, rows: list[tuple[str, dt.date, int]]) -> DataFrame:
    return spark.createDataFrame(rows, "event_id STRING, log_date DATE, response_time_ms INT")


def manifest_files(path: str) -> dict[str, set[str]]:
    """Partition folder ('' for the root) -> the data files its manifest lists."""
    root = Path(path.removeprefix("file:")) / "_symlink_format_manifest"
    return {
        str(m.parent.relative_to(root)).replace(".", ""): {line for line in m.read_text().splitlines() if line}
        for m in root.rglob("manifest")
    }


def data_files(spark: SparkSession, path: str) -> set[str]:
    return set(spark.read.format("delta").load(path).inputFiles())


def upsert_logs(spark: SparkSession, ctx: RunContext, rows: list[tuple[str, dt.date, int]]) -> None:
    table = catalog.FCT_LOGS
    tables.upsert(spark, logs(spark, rows), ctx.ref(table), list(table.keys), partition_by=table.partition_by,
                  properties=table.properties)


def test_an_exposed_table_has_a_manifest_per_partition_after_every_commit(spark: SparkSession, ctx: RunContext) -> None:
    path = ctx.ref(catalog.FCT_LOGS).path
    upsert_logs(spark, ctx, [("e1", D1, 5), ("e2", D1, 7)])
    upsert_logs(spark, ctx, [("e2", D1, 8), ("e3", D2, 9)])  # rewrites D1's file, adds D2
    listed = manifest_files(path)
    assert set(listed) == {"log_date=2025-07-01", "log_date=2025-07-02"}
    assert set().union(*listed.values()) == data_files(spark, path)


def test_describe_reads_the_live_schema_and_the_manifest_partitions(spark: SparkSession, ctx: RunContext) -> None:
    upsert_logs(spark, ctx, [("e1", D1, 5), ("e3", D2, 9)])
    cfg = replace(ctx.cfg, exposure=replace(ctx.cfg.exposure, location_prefix="s3://bucket/lake"))
    described = manifests.describe(spark, ctx.ref(catalog.FCT_LOGS), cfg, ["log_date"])
    assert described.columns == (Column("event_id", "string"), Column("response_time_ms", "int"))
    assert described.partition_columns == (Column("log_date", "date"),)
    assert described.location == "s3://bucket/lake/gold/fct_logs"
    assert [(p.values, p.location) for p in described.partitions] == [
        (("2025-07-01",), "s3://bucket/lake/gold/fct_logs/_symlink_format_manifest/log_date=2025-07-01"),
        (("2025-07-02",), "s3://bucket/lake/gold/fct_logs/_symlink_format_manifest/log_date=2025-07-02"),
    ]


def test_ensure_turns_manifests_on_once_and_regenerates_on_demand(spark: SparkSession, ctx: RunContext) -> None:
    ref = ctx.ref(catalog.SILVER_TICKETS)
    df = spark.createDataFrame([("T1", "x")], "ticket_id STRING, status STRING")
    tables.upsert(spark, df, ref, ["ticket_id"])
    assert manifest_files(ref.path) == {}
    assert manifests.detail(spark, ref).partition_columns == ()
    assert manifests.ensure(spark, ref, manifests.detail(spark, ref).properties)
    assert set().union(*manifest_files(ref.path).values()) == data_files(spark, ref.path)
    properties = manifests.detail(spark, ref).properties
    assert properties[delta.SYMLINK_MANIFEST] == "true"
    assert not manifests.ensure(spark, ref, properties)
    assert manifests.ensure(spark, ref, properties, regenerate=True)


def test_a_table_with_deletion_vectors_is_refused_naming_the_property(spark: SparkSession, ctx: RunContext) -> None:
    ref = ctx.ref(catalog.SILVER_TICKETS)
    df = spark.createDataFrame([("T1",)], "ticket_id STRING")
    tables.create_if_missing(spark, ref, df, properties={"delta.enableDeletionVectors": "true"})
    with pytest.raises(ExposureError, match=r"silver\.tickets .* delta\.enableDeletionVectors=true"):
        manifests.ensure(spark, ref, manifests.detail(spark, ref).properties)


def test_exposure_tables_add_to_gold_and_unknown_names_are_refused(ctx: RunContext) -> None:
    cfg = replace(ctx.cfg, exposure=replace(ctx.cfg.exposure, tables=("silver.tickets",)))
    names = [t.qualified for t in manifests.exposed_tables(cfg)]
    assert names == ["silver.tickets", *[t.qualified for t in catalog.exposed()]]
    bad = replace(ctx.cfg, exposure=replace(ctx.cfg.exposure, tables=("silver.nope",)))
    with pytest.raises(ConfigError, match=r"exposure\.tables: 'silver\.nope' is not in the lakehouse catalog"):
        manifests.exposed_tables(bad)
