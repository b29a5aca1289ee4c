"""Applying a table's rules to candidate rows: flag, count, quarantine, record.

Example:
    >>> rules = load_rules("gold.fct_tickets", ctx.cfg.quality.rules_dir or None)  # doctest: +SKIP
    >>> with enforce(spark, ctx, rules, candidates, scope_keys=deleted) as outcome:  # doctest: +SKIP
    ...     tables.upsert(spark, outcome.passed, ctx.table("gold", "fct_tickets"), keys=["ticket_id"])
    ...     # and remove outcome.blocked_keys from gold, should an earlier run have written them
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from careplus_spark.errors import ConfigError, SchemaError
from careplus_spark.lakehouse import catalog, delta, tables
from careplus_spark.lakehouse.run import RuleShare, RunContext
from careplus_spark.quality import alarms, store
from careplus_spark.quality.checks import BLOCKED, check_columns, failure_columns, flag_rules
from careplus_spark.quality.ruleset import Rule, TableRules

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)
#: A referenced table up to this size (Delta files) is broadcast to the join.
BROADCAST_LIMIT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    """What :func:`enforce` found and wrote.

    ``passed`` has the candidates' columns and the rows breaking no blocking rule;
    ``blocked_keys`` the distinct key values of the other rows (to remove them from the
    target table, should an earlier run have written them). Both read the flagged rows
    cached by :func:`enforce`: use them inside the ``with`` block.
    ``checked == passed rows + quarantined``. ``shares`` are the counts with their alarm
    thresholds and alarms (:mod:`careplus_spark.quality.alarms`): the caller raises
    :func:`~careplus_spark.quality.alarms.raise_on_failure` once its writes are done.
    """

    passed: DataFrame
    blocked_keys: DataFrame
    counts: tuple[RuleShare, ...]
    checked: int
    quarantined: int
    versions: Mapping[str, int] = field(default_factory=dict)
    shares: tuple[RuleShare, ...] = ()


@contextlib.contextmanager
def enforce(
    spark: SparkSession,
    ctx: RunContext,
    rules: TableRules,
    candidates: DataFrame,
    *,
    scope_keys: DataFrame | None = None,
    full: bool | None = None,
    step: str = "quality",
) -> Iterator[Outcome]:
    """Checks ``candidates`` against ``rules``; quarantines blocked rows; records per-rule counts.

    All rules are evaluated in one projection over the candidates, which is cached once
    (released on exit); the per-rule counts come from one aggregation. Blocked rows are
    MERGEd into ``gold.quarantine`` and the counts, with their shares, thresholds and
    alarms, appended to ``ops.dq_results`` before the block runs (see
    :mod:`careplus_spark.quality.store` and :mod:`careplus_spark.quality.alarms`).
    Warn-level failures are logged and counted; their rows stay in ``passed``. An alarm
    is logged here, never raised: see :attr:`Outcome.shares`.

    Args:
        rules: from :func:`~careplus_spark.quality.ruleset.load_rules`.
        candidates: the rows about to be written to ``rules.table``.
        scope_keys: key columns of rows removed upstream (e.g. deleted tickets): their
            quarantine rows are deleted too, like those of candidates that now pass.
        full: replace all of the table's quarantine rows (default: ``ctx.full_refresh``).
        step: the pipeline step checking, recorded in ``ops.dq_results``.

    Raises:
        SchemaError: a rule, the key or ``scope_keys`` names a column that is missing.
        ConfigError: a rule's regex or expression is invalid.

    Example:
        >>> with enforce(spark, ctx, load_rules("gold.fct_logs"), logs) as outcome:  # doctest: +SKIP
        ...     outcome.quarantined, [c.failed for c in outcome.counts]
        (2, [0, 0, 2, 0, 17])
    """
    full = ctx.full_refresh if full is None else full
    check_columns(rules, candidates.columns, "candidates")
    if scope_keys is not None:
        check_columns(TableRules(rules.table, rules.key, (), rules.source), scope_keys.columns, "scope keys")
    references = {r.name: reference_values(spark, ctx, rules, r) for r in rules.rules if r.check == "references"}
    flagged = candidates.transform(flag_rules(rules, references)).cache()
    try:
        counts, checked, quarantined = count_failures(flagged, rules)
        _log_failures(counts)
        versions: dict[str, int] = {}
        if rules.key:
            result = _quarantine(spark, ctx, rules, flagged, candidates.columns, None if full else scope_keys, full)
            if result.version is not None:
                versions[result.table] = result.version
        shares, results_version = alarms.settle(spark, ctx, step, counts)
        if results_version is not None:
            versions[catalog.DQ_RESULTS.qualified] = results_version
        columns = [F.col(f"`{c}`") for c in candidates.columns]
        yield Outcome(
            passed=flagged.where(~F.col(BLOCKED)).select(*columns),
            blocked_keys=flagged.where(F.col(BLOCKED)).select(*[F.col(f"`{k}`") for k in rules.key]).distinct(),
            counts=counts,
            checked=checked,
            quarantined=quarantined,
            versions=versions,
            shares=shares,
        )
    finally:
        flagged.unpersist()


def count_failures(flagged: DataFrame, rules: TableRules) -> tuple[tuple[RuleShare, ...], int, int]:
    """Per-rule failure counts, rows checked and rows blocked, in one aggregation."""
    names = failure_columns(rules)
    row = flagged.agg(
        F.count(F.lit(1)).alias("checked"),
        F.sum(F.col(BLOCKED).cast("long")).alias("blocked"),
        *[F.sum(F.col(n).cast("long")).alias(n) for n in names],
    ).first()  # a global aggregation: always one row
    checked = int(row["checked"])  # type: ignore[index]
    counts = tuple(
        RuleShare(rules.table, r.name, r.check, r.severity, checked, int(row[n] or 0))  # type: ignore[index]
        for r, n in zip(rules.rules, names, strict=True)
    )
    return counts, checked, int(row["blocked"] or 0)  # type: ignore[index]


def reference_values(spark: SparkSession, ctx: RunContext, rules: TableRules, rule: Rule) -> DataFrame | None:
    """The referenced column of a ``references`` rule (broadcast when small); None if no table.

    Raises:
        SchemaError: the referenced table lacks the referenced column.
    """
    if rule.to is None:
        raise ConfigError(f"{rules.source}: rule {rule.name!r} of {rules.table}: a references check needs 'to'")
    ref = ctx.table(rule.to.database, rule.to.table)
    if not tables.exists(spark, ref):
        log.warning("%s: rule %s: referenced table %s does not exist; every non-NULL value fails",
                    rules.table, rule.name, ref.qualified)
        return None
    df = spark.read.format("delta").load(ref.path)
    if rule.to.column not in df.columns:
        raise SchemaError(f"quality rules of {rules.table} ({rules.source}): rule {rule.name!r} references "
                          f"{rule.to.qualified}", [rule.to.column], df.columns)
    values = df.select(F.col(f"`{rule.to.column}`"))
    return F.broadcast(values) if delta.size_bytes(spark, ref.path) <= BROADCAST_LIMIT_BYTES else values


def _quarantine(
    spark: SparkSession,
    ctx: RunContext,
    rules: TableRules,
    flagged: DataFrame,
    columns: list[str],
    scope_keys: DataFrame | None,
    full: bool,
) -> tables.MergeResult:
    ref = ctx.ref(catalog.GOLD_QUARANTINE)
    current = store.current_quarantine(spark, ref, rules.table)
    blocked = store.blocked_rows(flagged, rules, columns, ctx.run_id)
    scope = None
    if not full:
        key = store.row_key(rules.key).alias("row_key")
        scope = flagged.select(key)
        if scope_keys is not None:
            scope = scope.unionByName(scope_keys.select(key))
    changes = store.quarantine_changes(blocked, current, scope).cache()
    try:
        return store.merge_quarantine(spark, changes, ref, rules.table, ctx.run_id)
    finally:
        changes.unpersist()


def _log_failures(counts: tuple[RuleShare, ...]) -> None:
    for c in counts:
        if c.failed:
            action = "rows quarantined" if c.severity == "block" else "rows kept (warn)"
            log.warning("%s: rule %s (%s, %s) failed on %d of %d rows; %s",
                        c.table, c.rule, c.check, c.severity, c.failed, c.checked, action)
