"""Key and cursor ranges of the tickets extraction with hostile keys, on real MariaDB and SQLite.

Spark's JDBC source takes each partition's predicate as SQL text. Ticket keys holding
``'``, ``\\``, ``%`` and ``--`` become boundaries of those predicates (issue 14, finding 1):
a full load in key ranges must still read every row exactly once, in every collation.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from careplus_spark.platform.config import AppConfig, TicketsSourceConfig
from careplus_spark.platform.secrets import Secret
from careplus_spark.sources import tickets_extract as ex

TEMPLATES = ["{i:02d}'x", "{i:02d}\\", "{i:02d}%", "{i:02d}--", "{i:02d}\\' OR 1=1 --", "{i:02d}é\""]
KEYS = [f"T{template.format(i=i)}" for i in range(8) for template in TEMPLATES]
START = dt.datetime(2025, 7, 1, 0, 0, 0, 250000)


def updated_at(index: int) -> dt.datetime:
    return START + dt.timedelta(minutes=7 * index)


def read_window(spark: SparkSession, source: TicketsSourceConfig, lower: str | None) -> tuple[ex.ReadPlan, list]:  # type: ignore[type-arg]
    window = ex.plan_window(spark, source, lower)
    plan = ex.plan_read(spark, source, window)
    df = ex.open_window(spark, source, plan)
    per_partition = df.select("ticket_id").rdd.glom().map(lambda rows: [r[0] for r in rows]).collect()
    return plan, per_partition


def check_full_and_incremental_reads(spark: SparkSession, source: TicketsSourceConfig) -> None:
    plan, parts = read_window(spark, source, None)
    assert plan.mode == "key" and len(plan.predicates) == 4
    read = [key for part in parts for key in part]
    assert sorted(read) == sorted(KEYS)  # every row, each exactly once
    assert sum(1 for part in parts if part) >= 3  # the ranges really split the keys
    lower = updated_at(len(KEYS) // 2).strftime("%Y-%m-%d %H:%M:%S.%f")
    plan, parts = read_window(spark, replace(source, partition_by="auto"), lower)
    assert plan.mode == "cursor" and len(plan.predicates) > 1
    assert sorted(key for part in parts for key in part) == sorted(KEYS[len(KEYS) // 2:])


@pytest.mark.parametrize("collation", ["utf8mb4_unicode_ci", "utf8mb4_bin", "latin1_swedish_ci"])
def test_a_full_load_in_key_ranges_reads_every_hostile_key_once_on_mariadb(
    spark: SparkSession, mysql_cfg: AppConfig, mysql_db, collation: str  # type: ignore[no-untyped-def]
) -> None:
    table = f"hostile_{uuid.uuid4().hex[:8]}"
    charset = collation.split("_", 1)[0]
    with mysql_db.connect() as conn, conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {table} (ticket_id VARCHAR(64) NOT NULL PRIMARY KEY, updated_at DATETIME(6)) "
            f"CHARACTER SET {charset} COLLATE {collation}"
        )
        cur.executemany(f"INSERT INTO {table} VALUES (%s, %s)", [(k, updated_at(i)) for i, k in enumerate(KEYS)])
    try:
        source = replace(mysql_cfg.sources.tickets, table=table, num_partitions=4, partition_min_rows=1,
                         partition_by="key")
        check_full_and_incremental_reads(spark, source)
    finally:
        with mysql_db.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP TABLE {table}")


def test_a_full_load_in_key_ranges_reads_every_hostile_key_once_on_sqlite(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "hostile.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE hostile (ticket_id TEXT PRIMARY KEY, updated_at TEXT)")
        conn.executemany("INSERT INTO hostile VALUES (?, ?)",
                         [(k, updated_at(i).strftime("%Y-%m-%d %H:%M:%S.%f")) for i, k in enumerate(KEYS)])
    conn.close()
    source = TicketsSourceConfig(url=f"jdbc:sqlite:{path}", table="hostile", user="", password=Secret.empty(),
                                 num_partitions=4, partition_min_rows=1, partition_by="key", retries=1)
    check_full_and_incremental_reads(spark, source)
