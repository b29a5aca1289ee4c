"""Incremental refresh of the gold models: recompute only what this run's changes touch.

Every gold model (:data:`MODELS`) reads one or more upstream Delta tables and is bounded
by a *scope column*: ``ticket_id`` for the per-ticket tables, a date for the per-day
ones. For each upstream table the model remembers the last version it read (a watermark
row ``gold.<model><-<db>.<table>`` in ``ops.cursors``, with the upstream table id). A run:

1. reads the upstream change data feeds after the watermarks and collects the scope
   values they touch — pre- and post-images and deletes, so a ticket that moved from one
   day to another recomputes both days, and a deleted ticket is recomputed to nothing;
2. recomputes the model's rows for exactly those values from the upstream snapshots (at
   the versions it records), through the same transform a full refresh uses
   (:mod:`careplus_spark.gold.models`);
3. checks them against the table's data-quality rules (:mod:`careplus_spark.quality`):
   rows breaking a blocking rule go to ``gold.quarantine``, never to gold;
4. MERGEs the rest: inserts, updates only rows whose values changed (row hash), and
   deletes rows of the scope that no longer exist or no longer pass;
5. writes the watermarks last — a crash before them recomputes the same scope, which
   changes nothing.

No watermark, a recreated upstream table, an unavailable change feed or
``--full-refresh`` recompute everything (and delete what is no longer there); the
transforms are scope-local, so both paths give the same table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from careplus_spark import tables
from careplus_spark.gold import models
from careplus_spark.pipeline.context import RunContext, StepResult
from careplus_spark.silver.logs import days_filter
from careplus_spark.sources import cursor_state

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

CDF = {"delta.enableChangeDataFeed": "true"}
LINEAGE = ("_row_hash", "_run_id", "_processed_at")


@dataclass(frozen=True)
class Input:
    """An upstream table of a model and its column that maps onto the model's scope."""

    table: str  # "<database>.<name>"
    scope_from: str

    @property
    def database(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.table.split(".", 1)[1]


@dataclass(frozen=True)
class Scope:
    """The scope values a run recomputes; ``values`` None means everything.

    ``values`` is a one-column DataFrame (distinct, no NULL for key scopes); date scopes
    are also collected into ``listed`` to prune partitions and files by literal filters.
    """

    column: str
    values: DataFrame | None = None
    listed: tuple[Any, ...] | None = None
    low: Any = None
    high: Any = None
    count: int = 0

    @property
    def everything(self) -> bool:
        return self.values is None


class Reader:
    """Reads a model's inputs at fixed versions, limited to the scope."""

    def __init__(self, spark: SparkSession, ctx: RunContext, versions: dict[str, int], scope: Scope) -> None:
        self._spark, self._ctx, self._versions, self._scope = spark, ctx, versions, scope

    def read(self, table: str, on: str) -> DataFrame:
        """``table`` at the version this run recorded, rows whose ``on`` is in the scope."""
        database, name = table.split(".", 1)
        ref = self._ctx.table(database, name)
        df = self._spark.read.format("delta").option("versionAsOf", self._versions[table]).load(ref.path)
        return restrict(df, on, self._scope)


def restrict(df: DataFrame, on: str, scope: Scope) -> DataFrame:
    """Rows of ``df`` whose ``on`` value is in ``scope`` (all rows for a full scope).

    Literal filters come first (a date list, or the key range) so that Delta prunes
    partitions and skips files by their min/max statistics; a key scope then semi-joins
    the (broadcast) key set.
    """
    if scope.everything:
        return df
    if scope.listed is not None:
        return df.where(days_filter(f"`{on}`", list(scope.listed)))
    if scope.count == 0:
        return df.where(F.lit(False))
    ranged = df.where(F.col(on).between(F.lit(scope.low), F.lit(scope.high)))
    keys = scope.values.withColumnRenamed(scope.column, on)  # type: ignore[union-attr]
    return ranged.join(F.broadcast(keys), on, "left_semi")


Build = Callable[[Reader, RunContext], "DataFrame"]


@dataclass(frozen=True)
class GoldModel:
    """A gold table: its key, scope column, inputs and transform.

    ``by_key`` models are scoped by their key (``ticket_id``); the others by a date
    column that is part of their key (and their partition column, if any).
    """

    name: str
    keys: tuple[str, ...]
    scope: str
    inputs: tuple[Input, ...]
    build: Build
    by_key: bool = False
    partition_by: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        return f"gold.{self.name}"

    def watermark(self, source: Input) -> str:
        return f"{self.qualified}<-{source.table}"


FCT_TICKETS = GoldModel(
    name="fct_tickets",
    keys=("ticket_id",),
    scope="ticket_id",
    by_key=True,
    inputs=(Input("silver.tickets", "ticket_id"),),
    build=lambda r, ctx: models.fct_tickets(r.read("silver.tickets", on="ticket_id"), ctx.cfg.gold.sla_hours),
)
FCT_LOGS = GoldModel(
    name="fct_logs",
    keys=("event_id", "log_date"),
    scope="log_date",
    partition_by=("log_date",),
    inputs=(Input("silver.logs", "log_date"),),
    build=lambda r, ctx: models.fct_logs(r.read("silver.logs", on="log_date")),
)
FCT_TICKET_LOG_SUMMARY = GoldModel(
    name="fct_ticket_log_summary",
    keys=("ticket_id",),
    scope="ticket_id",
    by_key=True,
    inputs=(Input("gold.fct_tickets", "ticket_id"), Input("gold.fct_logs", "ticket_id")),
    build=lambda r, ctx: models.ticket_log_summary(
        r.read("gold.fct_tickets", on="ticket_id"), r.read("gold.fct_logs", on="ticket_id")
    ),
)
KPI_TICKETS_DAILY = GoldModel(
    name="kpi_tickets_daily",
    keys=("created_date", "priority", "channel"),
    scope="created_date",
    inputs=(Input("gold.fct_tickets", "created_date"),),
    build=lambda r, ctx: models.kpi_tickets_daily(r.read("gold.fct_tickets", on="created_date")),
)
KPI_AGENTS_DAILY = GoldModel(
    name="kpi_agents_daily",
    keys=("created_date", "agent"),
    scope="created_date",
    inputs=(Input("gold.fct_tickets", "created_date"),),
    build=lambda r, ctx: models.kpi_agents_daily(r.read("gold.fct_tickets", on="created_date")),
)
KPI_SERVICE_HOURLY = GoldModel(
    name="kpi_service_hourly",
    keys=("log_date", "log_hour", "service"),
    scope="log_date",
    inputs=(Input("gold.fct_logs", "log_date"),),
    build=lambda r, ctx: models.kpi_service_hourly(r.read("gold.fct_logs", on="log_date")),
)

#: Every gold model in dependency order.
MODELS: tuple[GoldModel, ...] = (
    FCT_TICKETS,
    FCT_LOGS,
    FCT_TICKET_LOG_SUMMARY,
    KPI_TICKETS_DAILY,
    KPI_AGENTS_DAILY,
    KPI_SERVICE_HOURLY,
)


@dataclass(frozen=True)
class ModelResult:
    """What one model's refresh did."""

    table: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    quarantined: int = 0
    version: int | None = None
    detail: str = ""


def _input_changes(
    spark: SparkSession, ctx: RunContext, model: GoldModel, infos: dict[str, cursor_state.TableInfo]
) -> tuple[list[DataFrame], bool, bool]:
    """Scope values changed in each input since its watermark.

    Returns:
        (frames of changed values, everything?, anything changed?)
    """
    from pyspark.errors import AnalysisException

    state_table = ctx.table("ops", "cursors")
    target_exists = tables.exists(spark, ctx.table("gold", model.name))
    frames: list[DataFrame] = []
    everything = ctx.full_refresh or not target_exists
    changed = everything
    for source in model.inputs:
        info = infos[source.table]
        state = cursor_state.load(spark, state_table, model.watermark(source))
        if state is None or not state.value or state.table_id != info.table_id:
            everything = changed = True
            continue
        since = int(state.value)
        if since >= info.version:
            continue
        changed = True
        if everything:
            continue
        try:
            feed = (
                spark.read.format("delta")
                .option("readChangeFeed", "true")
                .option("startingVersion", since + 1)
                .option("endingVersion", info.version)
                .load(ctx.table(source.database, source.name).path)
            )
            frames.append(feed.select(F.col(source.scope_from).alias(model.scope)))
        except AnalysisException as exc:
            log.warning("%s: change feed of %s unavailable (%s); recomputing everything",
                        model.qualified, source.table, str(exc).splitlines()[0][:200])
            everything = True
    return frames, everything, changed


def plan_scope(spark: SparkSession, model: GoldModel, frames: Sequence[DataFrame], everything: bool) -> Scope:
    """The scope of this run: everything, a listed set of dates, or a cached key set."""
    if everything:
        return Scope(model.scope)
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    values = union.distinct()
    if not model.by_key:
        listed = tuple(r[0] for r in values.collect())
        return Scope(model.scope, values=values, listed=listed, count=len(listed))
    keys = values.where(F.col(model.scope).isNotNull()).cache()
    stats = keys.agg(F.count(F.lit(1)).alias("n"), F.min(model.scope).alias("lo"), F.max(model.scope).alias("hi")).first()
    return Scope(model.scope, values=keys, low=stats["lo"], high=stats["hi"], count=int(stats["n"]))  # type: ignore[index]


def with_lineage(rows: DataFrame, run_id: str) -> DataFrame:
    """Adds ``_row_hash`` (of the model's columns), ``_run_id`` and ``_processed_at``."""
    business = [c for c in rows.columns if c not in LINEAGE]
    return rows.select(
        *business,
        tables.row_hash(business).alias("_row_hash"),
        F.lit(run_id).alias("_run_id"),
        F.current_timestamp().alias("_processed_at"),
    )


def merge_model(spark: SparkSession, ctx: RunContext, model: GoldModel, rows: DataFrame, scope: Scope) -> tables.MergeResult:
    """MERGEs a model's recomputed rows; rows of the scope that are gone are deleted."""
    target = ctx.table("gold", model.name)
    rows = with_lineage(rows, ctx.run_id)
    common = {
        "partition_by": model.partition_by,
        "update_condition": "s._row_hash <> t._row_hash",
        "properties": CDF,
        "commit_info": {"run_id": ctx.run_id, "step": f"gold:{model.name}"},
    }
    if scope.everything:
        return tables.upsert(spark, rows, target, list(model.keys), delete_unmatched="true", **common)  # type: ignore[arg-type]
    if not model.by_key:
        where = days_filter(f"t.`{model.scope}`", list(scope.listed or ()))
        return tables.upsert(
            spark, rows, target, list(model.keys), target_filter=where, delete_unmatched=where, **common  # type: ignore[arg-type]
        )
    return tables.sync_keys(
        spark,
        rows,
        target,
        model.scope,
        scope.values,  # type: ignore[arg-type]
        key_range=(scope.low, scope.high),
        **common,  # type: ignore[arg-type]
    )


def refresh_model(spark: SparkSession, ctx: RunContext, model: GoldModel) -> ModelResult:
    """Brings one gold model up to date with its inputs (see the module docstring)."""
    from careplus_spark.gold.quality import enforce_rules

    infos: dict[str, cursor_state.TableInfo] = {}
    for source in model.inputs:
        info = cursor_state.table_info(spark, ctx.table(source.database, source.name))
        if info is None:
            return ModelResult(model.qualified, detail=f"{source.table} does not exist yet")
        ensure_change_feed(spark, ctx.table(source.database, source.name), info)
        infos[source.table] = info
    frames, everything, changed = _input_changes(spark, ctx, model, infos)
    if not changed:
        return ModelResult(model.qualified, detail="inputs unchanged")
    scope = plan_scope(spark, model, frames, everything)
    try:
        reader = Reader(spark, ctx, {t: i.version for t, i in infos.items()}, scope)
        candidates = model.build(reader, ctx)
        with enforce_rules(spark, ctx, model.qualified, candidates, scope) as checked:
            merged = merge_model(spark, ctx, model, checked.passed, scope)
            read, quarantined = checked.read, checked.quarantined
    finally:
        if scope.values is not None:
            scope.values.unpersist()
    _save_watermarks(spark, ctx, model, infos)
    what = "everything" if scope.everything else f"{scope.count} {model.scope} value(s)"
    return ModelResult(
        table=model.qualified,
        read=read,
        inserted=merged.inserted,
        updated=merged.updated,
        deleted=merged.deleted,
        quarantined=quarantined,
        version=merged.version,
        detail=f"recomputed {what}",
    )


def ensure_change_feed(spark: SparkSession, table: tables.TableRef, info: cursor_state.TableInfo) -> None:
    """Turns the change data feed on for an input table that was created without it.

    The feed then starts at the next version; until a watermark exists past it, the
    model recomputes everything (the feed of older versions is unavailable).
    """
    if info.properties.get("delta.enableChangeDataFeed", "false").lower() == "true":
        return
    log.warning("%s has no change data feed; turning it on (gold recomputes it fully this time)", table.qualified)
    spark.sql(f"ALTER TABLE delta.`{table.path}` SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')")


def _save_watermarks(
    spark: SparkSession, ctx: RunContext, model: GoldModel, infos: dict[str, cursor_state.TableInfo]
) -> None:
    state_table = ctx.table("ops", "cursors")
    for source in model.inputs:
        info = infos[source.table]
        cursor_state.save(
            spark,
            state_table,
            cursor_state.CursorState(
                name=model.watermark(source),
                value=str(info.version),
                table_id=info.table_id,
                table_version=info.version,
                run_id=ctx.run_id,
            ),
        )


def refresh(spark: SparkSession, ctx: RunContext, step: str, selected: Sequence[GoldModel]) -> StepResult:
    """Refreshes ``selected`` models in order as one pipeline step."""
    started = time.monotonic()
    results = [refresh_model(spark, ctx, m) for m in selected]
    return StepResult(
        step=step,
        rows_read=sum(r.read for r in results),
        rows_written=sum(r.inserted for r in results),
        rows_updated=sum(r.updated for r in results),
        rows_quarantined=sum(r.quarantined for r in results),
        rows_skipped=sum(r.read - r.inserted - r.updated - r.quarantined for r in results),
        versions={r.table: r.version for r in results if r.version is not None},
        seconds=time.monotonic() - started,
        detail="; ".join(
            f"{r.table}: {r.detail}" + (f", {r.deleted} deleted" if r.deleted else "") for r in results
        ),
    )


def gold_tickets(spark: SparkSession, ctx: RunContext) -> StepResult:
    """The ``gold_tickets`` step: gold.fct_tickets from silver.tickets."""
    return refresh(spark, ctx, "gold_tickets", [FCT_TICKETS])


def gold_logs(spark: SparkSession, ctx: RunContext) -> StepResult:
    """The ``gold_logs`` step: gold.fct_logs from silver.logs."""
    return refresh(spark, ctx, "gold_logs", [FCT_LOGS])


def gold_summary(spark: SparkSession, ctx: RunContext) -> StepResult:
    """The ``gold_summary`` step: gold.fct_ticket_log_summary from fct_tickets and fct_logs."""
    return refresh(spark, ctx, "gold_summary", [FCT_TICKET_LOG_SUMMARY])


def gold_kpis(spark: SparkSession, ctx: RunContext) -> StepResult:
    """The ``gold_kpis`` step: the daily ticket, agent and hourly service KPI tables."""
    return refresh(spark, ctx, "gold_kpis", [KPI_TICKETS_DAILY, KPI_AGENTS_DAILY, KPI_SERVICE_HOURLY])
