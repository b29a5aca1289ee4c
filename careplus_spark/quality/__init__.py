"""Data-quality rules per table, declared in YAML; blocked rows quarantined, counts recorded.

- :mod:`~careplus_spark.quality.ruleset`: the rule files (``rules/<database>.<table>.yaml``)
  and their strict loading, no Spark needed.
- :mod:`~careplus_spark.quality.checks`: rules as failure columns (and their NULL semantics).
- :mod:`~careplus_spark.quality.store`: ``gold.quarantine`` and ``ops.dq_results``.
- :mod:`~careplus_spark.quality.engine`: :func:`enforce`, the one call a step makes.
- :mod:`~careplus_spark.quality.alarms`: the share of a step's rows each rule nulled or
  quarantined, against ``quality.alarms`` thresholds (warn, or fail the step).

A rule file (adding a table's rules is adding its file)::

    key: [ticket_id]            # the column(s) identifying a row
    rules:
      - name: ticket_id_not_null
        check: not_null         # not_null | accepted_values | range | pattern | unique | references | expression
        column: ticket_id       # not_null and unique also take columns: [a, b]
        severity: block         # block: quarantined, not written | warn: counted and logged, written
      - name: priority_values
        check: accepted_values
        column: priority
        values: [High, Medium, Low]
        severity: block         # allow_null: false makes NULL fail (accepted_values, range, pattern)
      - name: ticket_exists
        check: references
        column: ticket_id
        to: silver.tickets.ticket_id
        severity: warn
      - name: resolved_after_created
        check: expression       # a per-row SQL boolean; only TRUE passes
        expr: resolved_at IS NULL OR resolved_at >= created_at
        severity: block

Example:
    >>> rules = load_rules("gold.fct_tickets", ctx.cfg.quality.rules_dir or None)  # doctest: +SKIP
    >>> with enforce(spark, ctx, rules, candidates) as outcome:  # doctest: +SKIP
    ...     tables.upsert(spark, outcome.passed, ctx.table("gold", "fct_tickets"), keys=list(rules.key))
"""

from careplus_spark.lakehouse.run import RuleShare
from careplus_spark.quality.engine import Outcome, enforce
from careplus_spark.quality.ruleset import Reference, Rule, TableRules, load_rules, rule_files

__all__ = ["Outcome", "Reference", "Rule", "RuleShare", "TableRules", "enforce", "load_rules", "rule_files"]
