"""The pipeline's steps in order, and running a selection of them with progress."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from careplus_spark.bronze import logs as bronze_logs
from careplus_spark.bronze import reconcile as bronze_reconcile
from careplus_spark.bronze import tickets as bronze_tickets
from careplus_spark.errors import ConfigError
from careplus_spark.exposure import expose as exposure
from careplus_spark.gold import refresh as gold
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline.ledger import RunLedger
from careplus_spark.silver import logs as silver_logs
from careplus_spark.silver import tickets as silver_tickets

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Step = Callable[["SparkSession", RunContext], StepResult]

#: The gold steps and their models, in pipeline order (from the lakehouse catalog).
GOLD_STEPS: dict[str, tuple[str, ...]] = {
    step: tuple(m.qualified for m in models) for step, models in gold.steps().items()
}

#: Every step, in pipeline order.
STEPS: dict[str, Step] = {
    "ingest_tickets": bronze_tickets.ingest,
    "ingest_logs": bronze_logs.ingest,
    "reconcile_tickets": bronze_reconcile.reconcile,
    "silver_tickets": silver_tickets.build,
    "silver_logs": silver_logs.build,
    **{step: functools.partial(gold.refresh, step=step) for step in GOLD_STEPS},
    exposure.STEP: exposure.expose,
}

#: Steps that run only when named: ingest_tickets reconciles deletes on its own schedule
#: (sources.tickets.reconcile_every_runs); `careplus run reconcile_tickets` forces one.
ON_DEMAND: tuple[str, ...] = ("reconcile_tickets",)

#: Names that stand for several steps.
GROUPS: dict[str, tuple[str, ...]] = {
    "bronze": ("ingest_tickets", "ingest_logs"),
    "silver": ("silver_tickets", "silver_logs"),
    "gold": tuple(GOLD_STEPS),
    "all": tuple(s for s in STEPS if s not in ON_DEMAND),
}


def resolve(names: Sequence[str]) -> list[str]:
    """Expands groups and checks names; an empty selection means the whole pipeline.

    Raises:
        ConfigError: an unknown step name (the known ones are listed).
    """
    selected: list[str] = []
    for name in names or ["all"]:
        expanded = GROUPS.get(name, (name,))
        for step in expanded:
            if step not in STEPS:
                raise ConfigError(f"unknown job {name!r}; known: {sorted([*STEPS, *GROUPS])}")
            if step not in selected:
                selected.append(step)
    return [s for s in STEPS if s in selected]


def run_steps(
    spark: SparkSession,
    ctx: RunContext,
    names: Sequence[str],
    progress: Callable[[str], None] | None = None,
) -> list[StepResult]:
    """Runs the selected steps in pipeline order and returns their results.

    Each step is recorded in the run ledger ``ops.runs`` (running, then succeeded or
    failed); a failing step is recorded with its error and its exception is re-raised,
    so the later steps do not run.
    """
    selected = resolve(names)
    ledger = RunLedger(spark, ctx)
    results = []
    for index, name in enumerate(selected, start=1):
        if progress:
            progress(f"[{index}/{len(selected)}] {name} ...")
        result = ledger.run(name, STEPS[name])
        if progress:
            progress(
                f"[{index}/{len(selected)}] {name}: read {result.rows_read}, written {result.rows_written}, "
                f"updated {result.rows_updated}, quarantined {result.rows_quarantined} ({result.seconds:.1f} s)"
            )
        results.append(result)
    return results
