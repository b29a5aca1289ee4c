"""Rules as boolean columns: one projection flags every rule a row breaks.

Each rule becomes a *failure* column that is never NULL (true: the row breaks the rule).
NULL semantics, per check:

- ``not_null``: NULL fails (any of the listed columns).
- ``accepted_values`` / ``range`` / ``pattern``: NULL passes unless ``allow_null: false``.
  ``range`` bounds are inclusive; NaN fails a range. ``pattern`` is a Java regex that must
  match the whole value (the value is cast to text).
- ``unique``: a row fails when another checked row has the same value(s); rows with a NULL
  in any of the columns are not checked (like SQL UNIQUE). Uniqueness is within the rows
  checked together, not against the rows already in the target table.
- ``references``: NULL passes; a value fails when the referenced column does not hold it
  (a missing referenced table holds nothing).
- ``expression``: the row passes only when the SQL boolean is TRUE (FALSE and NULL fail;
  write ``x IS NULL OR ...`` to let NULLs pass).

Example:
    >>> flagged = candidates.transform(flag_rules(rules, {"ticket_exists": ticket_ids}))  # doctest: +SKIP
    >>> flagged.select(*failure_columns(rules), BLOCKED)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import reduce
from typing import TYPE_CHECKING

from pyspark.sql import Window
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DoubleType, FloatType

from careplus_spark.errors import ConfigError, SchemaError
from careplus_spark.quality.ruleset import Rule, TableRules

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: The flag column that is true when a row breaks any blocking rule.
BLOCKED = "__dq_blocked"
_PREFIX = "__dq_"


def failure_columns(rules: TableRules) -> list[str]:
    """The names of the failure columns :func:`flag_rules` adds, in rule order."""
    return [f"{_PREFIX}fail_{i}" for i in range(len(rules.rules))]


def check_columns(rules: TableRules, present: Sequence[str], what: str = "checked rows") -> None:
    """Raises when the key or a rule names a column that ``present`` lacks.

    Raises:
        SchemaError: the message names the table, the rule (or the key) and the columns present.
    """
    missing_key = [c for c in rules.key if c not in present]
    if missing_key:
        where = f"quality rules of {rules.table} ({rules.source}): key of the {what}"
        raise SchemaError(where, missing_key, list(present))
    for rule in rules.rules:
        missing = [c for c in rule.columns if c not in present]
        if missing:
            where = f"quality rules of {rules.table} ({rules.source}): rule {rule.name!r}"
            raise SchemaError(where, missing, list(present))
    clash = [c for c in present if c.startswith(_PREFIX)]
    if clash:
        where = f"quality rules of {rules.table}: column names starting with {_PREFIX} are reserved"
        raise SchemaError(where, [], clash)


def flag_rules(rules: TableRules, references: Mapping[str, DataFrame | None]) -> Callable[[DataFrame], DataFrame]:
    """Rows -> the same rows plus one failure column per rule and :data:`BLOCKED`.

    Args:
        rules: the table's rules; their columns must exist (see :func:`check_columns`).
        references: per ``references`` rule name, a one-column DataFrame of the referenced
            values (wrap it in ``F.broadcast`` when small), or None when the referenced
            table does not exist.

    Raises:
        ConfigError: a ``pattern`` is not a valid Java regex, or an ``expression`` does
            not parse, names an unknown column or is not a boolean.
    """

    def transform(df: DataFrame) -> DataFrame:
        check_columns(rules, df.columns)
        original = [F.col(f"`{c}`") for c in df.columns]
        prepared = df
        failures: list[Column] = []
        for i, rule in enumerate(rules.rules):
            if rule.check == "references":
                prepared, failed = _join_reference(prepared, rule, i, references.get(rule.name))
            elif rule.check == "unique":
                prepared, failed = _count_duplicates(prepared, rule, i)
            else:
                failed = _row_failure(df, rules, rule)
            failures.append(F.coalesce(failed, F.lit(False)))
        names = failure_columns(rules)
        blocking = [F.col(n) for n, r in zip(names, rules.rules, strict=True) if r.blocking]
        flagged = prepared.select(*original, *[f.alias(n) for f, n in zip(failures, names, strict=True)])
        blocked = reduce(lambda a, b: a | b, blocking) if blocking else F.lit(False)
        return flagged.withColumn(BLOCKED, blocked)

    return transform


def _row_failure(df: DataFrame, rules: TableRules, rule: Rule) -> Column:
    """The failure column of a rule that looks at one row only."""
    if rule.check == "not_null":
        return reduce(lambda a, b: a | b, [F.col(f"`{c}`").isNull() for c in rule.columns])
    if rule.check == "expression":
        return ~F.coalesce(_expression(df, rules, rule), F.lit(False))
    col = F.col(f"`{rule.columns[0]}`")
    if rule.check == "accepted_values":
        bad = ~col.isin(*[F.lit(v) for v in rule.values])
    elif rule.check == "range":
        bad = _outside(col, rule, df.schema[rule.columns[0]].dataType)
    elif rule.check == "pattern":
        _check_regex(df, rules, rule)
        bad = ~col.cast("string").rlike(r"\A(?:" + rule.regex + r")\z")
    else:  # pragma: no cover - every check is handled above or in flag_rules
        raise ConfigError(f"quality rules of {rules.table}: rule {rule.name!r}: unsupported check {rule.check!r}")
    return F.when(col.isNull(), F.lit(not rule.allow_null)).otherwise(bad)


def _outside(col: Column, rule: Rule, data_type: object) -> Column:
    bad = F.lit(False)
    if rule.min is not None:
        bad = bad | (col < F.lit(rule.min))
    if rule.max is not None:
        bad = bad | (col > F.lit(rule.max))
    if isinstance(data_type, DoubleType | FloatType):
        bad = bad | F.isnan(col)
    return bad


def _check_regex(df: DataFrame, rules: TableRules, rule: Rule) -> None:
    """Compiles the pattern with the JVM's own regex engine, which Spark uses."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import IllegalArgumentException

    jvm = df.sparkSession._jvm  # noqa: SLF001 - Java's regex syntax is only checkable in the JVM
    try:
        jvm.java.util.regex.Pattern.compile(rule.regex)  # type: ignore[union-attr]
    except (IllegalArgumentException, Py4JJavaError) as exc:
        detail = str(exc).strip().splitlines()[0]
        raise ConfigError(
            f"{rules.source}: rule {rule.name!r} of {rules.table}: invalid Java regex {rule.regex!r}: {detail}"
        ) from None


def _expression(df: DataFrame, rules: TableRules, rule: Rule) -> Column:
    """The rule's SQL boolean, analysed against ``df`` (errors name the rule and the columns)."""
    from pyspark.errors import AnalysisException, ParseException

    where = f"{rules.source}: rule {rule.name!r} of {rules.table}"
    try:
        column = F.expr(rule.expr)
        data_type = df.select(F.col("*"), column.alias(f"{_PREFIX}probe")).schema[f"{_PREFIX}probe"].dataType
    except (AnalysisException, ParseException) as exc:
        detail = str(exc).splitlines()[0][:300]
        raise ConfigError(
            f"{where}: expression {rule.expr!r} is invalid: {detail}; columns present: {sorted(df.columns)}"
        ) from None
    if not isinstance(data_type, BooleanType):
        raise ConfigError(f"{where}: expression {rule.expr!r} must be a boolean, found {data_type.simpleString()}")
    return column


def _join_reference(df: DataFrame, rule: Rule, i: int, values: DataFrame | None) -> tuple[DataFrame, Column]:
    """Left-joins the distinct referenced values; a non-NULL value without a match fails."""
    column = rule.columns[0]
    col = F.col(f"`{column}`")
    if values is None:
        return df, col.isNotNull()
    hit = f"{_PREFIX}ref_{i}"
    data_type = df.schema[column].dataType
    referenced = F.col(f"`{values.columns[0]}`").cast(data_type).alias(hit)
    keys = values.select(referenced).where(F.col(hit).isNotNull()).distinct()
    joined = df.join(keys, col == F.col(hit), "left")
    return joined, col.isNotNull() & F.col(hit).isNull()


def _count_duplicates(df: DataFrame, rule: Rule, i: int) -> tuple[DataFrame, Column]:
    """Counts rows per value (set); rows with a NULL in the columns are not counted."""
    cols = [F.col(f"`{c}`") for c in rule.columns]
    complete = reduce(lambda a, b: a & b, [c.isNotNull() for c in cols])
    name = f"{_PREFIX}dup_{i}"
    counted = df.withColumn(name, F.when(complete, F.count(F.lit(1)).over(Window.partitionBy(*cols))))
    return counted, F.col(name) > 1
