"""Incremental refresh of the gold models: recompute only what this run's changes touch.

Every gold model is a catalog entry with a :class:`~careplus_spark.lakehouse.catalog.Model`
(its step, scope column and inputs) plus its transform in :mod:`careplus_spark.gold.models`.
Through the one incremental routine (:func:`careplus_spark.lakehouse.incremental.refresh`:
watermarks per input, change feeds, watermarks saved last) a run:

1. collects the scope values that the inputs' change feeds touch — pre- and post-images
   and deletes, so a ticket that moved from one day to another recomputes both days, and
   a deleted ticket is recomputed to nothing (:mod:`careplus_spark.gold.scope`);
2. recomputes the model's rows for exactly those values from the input snapshots (at the
   versions the routine fixed), through the same transform a full refresh uses;
3. checks them against the table's data-quality rules (:mod:`careplus_spark.gold.quality`):
   rows breaking a blocking rule go to ``gold.quarantine``, never to gold;
4. MERGEs the rest: inserts, updates only rows whose values changed (row hash), and
   deletes rows of the scope that no longer exist or no longer pass;
5. with ``quality.alarms.action: fail``, a rule whose share of the scope's rows is above
   its threshold fails the step here, after the MERGE and before the watermarks are saved
   (:mod:`careplus_spark.quality.alarms`); the models after it in the step do not run.

No watermark, a recreated input, an unavailable change feed or ``--full-refresh``
recompute everything (and delete what is no longer there); the transforms are
scope-local, so both paths give the same table.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from careplus_spark.gold.models import MODEL_FUNCTIONS, ModelFunction
from careplus_spark.gold.quality import enforce_rules
from careplus_spark.gold.scope import Scope, plan_scope, restrict
from careplus_spark.lakehouse import catalog, incremental, tables
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.quality import alarms

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

LINEAGE = ("_row_hash", "_run_id", "_processed_at")


@dataclass(frozen=True)
class GoldModel:
    """A gold table of the catalog joined with its registered transform."""

    table: catalog.Table
    function: ModelFunction

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def qualified(self) -> str:
        return self.table.qualified

    @property
    def spec(self) -> catalog.Model:
        return self.table.model  # type: ignore[return-value]

    @property
    def by_key(self) -> bool:
        """Scoped by its key (``ticket_id``) rather than by a date that is part of its key."""
        return self.table.keys == (self.spec.scope,)

    def build(self, spark: SparkSession, ctx: RunContext, batch: incremental.Batch, scope: Scope) -> DataFrame:
        """The model's rows for ``scope``, from the inputs at the batch's versions."""
        frames = [restrict(batch.input(i.table).snapshot(spark), i.scope_from, scope) for i in self.spec.inputs]
        settings = {name: getattr(ctx.cfg.gold, name) for name in self.function.settings}
        return self.function.transform(*frames, **settings)


def _models() -> tuple[GoldModel, ...]:
    missing = [t.qualified for t in catalog.models() if t.name not in MODEL_FUNCTIONS]
    unknown = sorted(set(MODEL_FUNCTIONS) - {t.name for t in catalog.models()})
    if missing or unknown:
        raise ValueError(f"gold models without a transform: {missing}; transforms without a catalog entry: {unknown}")
    return tuple(GoldModel(t, MODEL_FUNCTIONS[t.name]) for t in catalog.models())


#: Every gold model in dependency order.
MODELS: tuple[GoldModel, ...] = _models()


def changed_scope(spark: SparkSession, model: GoldModel, batch: incremental.Batch) -> Scope:
    """The scope values the batch's input changes touch; everything for a full batch or a missing feed."""
    if batch.full:
        return Scope(model.spec.scope)
    frames: list[DataFrame] = []
    for source in model.spec.inputs:
        read = batch.input(source.table)
        if not read.changed:
            continue
        feed = read.changes(spark)
        if feed is None:
            return Scope(model.spec.scope)
        frames.append(feed.select(F.col(source.scope_from).alias(model.spec.scope)))
    return plan_scope(model.spec.scope, model.by_key, frames)


def with_lineage(rows: DataFrame, run_id: str) -> DataFrame:
    """Adds ``_row_hash`` (of the model's columns), ``_run_id`` and ``_processed_at``."""
    business = [c for c in rows.columns if c not in LINEAGE]
    return rows.select(
        *business,
        tables.row_hash(business).alias("_row_hash"),
        F.lit(run_id).alias("_run_id"),
        F.current_timestamp().alias("_processed_at"),
    )


def merge_model(
    spark: SparkSession, ctx: RunContext, model: GoldModel, rows: DataFrame, scope: Scope
) -> tables.MergeResult:
    """MERGEs a model's recomputed rows; rows of the scope that are gone are deleted."""
    target = ctx.ref(model.table)
    rows = with_lineage(rows, ctx.run_id)
    keys = list(model.table.keys)
    options = {
        "partition_by": model.table.partition_by,
        "update_condition": "s._row_hash <> t._row_hash",
        "properties": model.table.properties,
        "commit_info": {"run_id": ctx.run_id, "step": f"gold:{model.name}"},
    }
    if scope.everything:
        return tables.upsert(spark, rows, target, keys, delete_unmatched="true", **options)  # type: ignore[arg-type]
    if not model.by_key:
        where = tables.days_predicate(f"t.`{scope.column}`", list(scope.listed or ()))
        return tables.upsert(spark, rows, target, keys, target_filter=where, delete_unmatched=where,
                             **options)  # type: ignore[arg-type]
    return tables.sync_keys(
        spark, rows, target, scope.column, scope.values,  # type: ignore[arg-type]
        key_range=(scope.low, scope.high), **options,  # type: ignore[arg-type]
    )


def recompute(spark: SparkSession, ctx: RunContext, model: GoldModel, batch: incremental.Batch) -> StepResult:
    """Recomputes, checks and MERGEs the model's rows of the batch's scope."""
    scope = changed_scope(spark, model, batch)
    try:
        candidates = model.build(spark, ctx, batch, scope)
        with enforce_rules(spark, ctx, model.qualified, candidates, scope, step=model.spec.step) as checked:
            merged = merge_model(spark, ctx, model, checked.passed, scope)
            read, quarantined, shares = checked.read, checked.quarantined, checked.shares
    finally:
        if scope.values is not None:
            scope.values.unpersist()
    alarms.raise_on_failure(f"{model.spec.step} ({model.qualified})", shares)
    notes = [f", {merged.deleted} deleted" if merged.deleted else "", alarms.describe_alarms(shares)]
    return StepResult(
        step=model.qualified,
        rows_read=read,
        rows_written=merged.inserted,
        rows_updated=merged.updated,
        rows_quarantined=quarantined,
        rows_skipped=read - merged.inserted - merged.updated - quarantined,
        versions={merged.table: merged.version} if merged.version is not None else {},
        detail=f"recomputed {scope.describe()}{notes[0]}" + (f"; {notes[1]}" if notes[1] else ""),
        quality=alarms.nonzero(shares),
    )


def consumer(spark: SparkSession, ctx: RunContext, model: GoldModel) -> incremental.Consumer:
    """One gold model as a consumer of the incremental routine (see the module docstring)."""
    return incremental.Consumer(
        table=model.table,
        inputs=[catalog.table(i.table) for i in model.spec.inputs],
        process=lambda batch: recompute(spark, ctx, model, batch),
        name=model.qualified,
    )


def refresh(spark: SparkSession, ctx: RunContext, step: str, selected: Sequence[GoldModel] | None = None) -> StepResult:
    """Refreshes the models of ``step`` (or ``selected``) in order as one pipeline step.

    Example:
        >>> refresh(spark, ctx, "gold_kpis")  # doctest: +SKIP
        StepResult(step='gold_kpis', rows_read=42, ...)
    """
    started = time.monotonic()
    chosen = selected if selected is not None else [m for m in MODELS if m.spec.step == step]
    results = incremental.refresh_all(spark, ctx, [consumer(spark, ctx, m) for m in chosen],
                                      full_refresh=ctx.full_refresh)
    return StepResult.combine(step, results, time.monotonic() - started)


def steps() -> dict[str, tuple[GoldModel, ...]]:
    """The gold steps in pipeline order, each with its models (from the catalog)."""
    grouped: dict[str, tuple[GoldModel, ...]] = {}
    for model in MODELS:
        grouped[model.spec.step] = (*grouped.get(model.spec.step, ()), model)
    return grouped
