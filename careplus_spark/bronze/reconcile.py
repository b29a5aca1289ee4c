"""Deletes at the source: compare key sets and soft-delete bronze rows gone from MySQL.

A key-only query (``SELECT ticket_id FROM support_tickets``, answered from the primary
key) is compared with bronze's live keys; bronze rows whose key is gone get
``_deleted_at`` (one MERGE; nothing is physically removed, the row keeps its last
source values). A ticket that reappears at the source comes back through the cursor
and the ingest MERGE clears ``_deleted_at``. Silver removes deleted tickets
(:mod:`careplus_spark.silver.tickets`), and gold reads silver.

Runs every ``sources.tickets.reconcile_every_runs`` ingest runs (from the ingest step)
and on demand: ``careplus run reconcile_tickets``. As a guard against a wrong or
truncated source table, a source that returns no keys at all while bronze has live rows
fails instead of soft-deleting everything.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from careplus_spark.bronze.ticket_cursor import ReconcileSchedule, cursor_name
from careplus_spark.errors import DataError
from careplus_spark.lakehouse import catalog, delta, tables
from careplus_spark.lakehouse import state as cursor_state
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.platform.config import TicketsSourceConfig
from careplus_spark.sources import tickets_extract as extract
from careplus_spark.sources.jdbc import jdbc_options, require_driver, safe_url, with_retries

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)
STEP = "reconcile_tickets"


@dataclass(frozen=True)
class ReconcileOutcome:
    """What one reconciliation found and did."""

    source_keys: int
    bronze_live: int
    soft_deleted: int
    missing_in_bronze: int
    version: int | None
    at: dt.datetime

    def summary(self) -> str:
        return (
            f"reconciled {self.source_keys} source keys with {self.bronze_live} live bronze rows: "
            f"{self.soft_deleted} soft-deleted, {self.missing_in_bronze} not yet in bronze"
        )


def source_keys(spark: SparkSession, source: TicketsSourceConfig) -> DataFrame:
    """The source's key set as a lazy one-column DataFrame (a key-only query).

    Example:
        >>> source_keys(spark, cfg.sources.tickets).count()  # doctest: +SKIP
        300
    """
    key = extract.quote(source.key_column)
    sql = f"(SELECT {key} FROM {extract.quote(source.table)}) k"
    options = jdbc_options(source, dbtable=sql)
    require_driver(spark, options)
    if source.password.is_set():
        options["password"] = source.password.reveal()
    return with_retries(
        lambda: spark.read.format("jdbc").options(**options).load(),
        f"JDBC source {safe_url(source.url)}",
        attempts=source.retries,
        backoff_s=source.retry_backoff_s,
    )


def gone_keys(bronze_live: DataFrame, source: DataFrame, key: str) -> DataFrame:
    """Live bronze keys that the source no longer has."""
    return bronze_live.join(source, on=key, how="left_anti")


def reconcile_deletes(
    spark: SparkSession, source: TicketsSourceConfig, table: tables.TableRef, run_id: str
) -> ReconcileOutcome:
    """Soft-deletes bronze rows whose key is gone from the source (one MERGE, if any).

    Example:
        >>> reconcile_deletes(spark, cfg.sources.tickets, TableRef("bronze", "tickets", root), "r1")  # doctest: +SKIP
        ReconcileOutcome(source_keys=298, bronze_live=300, soft_deleted=2, missing_in_bronze=0, version=4, ...)

    Raises:
        SourceUnavailableError: the source stayed unreachable (nothing written).
        DataError: the source returned no keys while bronze has live rows.
    """
    source = extract.source_options(source)
    key = source.key_column
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if not tables.exists(spark, table):
        return ReconcileOutcome(0, 0, 0, 0, None, now)
    keys = source_keys(spark, source).cache()
    try:
        what = f"JDBC source {safe_url(source.url)}"
        n_source = with_retries(keys.count, what, source.retries, source.retry_backoff_s)
        live = spark.read.format("delta").load(table.path).where(F.col("_deleted_at").isNull()).select(key).cache()
        try:
            n_live = live.count()
            if n_source == 0 and n_live > 0:
                raise DataError(
                    f"source table {source.table} at {safe_url(source.url)} returned no keys while bronze.tickets "
                    f"has {n_live} live rows; refusing to soft-delete them all (check sources.tickets.table)"
                )
            gone = gone_keys(live, keys, key).cache()
            missing = keys.join(live, on=key, how="left_anti").count()
            n_gone = gone.count()
            version = _soft_delete(spark, table, gone, key, run_id) if n_gone else None
            gone.unpersist()
        finally:
            live.unpersist()
    finally:
        keys.unpersist()
    outcome = ReconcileOutcome(n_source, n_live, n_gone, missing, version, now)
    log.info("bronze.tickets: %s", outcome.summary())
    if missing:
        log.warning("%d source key(s) are not in bronze.tickets yet (the next ingest reads them if their "
                    "cursor is inside its window)", missing)
    return outcome


def _soft_delete(spark: SparkSession, table: tables.TableRef, gone: DataFrame, key: str, run_id: str) -> int:
    from delta.tables import DeltaTable

    target = DeltaTable.forPath(spark, table.path)
    with delta.commit_metadata(spark, {"run_id": run_id, "step": STEP}):
        (
            target.alias("t")
            .merge(gone.alias("s"), f"t.`{key}` = s.`{key}`")
            .whenMatchedUpdate(condition="t._deleted_at IS NULL", set={"_deleted_at": "current_timestamp()"})
            .execute()
        )
    return delta.latest_version(spark, table.path)


def reconcile(spark: SparkSession, ctx: RunContext) -> StepResult:
    """The ``reconcile_tickets`` step: reconcile deletes now, whatever the schedule.

    Example:
        >>> reconcile(spark, RunContext(load_config("local")))  # doctest: +SKIP
        StepResult(step='reconcile_tickets', rows_read=298, rows_updated=2, ...)
    """
    started = time.monotonic()
    source = ctx.cfg.sources.tickets
    table = ctx.ref(catalog.BRONZE_TICKETS)
    outcome = reconcile_deletes(spark, source, table, ctx.run_id)
    state_table = ctx.ref(catalog.CURSORS)
    name = cursor_name(source)
    info = tables.table_info(spark, table)
    state = cursor_state.load(spark, state_table, name)
    cursor = cursor_state.resolve(state, cursor_state.latest_commit_cursor(info, name), info)
    if cursor is not None and info is not None:
        cursor_state.save(
            spark,
            state_table,
            replace(cursor, attributes=ReconcileSchedule(0, outcome.at).attributes(), run_id=ctx.run_id,
                    table_version=info.version),
        )
    return StepResult(
        step=STEP,
        rows_read=outcome.bronze_live,
        rows_updated=outcome.soft_deleted,
        rows_skipped=outcome.bronze_live - outcome.soft_deleted,
        versions={table.qualified: outcome.version} if outcome.version is not None else {},
        seconds=time.monotonic() - started,
        detail=outcome.summary(),
    )
