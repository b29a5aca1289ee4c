"""Benchmark: 1,000,000 tickets from MySQL: full extraction, and the cost of delete reconciliation.

Usage::

    .venv/bin/python bench/tickets_extract.py [--tickets 1000000] [--partitions 2] [--part all|extract|reconcile]
        [--change-share 0.01] [--delete-share 0.001] [--repeat 1]

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

Both figures are wall-clock seconds of the extraction alone; the extraction part ends with
``ratio ours/baseline = X``, the ratio of the two times (below 1: ours is faster).

Reconciliation part (``--part reconcile``; issue 13, deletes the same day), on a working copy
of the same table and a bronze full-loaded from it (neither counted), then a change set at
the source: ``--change-share`` of the tickets updated, as many new ones, and
``--delete-share`` deleted. Each measured run starts from its own copy of that lakehouse,
in one JVM (two uncounted ingests, one plain and one reconciling, warm the JIT up first);
``--repeat N`` runs N rounds of:

(c) plain: ``ingest_tickets`` of the change set with ``reconcile_every_runs: 0``;
(d) ours: ``ingest_tickets`` of the same change set with ``reconcile_every_runs: 1``: the
    key-only comparison, the deletions inside the ingest's own MERGE and commit;
(e) old: the same plain ingest, then the reconciliation of commit 945f6a8 (kept below as
    :func:`old_reconcile_deletes`: one unpartitioned key query, both key sets cached, two
    anti-joins, a MERGE of its own), as ``ingest_tickets`` ran it when it was due.

Every reconciling run is checked: the deleted tickets (and only they) are soft-deleted, bronze's
live rows equal the source's; a reconciling re-run with nothing new must write no version.
Printed: wall seconds and the JVM's CPU seconds (less sensitive to busy neighbours) of each,
and the extra of reconciling over (c), absolute and as a ratio. The last line is
``ratio reconciliation extra ours/old = X`` (medians over the rounds; below 1: ours is cheaper).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

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

    cfg = bench_config(server, table, root, partitions, every=0)
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
    parser.add_argument("--tickets", "--rows", dest="rows", type=int, default=1_000_000,
                        help="tickets in the source table (a smaller number for a quick run)")
    parser.add_argument("--partitions", type=int, default=2, help="sources.tickets.num_partitions for ours")
    parser.add_argument("--part", choices=["all", "extract", "reconcile"], default="all")
    parser.add_argument("--change-share", type=float, default=0.01,
                        help="reconcile part: share of tickets updated, and as many new (default 0.01)")
    parser.add_argument("--delete-share", type=float, default=0.001,
                        help="reconcile part: share of tickets deleted at the source (default 0.001)")
    parser.add_argument("--repeat", type=int, default=1, help="reconcile part: rounds of (c), (d), (e) (medians)")
    args = parser.parse_args()
    from tests.services import MariaDbServer

    table = f"bench_tickets_{args.rows}"
    with (
        tempfile.TemporaryDirectory(prefix="careplus-bench-") as tmp,
        MariaDbServer.start_or_reuse(base_dir=tmp) as server,
    ):
        where = "reused" if server.reused else "private"
        print(f"MySQL-compatible server: {where} MariaDB on {server.host}:{server.port}; {os.cpu_count()} cores; "
              f"load average {os.getloadavg()[0]:.1f}")
        rows = ensure_loaded(server, table, args.rows)
        if args.part in ("all", "extract"):
            extraction(server, table, rows, Path(tmp), args.partitions)
        if args.part in ("all", "reconcile"):
            reconciliation(server, table, Path(tmp), args)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


def extraction(server, table: str, rows: int, tmp: Path, partitions: int) -> None:  # type: ignore[no-untyped-def]
    """(a) and (b): the full extraction, baseline vs ours."""
    started = time.monotonic()
    n_base = baseline(server, table, tmp / "baseline.parquet")
    t_base = time.monotonic() - started
    print(f"(a) baseline, 1 connection, pymysql SSCursor -> pyarrow Parquet: {n_base:,} rows in {t_base:.2f} s "
          f"= {n_base / t_base:,.0f} rows/s")
    n_ours, t_ours, t_rerun, t_warm = ours(server, table, tmp, partitions)
    print(f"(b) ours, ingest_tickets full load -> bronze.tickets ({partitions} partitions): "
          f"{n_ours:,} rows in "
          f"{t_ours:.2f} s = {n_ours / t_ours:,.0f} rows/s")
    print(f"    ours, re-run with nothing new (look-back window only, no bronze version): {t_rerun:.2f} s")
    print(f"    ours, the same full load again in the now warm JVM (information only): {t_warm:.2f} s "
          f"= {n_ours / t_warm:,.0f} rows/s, ratio {t_warm / t_base:.2f}")
    if not n_base == n_ours == rows:
        raise SystemExit(f"row counts differ: source {rows}, baseline {n_base}, ours {n_ours}")
    print(f"ratio ours/baseline = {t_ours / t_base:.2f}")


def bench_config(server, table: str, root: Path, partitions: int, every: int):  # type: ignore[no-untyped-def]
    """The ``test`` configuration on the bench's MariaDB table, lakehouse under ``root``."""
    from careplus_spark.platform.config import load_config

    os.environ["CAREPLUS_BENCH_MYSQL_PASSWORD"] = server.admin_password
    return load_config(
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
            f"sources.tickets.reconcile_every_runs={every}",
            f"sources.logs.path={root / 'logs'}",
        ],
        conf_dir=REPO / "conf",
    )


def old_reconcile_deletes(spark, source, table, run_id: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """The reconciliation as of commit 945f6a8 (``reconcile_deletes``, its key query and MERGE), verbatim
    but for the returned counts.

    Returns:
        (soft-deleted keys, the MERGE's version or -1)
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from careplus_spark.lakehouse import delta
    from careplus_spark.sources import tickets_extract as extract
    from careplus_spark.sources.jdbc import jdbc_options, require_driver, safe_url, with_retries

    source = extract.source_options(source)
    key = source.key_column
    sql = f"(SELECT {extract.quote(key)} FROM {extract.quote(source.table)}) k"
    options = jdbc_options(source, dbtable=sql)
    require_driver(spark, options)
    if source.password.is_set():
        options["password"] = source.password.reveal()
    what = f"JDBC source {safe_url(source.url)}"
    keys = with_retries(lambda: spark.read.format("jdbc").options(**options).load(), what,
                        attempts=source.retries, backoff_s=source.retry_backoff_s).cache()
    try:
        n_source = with_retries(keys.count, what, source.retries, source.retry_backoff_s)
        live = spark.read.format("delta").load(table.path).where(F.col("_deleted_at").isNull()).select(key).cache()
        try:
            n_live = live.count()
            if n_source == 0 and n_live > 0:
                raise SystemExit("old reconcile: no source keys")
            gone = live.join(keys, on=key, how="left_anti").cache()
            keys.join(live, on=key, how="left_anti").count()  # missing in bronze (logged by the old code)
            n_gone = gone.count()
            version = -1
            if n_gone:
                target = DeltaTable.forPath(spark, table.path)
                with delta.commit_metadata(spark, {"run_id": run_id, "step": "reconcile_tickets"}):
                    (
                        target.alias("t")
                        .merge(gone.alias("s"), f"t.`{key}` = s.`{key}`")
                        .whenMatchedUpdate(condition="t._deleted_at IS NULL",
                                           set={"_deleted_at": "current_timestamp()"})
                        .execute()
                    )
                version = delta.latest_version(spark, table.path)
            gone.unpersist()
        finally:
            live.unpersist()
    finally:
        keys.unpersist()
    return n_gone, version


def source_sql(server, statements: list[tuple[str, list[Any]]]) -> None:  # type: ignore[no-untyped-def]
    """Runs statements on the bench database (``executemany`` for parameter lists)."""
    import pymysql

    conn = pymysql.connect(host=server.host, port=server.port, user=server.admin_user,
                           password=server.admin_password, database=DATABASE, autocommit=True)
    with conn, conn.cursor() as cur:
        for sql, params in statements:
            if params:
                cur.executemany(sql, params)
            else:
                cur.execute(sql)


def change_source(server, work: str, changes: int, deletes: int) -> tuple[set[str], str]:  # type: ignore[no-untyped-def]
    """Updates ``changes`` tickets, adds as many, deletes ``deletes`` others (all in the work table).

    Returns:
        The deleted keys and the cursor value of the changes.
    """
    import pymysql

    conn = pymysql.connect(host=server.host, port=server.port, user=server.admin_user,
                           password=server.admin_password, database=DATABASE, autocommit=True)
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT ticket_id FROM {work}")
        keys = sorted(r[0] for r in cur.fetchall())
        cur.execute(f"SELECT MAX(updated_at) FROM {work}")
        latest = cur.fetchone()[0]
    picked = random.Random(13).sample(keys, changes + deletes)
    updated, deleted = picked[:changes], set(picked[changes:])
    later = latest + dt.timedelta(minutes=5)
    batches = [updated[i:i + 1000] for i in range(0, changes, 1000)]
    statements: list[tuple[str, list[Any]]] = [
        (f"UPDATE {work} SET status = 'Resolved', resolved_at = %s, updated_at = %s WHERE ticket_id = %s",
         [(str(later), later, k) for k in batch]) for batch in batches
    ]
    columns = ", ".join(COLUMNS)
    new = [(f"TCKBENCH{i:07d}", str(later), later, None, "Bench Agent", "High", "1", "Billing", "Chat", "Open", "ok")
           for i in range(changes)]
    statements += [(f"INSERT INTO {work} ({columns}) VALUES ({', '.join(['%s'] * len(COLUMNS))})",
                    new[i:i + 1000]) for i in range(0, len(new), 1000)]
    ordered = sorted(deleted)
    statements += [(f"DELETE FROM {work} WHERE ticket_id = %s", [(k,) for k in ordered[i:i + 1000]])
                   for i in range(0, len(ordered), 1000)]
    source_sql(server, statements)
    return deleted, str(later)


class Clock:
    """Wall and JVM CPU seconds of a block (CPU: /proc of the driver JVM, so busy neighbours count less)."""

    def __init__(self, spark) -> None:  # type: ignore[no-untyped-def]
        self.pid = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())

    def cpu(self) -> float:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def time(self, action: Callable[[], Any]) -> tuple[Any, float, float]:
        cpu, started = self.cpu(), time.monotonic()
        out = action()
        return out, time.monotonic() - started, self.cpu() - cpu


def reconciliation(server, table: str, tmp: Path, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    """(c), (d), (e): a plain incremental ingest vs reconciling ones, same change set, same JVM."""
    from careplus_spark.bronze import tickets as bronze_tickets
    from careplus_spark.lakehouse.run import RunContext
    from careplus_spark.pipeline.entry import open_lakehouse

    logging.basicConfig(format="    log: %(message)s")
    logging.getLogger("careplus_spark.bronze.reconcile").setLevel(logging.INFO)  # the key comparison's time
    work = f"{table}_work"
    started = time.monotonic()
    source_sql(server, [(f"DROP TABLE IF EXISTS {work}", []), (f"CREATE TABLE {work} LIKE {table}", []),
                        (f"INSERT INTO {work} SELECT * FROM {table}", [])])
    print(f"reconcile: working copy {work} in {time.monotonic() - started:.1f} s (not counted)")
    root = tmp / "reconcile"
    base = bench_config(server, work, root / "base", args.partitions, every=0)
    spark = open_lakehouse(base, app_name="careplus-bench-reconcile")
    clock = Clock(spark)
    try:
        loaded, seconds, _ = clock.time(lambda: bronze_tickets.ingest(spark, RunContext(base)))
        print(f"reconcile: full load of {loaded.rows_written:,} tickets into bronze in {seconds:.1f} s (not counted)")
        n = loaded.rows_written
        changes, deletes = round(n * args.change_share), round(n * args.delete_share)
        started = time.monotonic()
        deleted, _ = change_source(server, work, changes, deletes)
        print(f"reconcile: source change set: {changes:,} updated, {changes:,} new, {deletes:,} deleted "
              f"({time.monotonic() - started:.1f} s, not counted)")
        runs = Runs(spark, clock, server, work, root, args.partitions, deleted, n + changes - deletes)
        for every in (0, 1):  # JIT: the plain and the reconciling paths once each, uncounted
            _, seconds, _ = runs.ingest(f"warm-{every}", every)
            print(f"reconcile: warm-up ingest with reconcile_every_runs={every}: {seconds:.2f} s (not counted)")
        rounds = [reconcile_round(runs, i, changes, deletes) for i in range(args.repeat)]
        if len(rounds) > 1:
            print(f"median of {len(rounds)} rounds:")
        median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        if len(rounds) > 1:
            print(f"    (c) plain {median['t_plain']:.2f} s; (d) ours {median['t_ours']:.2f} s, extra "
                  f"{median['t_ours'] - median['t_plain']:+.2f} s, ratio {median['t_ours'] / median['t_plain']:.2f}; "
                  f"(e) old extra {median['t_old_rec']:+.2f} s, ratio "
                  f"{(median['t_plain'] + median['t_old_rec']) / median['t_plain']:.2f}")
        extra, cpu = median["t_ours"] - median["t_plain"], median["c_ours"] - median["c_plain"]
        print(f"ratio reconciliation extra ours/old = {extra / median['t_old_rec']:.2f} "
              f"(JVM CPU {cpu / median['c_old_rec']:.2f})")
    finally:
        spark.stop()
        source_sql(server, [(f"DROP TABLE IF EXISTS {work}", [])])


class Runs:
    """Ingest runs of the reconcile part, each on its own copy of the full-loaded lakehouse."""

    def __init__(self, spark, clock: Clock, server, work: str, root: Path, partitions: int,  # type: ignore[no-untyped-def]
                 deleted: set[str], live: int) -> None:
        self.spark, self.clock, self.server, self.work = spark, clock, server, work
        self.root, self.partitions, self.deleted, self.live = root, partitions, deleted, live

    def config(self, name: str, every: int, copy: bool = True):  # type: ignore[no-untyped-def]
        if copy:
            shutil.copytree(self.root / "base" / "lakehouse", self.root / name / "lakehouse")
        return bench_config(self.server, self.work, self.root / name, self.partitions, every)

    def ingest(self, name: str, every: int, copy: bool = True) -> tuple[Any, float, float]:
        from careplus_spark.bronze import tickets as bronze_tickets
        from careplus_spark.lakehouse.run import RunContext

        cfg = self.config(name, every, copy)
        out = self.clock.time(lambda: bronze_tickets.ingest(self.spark, RunContext(cfg)))
        if every:
            self.check(name)
        return out

    def check(self, name: str) -> None:
        """The deleted tickets, and only they, are soft-deleted; live rows are the source's."""
        from pyspark.sql import functions as F

        from careplus_spark.lakehouse.run import RunContext

        cfg = self.config(name, 0, copy=False)
        bronze = self.spark.read.format("delta").load(RunContext(cfg).table("bronze", "tickets").path)
        gone = {r[0] for r in bronze.where(F.col("_deleted_at").isNotNull()).select("ticket_id").collect()}
        live = bronze.where(F.col("_deleted_at").isNull()).count()
        if gone != self.deleted or live != self.live:
            raise SystemExit(f"{name}: {len(gone)} soft-deleted (expected {len(self.deleted)}, same keys: "
                             f"{gone == self.deleted}), {live} live (expected {self.live})")


def reconcile_round(runs: Runs, i: int, changes: int, deletes: int) -> dict[str, float]:
    """One round of (c), (d), (e); prints and returns their wall and JVM CPU seconds."""
    from careplus_spark.lakehouse.run import RunContext

    print(f"round {i + 1}:")
    result, t_plain, c_plain = runs.ingest(f"plain-{i}", 0)
    if (result.rows_written, result.rows_updated) != (changes, changes):
        raise SystemExit(f"plain ingest wrote {result.rows_written} and updated {result.rows_updated}")
    print(f"(c) plain incremental ingest ({changes:,} updated + {changes:,} new, no reconciliation): "
          f"{t_plain:.2f} s (JVM CPU {c_plain:.1f} s)")

    result, t_ours, c_ours = runs.ingest(f"ours-{i}", 1)
    print(f"(d) ours, reconciling ingest of the same changes + {deletes:,} deleted (one MERGE and commit): "
          f"{t_ours:.2f} s (JVM CPU {c_ours:.1f} s); {result.detail.split('; ', 1)[-1]}")
    print(f"    ours, extra for reconciliation: {t_ours - t_plain:+.2f} s, ratio {t_ours / t_plain:.2f} "
          f"(JVM CPU {c_ours - c_plain:+.1f} s, ratio {c_ours / c_plain:.2f})")
    if i == 0:
        again, t_again, _ = runs.ingest(f"ours-{i}", 1, copy=False)
        if again.versions:
            raise SystemExit(f"a reconciling re-run with nothing new wrote a version: {again}")
        print(f"    ours, reconciling re-run with nothing new (no bronze version): {t_again:.2f} s")

    _, t_old_ingest, c_old_ingest = runs.ingest(f"old-{i}", 0)
    old = runs.config(f"old-{i}", 0, copy=False)
    (n_gone, _), t_old_rec, c_old_rec = runs.clock.time(
        lambda: old_reconcile_deletes(runs.spark, old.sources.tickets, RunContext(old).table("bronze", "tickets"),
                                      "bench-old"))
    runs.check(f"old-{i}")
    print(f"(e) old (945f6a8): plain ingest {t_old_ingest:.2f} s + reconcile_deletes {t_old_rec:.2f} s "
          f"({n_gone:,} soft-deleted, a MERGE of its own) = {t_old_ingest + t_old_rec:.2f} s "
          f"(JVM CPU {c_old_ingest:.1f} + {c_old_rec:.1f} s)")
    print(f"    old, extra for reconciliation: {t_old_rec:+.2f} s, ratio {(t_plain + t_old_rec) / t_plain:.2f} "
          f"over (c) (JVM CPU {c_old_rec:+.1f} s)")
    return {"t_plain": t_plain, "c_plain": c_plain, "t_ours": t_ours, "c_ours": c_ours,
            "t_old_rec": t_old_rec, "c_old_rec": c_old_rec}

if __name__ == "__main__":
    sys.exit(main())
