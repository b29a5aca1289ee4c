"""Gold's use of the data-quality rules: check a model's recomputed rows before MERGE.

The rows of a model's scope are checked against ``quality/rules/gold.<model>.yaml``
(:func:`careplus_spark.quality.enforce`): rows breaking a blocking rule go to
``gold.quarantine`` and are left out of the MERGE — which deletes them from gold, should an
earlier run have written them — and per-rule counts go to ``ops.dq_results``, with their
share of the scope's rows and alarm (:mod:`careplus_spark.quality.alarms`). A model
without a rule file is written unchecked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from careplus_spark.lakehouse import catalog
from careplus_spark.lakehouse.run import RuleShare
from careplus_spark.quality.engine import enforce
from careplus_spark.quality.ruleset import load_rules

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from careplus_spark.gold.scope import Scope
    from careplus_spark.lakehouse.run import RunContext


@dataclass(frozen=True)
class Checked:
    """The rows that may enter gold, how many were read and quarantined, and each rule's share."""

    passed: DataFrame
    read: int
    quarantined: int
    shares: tuple[RuleShare, ...] = ()


@contextlib.contextmanager
def enforce_rules(
    spark: SparkSession, ctx: RunContext, table: str, candidates: DataFrame, scope: Scope, step: str = "gold"
) -> Iterator[Checked]:
    """Checks ``candidates`` of ``table`` for ``step``; yields the passing rows (cached while open).

    Example:
        >>> with enforce_rules(spark, ctx, "gold.fct_tickets", rows, scope) as checked:  # doctest: +SKIP
        ...     merge(checked.passed)
    """
    rules = load_rules(table, ctx.cfg.quality.rules_dir or None, missing_ok=True)
    if rules.source is None:
        cached = candidates.cache()
        try:
            yield Checked(cached, cached.count(), 0)
        finally:
            cached.unpersist()
        return
    scope_keys = None
    if scope.values is not None and rules.key == (scope.column,):
        scope_keys = scope.values  # keys recomputed to nothing (deleted upstream) leave the quarantine too
    with enforce(spark, ctx, rules, candidates, scope_keys=scope_keys, full=scope.everything, step=step) as outcome:
        yield Checked(outcome.passed, outcome.checked, outcome.quarantined, outcome.shares)


def rule_names(rules_dir: str | None) -> dict[str, tuple[str, ...]]:
    """The rule names of every gold model with a rule file (for ``quality.alarms.rules``)."""
    names = {}
    for table in catalog.models():
        rules = load_rules(table.qualified, rules_dir or None, missing_ok=True)
        if rules.source is not None:
            names[table.qualified] = tuple(r.name for r in rules.rules)
    return names
