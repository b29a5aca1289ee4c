"""Gold's use of the data-quality rules: check a model's recomputed rows before MERGE.

The rows of a model's scope are checked against ``quality/rules/gold.<model>.yaml``
(:func:`careplus_spark.quality.enforce`): rows breaking a blocking rule go to
``gold.quarantine`` and are left out of the MERGE — which deletes them from gold, should an
earlier run have written them — and per-rule counts go to ``ops.dq_results``. A model
without a rule file is written unchecked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from careplus_spark.quality.engine import enforce
from careplus_spark.quality.ruleset import load_rules

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from careplus_spark.gold.scope import Scope
    from careplus_spark.lakehouse.run import RunContext


@dataclass(frozen=True)
class Checked:
    """The rows that may enter gold, and how many were read and quarantined."""

    passed: DataFrame
    read: int
    quarantined: int


@contextlib.contextmanager
def enforce_rules(
    spark: SparkSession, ctx: RunContext, table: str, candidates: DataFrame, scope: Scope
) -> Iterator[Checked]:
    """Checks ``candidates`` of ``table``; yields the passing rows (cached while open).

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
    with enforce(spark, ctx, rules, candidates, scope_keys=scope_keys, full=scope.everything) as outcome:
        yield Checked(outcome.passed, outcome.checked, outcome.quarantined)
