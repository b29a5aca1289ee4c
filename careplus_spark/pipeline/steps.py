"""The pipeline's steps in order, and running a selection of them with progress.

A step's progress line ends with the share of its rows each data-quality rule nulled or
quarantined (non-zero ones only), and each alarm gets a line of its own::

    [4/9] silver_tickets: read 50, written 48, updated 0, quarantined 2 (3.1 s); data quality:
          silver.tickets.unparseable_created_at 4.00%
    [4/9] silver_tickets: DATA-QUALITY ALARM (warn): silver.tickets.unparseable_created_at:
          2 of 50 rows (4.00%) > threshold 1.00%

(each on one line). With ``quality.alarms.action: fail`` the step fails instead
(:class:`~careplus_spark.errors.DataQualityError`, exit code 9) and the run stops there.

The steps run while the run holds the lakehouse's run lock (:mod:`careplus_spark.lakehouse.lock`),
taken before anything is written; a second run waits ``lakehouse.lock.wait_s`` for it, then
fails with :class:`~careplus_spark.errors.LockHeldError` (exit code 6). Holding it, the run first
marks the ``running`` ledger rows of dead runs ``failed: abandoned``::

    run 20250701T020000Z-1a2b3c4d was abandoned while running (1 step(s)): marked failed: abandoned
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from careplus_spark.bronze import logs as bronze_logs
from careplus_spark.bronze import reconcile as bronze_reconcile
from careplus_spark.bronze import tickets as bronze_tickets
from careplus_spark.errors import ConfigError
from careplus_spark.exposure import expose as exposure
from careplus_spark.gold import refresh as gold
from careplus_spark.gold.quality import rule_names as gold_rule_names
from careplus_spark.lakehouse import lock as run_lock
from careplus_spark.lakehouse import registry
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline import maintain
from careplus_spark.pipeline.ledger import FAILED, SUCCEEDED, RunLedger, error_text, mark_abandoned
from careplus_spark.pipeline.monitor import Monitor, StepOutcome
from careplus_spark.pipeline.profile import Profiler
from careplus_spark.platform import failure
from careplus_spark.platform.config import AppConfig
from careplus_spark.quality import alarms
from careplus_spark.silver import logs as silver_logs
from careplus_spark.silver import tickets as silver_tickets

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Step = Callable[["SparkSession", RunContext], StepResult]

#: The gold steps and their models, in pipeline order (from the lakehouse catalog).
GOLD_STEPS: dict[str, tuple[str, ...]] = {
    step: tuple(m.qualified for m in models) for step, models in gold.steps().items()
}

#: The ledger job of warnings about monitoring messages that could not be sent.
MONITOR_JOB = "monitor"

#: Every step, in pipeline order.
STEPS: dict[str, Step] = {
    "ingest_tickets": bronze_tickets.ingest,
    "ingest_logs": bronze_logs.ingest,
    "reconcile_tickets": bronze_reconcile.reconcile,
    "silver_tickets": silver_tickets.build,
    "silver_logs": silver_logs.build,
    **{step: functools.partial(gold.refresh, step=step) for step in GOLD_STEPS},
    exposure.STEP: exposure.expose,
    maintain.STEP: maintain.maintain,
}

#: Steps that run only when named: ingest_tickets reconciles deletes on its own schedule
#: (sources.tickets.reconcile_every_runs); `careplus run reconcile_tickets` forces one.
#: `maintain` ends a whole-pipeline run when maintenance.every_hours says it is due.
ON_DEMAND: tuple[str, ...] = ("reconcile_tickets", maintain.STEP)

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


def checked_rules(cfg: AppConfig) -> dict[str, tuple[str, ...]]:
    """The data-quality rules of every table a step checks, by table (``silver.tickets``: [...])."""
    return {
        silver_tickets.TABLE: silver_tickets.RULE_NAMES,
        silver_logs.TABLE: silver_logs.RULE_NAMES,
        **gold_rule_names(cfg.quality.rules_dir or None),
    }


def check_config(cfg: AppConfig) -> None:
    """Checks what only the steps know: every ``quality.alarms.rules`` key names a checked rule.

    Raises:
        ConfigError: naming the key and the table's rules.
    """
    alarms.check_overrides(cfg.quality.alarms, checked_rules(cfg))


def progress_lines(prefix: str, result: StepResult) -> list[str]:
    """The progress line of a finished step (counts, non-zero data-quality shares), then one line per alarm.

    Example:
        >>> progress_lines("[1/1] silver_logs", StepResult("silver_logs", rows_read=3, rows_written=3))
        ['[1/1] silver_logs: read 3, written 3, updated 0, quarantined 0 (0.0 s)']
    """
    line = (
        f"{prefix}: read {result.rows_read}, written {result.rows_written}, updated {result.rows_updated}, "
        f"quarantined {result.rows_quarantined} ({result.seconds:.1f} s)"
    )
    shares = [f"{r.name} {r.share:.2%}" for r in result.quality if r.share is not None]
    if shares:
        line += "; data quality: " + ", ".join(shares)
    return [line, *(f"{prefix}: DATA-QUALITY ALARM ({r.alarm}): {r.describe()}" for r in result.alarms)]


def run_steps(
    spark: SparkSession,
    ctx: RunContext,
    names: Sequence[str],
    progress: Callable[[str], None] | None = None,
) -> list[StepResult]:
    """Runs the selected steps in pipeline order and returns their results.

    Each step is recorded in the run ledger ``ops.runs`` (running, then succeeded or
    failed); a failing step is recorded with its error and its exception is re-raised,
    so the later steps do not run. A data-quality alarm is shown by the step's progress
    (see the module docstring).

    The run lock is held around all of it (a caller may hold it already, e.g. ``careplus run``
    before Spark starts); holding it, the ``running`` rows of dead runs are marked abandoned
    when the lock was taken over from a run (a dead run never releases its lease) or had no
    lease before (the ledger is not read when the last run released the lock).

    Raises:
        ConfigError: an unknown step, or a ``quality.alarms.rules`` key that names no rule
            (before any step runs).
        LockHeldError: another run holds the run lock after ``lakehouse.lock.wait_s`` (nothing
            written), or this run lost it (the steps after that are not run).
    """
    selected = resolve(names)
    check_config(ctx.cfg)
    with run_lock.hold(ctx.cfg, ctx.run_id, say=progress) as lock:
        # A dead run leaves its lease held: only a takeover (or a first lease) can follow one.
        if lock is not None and (lock.previous is None or lock.took_over):
            for run_id, count in mark_abandoned(spark, ctx).items():
                if progress:
                    progress(f"run {run_id} was abandoned while running ({count} step(s)): marked failed: abandoned")
        if maintain.STEP not in selected and _whole(names) and maintain.due(spark, ctx):
            selected = [*selected, maintain.STEP]
        results = _run_selected(spark, ctx, selected, progress)
    registry.wait_attached()  # a catalog attached in the background: its failure is the run's
    return results


def _whole(names: Sequence[str]) -> bool:
    """Whether a selection is the whole pipeline (after which maintenance may be due)."""
    return not names or list(names) == ["all"]


def _run_selected(
    spark: SparkSession, ctx: RunContext, selected: Sequence[str], progress: Callable[[str], None] | None
) -> list[StepResult]:
    """Runs the resolved steps, each recorded in the ledger (see :func:`run_steps`); the run's end is
    reported to monitoring (:mod:`careplus_spark.pipeline.monitor`) when it is configured."""
    profiler = Profiler(spark, ctx.cfg.lakehouse.root) if ctx.profile else None
    watcher = Monitor(ctx.cfg, ctx.run_id)
    monitor = watcher if watcher.metrics_on or watcher.notify_on else None
    ledger = RunLedger(spark, ctx, profiler, monitor)
    results: list[StepResult] = []
    started = time.monotonic()
    for index, name in enumerate(selected, start=1):
        prefix = f"[{index}/{len(selected)}] {name}"
        if progress:
            progress(f"{prefix} ...")
        try:
            result = ledger.run(name, STEPS[name])
        except BaseException as exc:
            failure.note_step(exc, name, ctx.run_id)  # the one-paragraph error names the step
            if monitor is not None:
                outcomes = [*_outcomes(selected, results), StepOutcome(name, FAILED)]
                ledger.warn(MONITOR_JOB, monitor.run_ended(outcomes, time.monotonic() - started, error_text(exc)))
            raise
        if progress:
            for line in progress_lines(prefix, result):
                progress(line)
            if profiler:
                progress(f"{prefix}: profile: {profiler.last()}")
        results.append(result)
    if monitor is not None:
        ledger.warn(MONITOR_JOB, monitor.run_ended(_outcomes(selected, results), time.monotonic() - started, None))
    return results


def _outcomes(names: Sequence[str], results: Sequence[StepResult]) -> list[StepOutcome]:
    return [StepOutcome(name, SUCCEEDED, r) for name, r in zip(names, results, strict=False)]
