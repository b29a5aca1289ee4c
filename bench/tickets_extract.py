"""Benchmark: full extraction of 1,000,000 tickets from MySQL, ours vs a one-connection baseline.

Usage::

    .venv/bin/python bench/tickets_extract.py [--rows 1000000] [--partitions 2]

The MySQL-compatible server is the one named by ``CAREPLUS_TEST_MYSQL_*`` (reused, and the
generated table is kept there between runs: it is loaded once), or a private MariaDB
started for this run through ``tests/services.py`` (loaded every run, as it is thrown away).

In one run, on the same table:

(a) baseline: one pymysql connection, an unbuffered ``SSCursor`` fetching every row,
    written to one Parquet file with pyarrow (batches of 50,000 rows);
(b) ours: ``ingest_tickets`` into an empty ``bronze.tickets`` (a first, full load: the
    planning queries, parallel key-range JDBC reads, lineage columns, the Delta commit
    with the cursor, and the ``ops.cursors`` write). Before the clock starts, the Spark
    session is started and Delta initialised with a one-row scratch table (both printed
    separately); nothing of the source or of the JDBC path is touched before.

Both figures are wall-clock seconds of the extraction alone. The last line is
``ratio ours/baseline = X``, the ratio of the two times (below 1: ours is faster).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATABASE = "careplus_bench"
TICKETS_PER_DAY = 10_000
COLUMNS = (
    "ticket_id", "created_at", "updated_at", "resolved_at", "agent", "priority",
    "num_interactions", "IssUeCat", "channel", "status", "agent_feedback",
)


def ensure_loaded(server, table: str, rows: int) -> int:  # type: ignore[no-untyped-def]
    """Generates ``rows`` tickets into ``table`` unless a previous run already did."""
    import pymysql

    from careplus_spark.synthetic import GenerateSpec, MySqlSink, generate

    conn = pymysql.connect(host=server.host, port=server.port, user=server.admin_user,
                           password=server.admin_password, autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {DATABASE}.bench_loaded (name VARCHAR(64) PRIMARY KEY, n BIGINT)")
        cur.execute(f"SELECT n FROM {DATABASE}.bench_loaded WHERE name = %s", (table,))
        found = cur.fetchone()
        if found:
            print(f"source: {table} already holds {found[0]:,} tickets (loaded by an earlier run)")
            return int(found[0])
    started = time.monotonic()
    spec = GenerateSpec(
        seed=42, start_date=dt.date(2025, 1, 1), days=max(1, rows // TICKETS_PER_DAY),
        tickets_per_day=min(rows, TICKETS_PER_DAY), events_per_ticket=0.0, log_files_per_day=0, delete_per_day=0,
    )
    with MySqlSink(server.host, server.port, server.admin_user, server.admin_password, DATABASE, table) as sink:
        generate(spec, sink, None)
    conn = pymysql.connect(host=server.host, port=server.port, user=server.admin_user,
                           password=server.admin_password, database=DATABASE, autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(f"ANALYZE TABLE {table}")
        cur.execute(f"SELECT COUNT(*) FROM {table}")
        count = int(cur.fetchone()[0])
        cur.execute("REPLACE INTO bench_loaded VALUES (%s, %s)", (table, count))
    print(f"source: generated {count:,} tickets into {DATABASE}.{table} in {time.monotonic() - started:.1f} s")
    return count


def baseline(server, table: str, out: Path) -> int:  # type: ignore[no-untyped-def]
    """One connection, every row through an unbuffered cursor, Parquet via pyarrow."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pymysql
    import pymysql.cursors

    schema = pa.schema([(c, pa.timestamp("us") if c == "updated_at" else pa.string()) for c in COLUMNS])
    conn = pymysql.connect(host=server.host, port=server.port, user=server.admin_user, password=server.admin_password,
                           database=DATABASE, cursorclass=pymysql.cursors.SSCursor, charset="utf8mb4")
    total = 0
    with conn, conn.cursor() as cur, pq.ParquetWriter(out, schema) as writer:
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM {table}")
        while rows := cur.fetchmany(50_000):
            columns = list(zip(*rows, strict=True))
            arrays = [pa.array(c, type=t) for c, t in zip(columns, schema.types, strict=True)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            total += len(rows)
    return total


def ours(server, table: str, root: Path, partitions: int) -> tuple[int, float, float, float]:  # type: ignore[no-untyped-def]
    """ingest_tickets into an empty bronze, in a fresh JVM (the figure that counts).

    Returns:
        rows, seconds, a no-change re-run's seconds, and the seconds of a second full load
        into another empty lakehouse in the same, now warm, JVM (for information).
    """
    from careplus_spark.bronze import tickets as bronze_tickets
    from careplus_spark.lakehouse.run import RunContext
    from careplus_spark.pipeline.entry import open_lakehouse
    from careplus_spark.platform.config import load_config

    os.environ["CAREPLUS_BENCH_MYSQL_PASSWORD"] = server.admin_password
    cfg = load_config(
        "test",
        overrides=[
            f"lakehouse.root={root / 'lakehouse'}",
            f"lakehouse.catalog.metastore_dir={root / 'catalog'}",
            f"sources.tickets.url=jdbc:mysql://{server.host}:{server.port}/{DATABASE}",
            f"sources.tickets.user={server.admin_user}",
            "sources.tickets.password=${CAREPLUS_BENCH_MYSQL_PASSWORD}",
            f"sources.tickets.table={table}",
            f"sources.tickets.num_partitions={partitions}",
            "sources.tickets.options.connectionTimeZone=UTC",
            "sources.tickets.reconcile_every_runs=0",
            f"sources.logs.path={root / 'logs'}",
        ],
        conf_dir=REPO / "conf",
    )
    started = time.monotonic()
    spark = open_lakehouse(cfg, app_name="careplus-bench")
    spark.range(1).count()  # the JVM is up and a first job has run
    print(f"ours: Spark session ready in {time.monotonic() - started:.1f} s (not counted)")
    started = time.monotonic()
    scratch = str(root / "scratch")  # a one-row Delta table: loads Delta's classes, touches no source
    spark.range(1).write.format("delta").save(scratch)
    spark.read.format("delta").load(scratch).count()
    print(f"ours: Delta initialised (one-row write and read of a scratch table) in "
          f"{time.monotonic() - started:.1f} s (not counted)")
    started = time.monotonic()
    result = bronze_tickets.ingest(spark, RunContext(cfg))
    seconds = time.monotonic() - started
    started = time.monotonic()
    again = bronze_tickets.ingest(spark, RunContext(cfg))
    rerun = time.monotonic() - started
    if again.versions:
        raise SystemExit(f"a re-run with nothing new wrote a version: {again}")
    warm_cfg = replace(cfg, lakehouse=replace(cfg.lakehouse, root=str(root / "lakehouse-warm")))
    started = time.monotonic()
    bronze_tickets.ingest(spark, RunContext(warm_cfg))
    warm = time.monotonic() - started
    spark.stop()
    return result.rows_written, seconds, rerun, warm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=2, help="sources.tickets.num_partitions for ours")
    args = parser.parse_args()
    from tests.services import MariaDbServer

    table = f"bench_tickets_{args.rows}"
    with (
        tempfile.TemporaryDirectory(prefix="careplus-bench-") as tmp,
        MariaDbServer.start_or_reuse(base_dir=tmp) as server,
    ):
        where = "reused" if server.reused else "private"
        print(f"MySQL-compatible server: {where} MariaDB on {server.host}:{server.port}; {os.cpu_count()} cores")
        rows = ensure_loaded(server, table, args.rows)
        started = time.monotonic()
        n_base = baseline(server, table, Path(tmp) / "baseline.parquet")
        t_base = time.monotonic() - started
        print(f"(a) baseline, 1 connection, pymysql SSCursor -> pyarrow Parquet: {n_base:,} rows in {t_base:.2f} s "
              f"= {n_base / t_base:,.0f} rows/s")
        n_ours, t_ours, t_rerun, t_warm = ours(server, table, Path(tmp), args.partitions)
        print(f"(b) ours, ingest_tickets full load -> bronze.tickets ({args.partitions} partitions): "
              f"{n_ours:,} rows in "
              f"{t_ours:.2f} s = {n_ours / t_ours:,.0f} rows/s")
        print(f"    ours, re-run with nothing new (look-back window only, no bronze version): {t_rerun:.2f} s")
        print(f"    ours, the same full load again in the now warm JVM (information only): {t_warm:.2f} s "
              f"= {n_ours / t_warm:,.0f} rows/s, ratio {t_warm / t_base:.2f}")
        if not n_base == n_ours == rows:
            raise SystemExit(f"row counts differ: source {rows}, baseline {n_base}, ours {n_ours}")
        print(f"ratio ours/baseline = {t_ours / t_base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
