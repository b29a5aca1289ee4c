"""Quarantine-rate alarms: the share of a step's rows each rule nulled or quarantined, against a threshold.

After each silver and gold step every rule of the step's table gets one row in
``ops.dq_results`` (:mod:`~careplus_spark.quality.store`): the rows ``checked`` (the step's
rows of this run: its batch), the rows ``failed`` (quarantined by a blocking rule; nulled,
or kept with a warning, by a warn-level one), their ``share`` and the rule's ``threshold``.
A rule *alarms* when ``share > threshold``; when no row was checked it never does.

Thresholds (``quality.alarms``): ``rules["<database>.<table>.<rule>"]`` when set (``null``:
never alarms), else ``default_threshold.block`` (1%) for blocking rules and
``default_threshold.warn`` (5%) for the others. Actions (``quality.alarms.action``):

- ``warn`` (the default): the step succeeds; a WARNING log, the step's progress line, its
  detail in the run ledger and ``careplus status`` name the rule, its share and threshold;
- ``fail``: the same, then the step raises :class:`~careplus_spark.errors.DataQualityError`
  (exit code 9) *after* it has written its tables, its quarantine and ``ops.dq_results``
  (to be inspected) and *before* it saves its watermarks: a re-run processes the same
  changes again (and fails again until the source, the mappings or the threshold change),
  while every table stays consistent with the others.

Silver steps count their rules as :class:`RowRule` columns inside the one aggregation
they already make over their cached rows (:func:`aggregates`, :func:`counts_from`); gold
steps through the quality engine (:func:`careplus_spark.quality.enforce`). Both then call
:func:`settle` (thresholds, ``ops.dq_results``, log) and, once their writes are done,
:func:`raise_on_failure`.

Example:
    >>> row = staged.agg(*aggregates(RULES, ~F.col("_deleted"))).first()  # doctest: +SKIP
    >>> shares, _ = settle(spark, ctx, "silver_tickets", counts_from(row, "silver.tickets", RULES))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from careplus_spark.errors import ConfigError, DataQualityError
from careplus_spark.lakehouse import catalog
from careplus_spark.lakehouse.run import RuleShare, RunContext
from careplus_spark.platform.config import AlarmsConfig
from careplus_spark.quality import store

if TYPE_CHECKING:
    from pyspark.sql import Column, Row, SparkSession

log = logging.getLogger(__name__)
_CHECKED = "__dq_checked"
_FAILED = "__dq_failed_"


@dataclass(frozen=True)
class RowRule:
    """A rule counted over a step's rows: ``failed`` is true for a row that breaks it.

    ``severity`` is ``block`` for a rule whose rows are quarantined, ``warn`` for one that
    nulls a value (the row is kept).
    """

    name: str
    check: str
    severity: str
    failed: Column


def aggregates(rules: Sequence[RowRule], checked: Column) -> list[Column]:
    """Aggregate columns for the step's one ``agg``: rows checked, and per rule the checked rows it failed.

    Args:
        rules: the table's rules.
        checked: true for the rows the rules apply to (e.g. the live rows of a batch).
    """
    return [
        F.count_if(checked).alias(_CHECKED),
        *[
            F.count_if(checked & F.coalesce(rule.failed, F.lit(False))).alias(f"{_FAILED}{i}")
            for i, rule in enumerate(rules)
        ],
    ]


def counts_from(row: Row, table: str, rules: Sequence[RowRule]) -> tuple[RuleShare, ...]:
    """Every rule's count (a :class:`RuleShare` without threshold) from the row of an ``agg`` over
    :func:`aggregates`."""
    checked = int(row[_CHECKED] or 0)
    return tuple(
        RuleShare(table, rule.name, rule.check, rule.severity, checked, int(row[f"{_FAILED}{i}"] or 0))
        for i, rule in enumerate(rules)
    )


def threshold(config: AlarmsConfig, table: str, rule: str, severity: str) -> float | None:
    """The rule's threshold: its own (``quality.alarms.rules``), else the default of its severity.

    Example:
        >>> threshold(AlarmsConfig(), "silver.tickets", "unparseable_created_at", "block")
        0.01
    """
    name = f"{table}.{rule}"
    if name in config.rules:
        return config.rules[name]
    return config.default_threshold.block if severity == "block" else config.default_threshold.warn


def evaluate(config: AlarmsConfig, counts: Sequence[RuleShare]) -> tuple[RuleShare, ...]:
    """Every count (a :class:`RuleShare` without threshold) with its threshold and, when its share
    is above it, the configured action.

    Example:
        >>> [s.alarm for s in evaluate(AlarmsConfig(), [RuleShare("silver.tickets", "r", "x", "block", 50, 2)])]
        ['warn']
    """
    shares = []
    for c in counts:
        limit = threshold(config, c.table, c.rule, c.severity)
        above = c.checked > 0 and limit is not None and c.failed / c.checked > limit
        shares.append(replace(c, threshold=limit, alarm=config.action if above else None))
    return tuple(shares)


def settle(
    spark: SparkSession, ctx: RunContext, step: str, counts: Sequence[RuleShare]
) -> tuple[tuple[RuleShare, ...], int | None]:
    """Evaluates ``counts``, appends them to ``ops.dq_results`` and logs the alarms.

    Returns:
        Every rule's :class:`~careplus_spark.lakehouse.run.RuleShare`, and the Delta
        version of ``ops.dq_results`` written (None when there was no rule).
    """
    shares = evaluate(ctx.cfg.quality.alarms, counts)
    version = store.append_results(spark, ctx.ref(catalog.DQ_RESULTS), shares, ctx.run_id, step)
    for share in shares:
        if share.alarm:
            log.warning("%s: data-quality alarm (%s): %s", step, share.alarm, share.describe())
    return shares, version


def nonzero(shares: Sequence[RuleShare]) -> tuple[RuleShare, ...]:
    """The rules that nulled or quarantined at least one row (what a step result carries)."""
    return tuple(s for s in shares if s.failed)


def describe_alarms(shares: Sequence[RuleShare]) -> str:
    """``data-quality alarm(s): <rule>: ...; <rule>: ...``, or empty text when none alarmed."""
    alarmed = [s.describe() for s in shares if s.alarm]
    return f"data-quality alarm(s): {'; '.join(alarmed)}" if alarmed else ""


def raise_on_failure(step: str, shares: Sequence[RuleShare]) -> None:
    """Fails the step when an alarm's action is ``fail``; call it after the step's writes.

    Raises:
        DataQualityError: naming every failing rule, its share and threshold.
    """
    failing = [s for s in shares if s.alarm == "fail"]
    if not failing:
        return
    raise DataQualityError(
        f"{step}: data-quality alarm (quality.alarms.action=fail): "
        + "; ".join(s.describe() for s in failing)
        + ". The step's tables, quarantine and ops.dq_results are written; its watermarks are not saved, so "
        "the next run processes the same rows again. Fix the source or the cleaning mappings, or raise "
        "the threshold (quality.alarms.rules), then re-run."
    )


def check_overrides(config: AlarmsConfig, known: Mapping[str, Sequence[str]]) -> None:
    """Checks that every per-rule threshold names a table and rule that a step checks.

    Args:
        known: the rule names of every checked table (``silver.tickets``: [...]).

    Raises:
        ConfigError: naming the key, and the known tables or the table's known rules.
    """
    for name in config.rules:
        table, _, rule = name.rpartition(".")
        key = f"quality.alarms.rules.{name}"
        if table not in known:
            raise ConfigError(f"{key}: no step checks table {table!r}; checked tables: {sorted(known)}")
        if rule not in known[table]:
            raise ConfigError(f"{key}: {table} has no rule {rule!r}; its rules: {sorted(known[table])}")
