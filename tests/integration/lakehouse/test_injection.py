"""No value becomes SQL text in the lakehouse's writes (issue 14, finding 1).

The issue's injection: ``--set "sources.tickets.table=support_tickets\\' OR 1=1 --"`` made the
cursor name ``tickets:support_tickets\\' OR 1=1 --``, whose ``ops.cursors`` write deleted every
other watermark. Each test here runs against real Delta tables.
"""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from careplus_spark.errors import ConfigError
from careplus_spark.lakehouse import delta, registry, state, tables
from careplus_spark.platform.config import AppConfig

INJECTED_NAME = "tickets:support_tickets\\' OR 1=1 --"
NAMES = [
    "tickets:support_tickets",
    "silver.tickets<-bronze.tickets",
    "silver.logs<-bronze.logs",
    "gold.fct_tickets<-silver.tickets",
    "gold.fct_logs<-silver.logs",
    "gold.kpis<-gold.fct_tickets",
]
TRICKY_KEYS = ["a", "b'c", "b\\' OR 1=1 --", "d\\", "e%", "f--", "g"]


def cursor_rows(spark: SparkSession, ref: tables.TableRef) -> dict[str, str]:
    return {r["name"]: r["value"] for r in spark.read.format("delta").load(ref.path).collect()}


def test_the_injected_cursor_name_deletes_no_other_row_of_ops_cursors(
    spark: SparkSession, lakehouse: AppConfig
) -> None:
    ref = tables.TableRef("ops", "cursors", lakehouse.lakehouse.root)
    state.save(spark, ref, *[state.CursorState(name, f"v{i}", run_id="r1") for i, name in enumerate(NAMES)])
    before = cursor_rows(spark, ref)
    version = delta.latest_version(spark, ref.path)
    assert len(before) == len(NAMES)

    with pytest.raises(ConfigError, match="invalid cursor name"):
        state.save(spark, ref, state.CursorState(INJECTED_NAME, "2025-07-02 00:00:00", run_id="r2"))

    assert cursor_rows(spark, ref) == before  # every other row is still there, unchanged
    assert delta.latest_version(spark, ref.path) == version  # nothing was committed
    state.save(spark, ref, state.CursorState(NAMES[0], "v-new", run_id="r3"))  # a valid save replaces its row only
    assert cursor_rows(spark, ref) == {**before, NAMES[0]: "v-new"}


def test_sync_keys_with_quotes_and_backslashes_in_the_key_range(spark: SparkSession, lakehouse: AppConfig) -> None:
    """The key range is a typed Column: keys with ' and \\ neither break the MERGE nor widen it."""
    ref = tables.TableRef("gold", "sync_injection", lakehouse.lakehouse.root)
    schema = "id STRING, v INT"
    tables.upsert(spark, spark.createDataFrame([(k, 1) for k in TRICKY_KEYS], schema), ref, ["id"])
    scope = spark.createDataFrame([("b'c",), ("b\\' OR 1=1 --",)], "id STRING")
    rows = spark.createDataFrame([("b\\' OR 1=1 --", 2)], schema)  # b'c is gone from the scope
    result = tables.sync_keys(spark, rows, ref, "id", scope, key_range=("b'c", "b\\' OR 1=1 --"),
                              update_condition="s.v <> t.v")
    assert (result.inserted, result.updated, result.deleted) == (0, 1, 1)
    after = {r.id: r.v for r in spark.read.format("delta").load(ref.path).collect()}
    assert after == {**{k: 1 for k in TRICKY_KEYS if k != "b'c"}, "b\\' OR 1=1 --": 2}


def test_a_folder_whose_name_is_no_table_name_is_skipped_not_run_as_sql(
    spark: SparkSession, lakehouse: AppConfig
) -> None:
    root = lakehouse.lakehouse.root
    spark.range(2).write.format("delta").save(f"{root}/silver/good_one")
    spark.range(2).write.format("delta").save(f"{root}/silver/bad' OR 1=1 --")
    spark.sql("DROP TABLE IF EXISTS silver.good_one")
    registered = registry.register_existing(spark, root, ["silver"])
    assert registered == ["silver.good_one"]
    assert spark.table("silver.good_one").count() == 2
    detail = spark.sql("DESCRIBE DETAIL silver.good_one").first()
    assert detail is not None and str(detail["location"]).endswith(f"{root}/silver/good_one")


def test_register_refuses_a_name_that_is_no_identifier(spark: SparkSession, lakehouse: AppConfig) -> None:
    ref = tables.TableRef("silver", "x` USING x --", lakehouse.lakehouse.root)
    with pytest.raises(ConfigError, match="cannot register the table name"):
        tables.register(spark, ref)


def test_register_twice_adds_no_commit(spark: SparkSession, lakehouse: AppConfig) -> None:
    ref = tables.TableRef("silver", "registered_twice", lakehouse.lakehouse.root)
    spark.range(3).write.format("delta").save(ref.path)
    spark.sql("DROP TABLE IF EXISTS silver.registered_twice")
    tables.register(spark, ref)
    tables.register(spark, ref)
    assert delta.latest_version(spark, ref.path) == 0
    assert spark.table("silver.registered_twice").count() == 3


def test_create_database_with_a_checked_name_and_location(spark: SparkSession, lakehouse: AppConfig) -> None:
    location = f"{lakehouse.lakehouse.root}/scratch_injection"
    registry.create_database(spark, "scratch_injection", location)
    registry.create_database(spark, "scratch_injection", location)  # IF NOT EXISTS
    found = {d.name: d.locationUri for d in spark.catalog.listDatabases()}
    assert str(found["scratch_injection"]).endswith(location)
    spark.sql("DROP DATABASE scratch_injection")
