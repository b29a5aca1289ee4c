"""Facts read from ``_delta_log`` directly (no Spark job) equal what Delta's own commands report."""

from __future__ import annotations

from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from careplus_spark.exposure import manifests
from careplus_spark.lakehouse import delta, delta_log, tables
from careplus_spark.lakehouse.tables import TableRef

pytestmark = pytest.mark.integration


@pytest.fixture
def table(spark: SparkSession, tmp_path: Path) -> TableRef:
    """A partitioned table with the change feed on, after an insert, a MERGE and a delete (with checksums)."""
    ref = TableRef("gold", "facts", str(tmp_path))
    rows = spark.range(20).selectExpr("id", "CAST(id % 3 AS STRING) AS day", "id * 2 AS v")
    tables.create_with_rows(spark, ref, rows, partition_by=["day"],
                            properties={"delta.enableChangeDataFeed": "true"}, commit_info={"run_id": "r1"})
    tables.upsert(spark, rows.where("id < 5").selectExpr("id", "day", "v + 1 AS v"), ref, ["id"],
                  partition_by=["day"])
    DeltaTable.forPath(spark, ref.path).delete("id = 19")
    return ref


def test_table_info_without_history_equals_the_one_from_describe(spark: SparkSession, table: TableRef) -> None:
    full = tables.table_info(spark, table)
    fast = tables.table_info(spark, table, history=False)
    assert full is not None and fast is not None
    assert (fast.table_id, fast.version, fast.num_files, dict(fast.properties)) == (
        full.table_id, full.version, full.num_files, dict(full.properties))
    assert fast.version == 2 and fast.commits == () and full.commits[0][0] == 2


def test_last_commit_from_the_log_equals_history(spark: SparkSession, table: TableRef) -> None:
    row = DeltaTable.forPath(spark, table.path).history(1).first()
    last = delta.last_commit(spark, table.path)
    assert last is not None and row is not None
    assert (last.version, dict(last.metrics)) == (row.version, dict(row.operationMetrics))
    assert last.timestamp is not None and abs((last.timestamp - row.timestamp).total_seconds()) < 1
    assert delta_log.versions(spark, table.path) == [0, 1, 2]


def test_exposure_detail_from_the_checksum_equals_describe_detail(spark: SparkSession, table: TableRef) -> None:
    row = DeltaTable.forPath(spark, table.path).detail().first()
    found = manifests.detail(spark, table)
    assert row is not None
    assert (dict(found.properties), list(found.partition_columns)) == (dict(row.properties), row.partitionColumns)


def test_a_table_without_checksums_falls_back_to_describe(spark: SparkSession, table: TableRef) -> None:
    for crc in Path(table.path, "_delta_log").glob("*.crc"):
        crc.unlink()
    fast = tables.table_info(spark, table, history=False)
    assert fast is not None and fast.version == 2 and fast.commits  # answered by DESCRIBE: with commits
    assert manifests.detail(spark, table).partition_columns == ("day",)
    assert delta.last_commit(spark, table.path) is not None
    assert delta_log.checksum(spark, table.path, 2) is None and delta_log.actions(spark, table.path, 9) is None


def test_no_table_at_the_path(spark: SparkSession, tmp_path: Path) -> None:
    missing = TableRef("gold", "none", str(tmp_path))
    assert tables.table_info(spark, missing, history=False) is None
    assert delta.last_commit(spark, missing.path) is None and delta_log.versions(spark, missing.path) == []
