"""Each check kind as a failure column, with its NULL semantics and edge cases (chispa comparisons)."""

from __future__ import annotations

from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from careplus_spark.errors import ConfigError, SchemaError
from careplus_spark.quality.checks import BLOCKED, failure_columns, flag_rules
from careplus_spark.quality.ruleset import TableRules, parse_rules


def table_rules(*rules: dict[str, Any], key: str = "id") -> TableRules:
    return parse_rules("gold.t", {"key": [key], "rules": list(rules)}, "inline.yaml")


def flagged(df: DataFrame, rules: TableRules, references: dict[str, Any] | None = None) -> DataFrame:
    """``id``, one failure column per rule (named after the rule), then ``blocked``."""
    out = df.transform(flag_rules(rules, references or {}))
    fails = [F.col(c).alias(r.name) for r, c in zip(rules.rules, failure_columns(rules), strict=True)]
    return out.select("id", *fails, F.col(BLOCKED).alias("blocked"))


def verdicts(spark: SparkSession, rules: TableRules, rows: list[tuple[Any, ...]]) -> DataFrame:
    """Expected :func:`flagged` rows: ``(id, failure of each rule..., blocked)``."""
    schema = ", ".join(["id INT", *(f"{r.name} BOOLEAN" for r in rules.rules), "blocked BOOLEAN"])
    return spark.createDataFrame(rows, schema)


def assert_verdicts(spark: SparkSession, df: DataFrame, rules: TableRules, rows: list[tuple[Any, ...]],
                    references: dict[str, Any] | None = None) -> None:
    assert_df_equality(flagged(df, rules, references), verdicts(spark, rules, rows),
                       ignore_row_order=True, ignore_nullable=True)


def test_not_null_fails_on_null_in_any_listed_column(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "a", "x"), (2, None, "x"), (3, "a", None)], "id INT, a STRING, b STRING")
    rules = table_rules({"name": "r", "check": "not_null", "columns": ["a", "b"], "severity": "block"})
    assert_verdicts(spark, df, rules, [(1, False, False), (2, True, True), (3, True, True)])


def test_accepted_values_pass_null_unless_told_otherwise(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "High"), (2, "high"), (3, None), (4, "High ")], "id INT, p STRING")
    rules = table_rules(
        {"name": "lenient", "check": "accepted_values", "column": "p", "values": ["High", "Low"], "severity": "warn"},
        {"name": "strict", "check": "accepted_values", "column": "p", "values": ["High", "Low"], "allow_null": False,
         "severity": "block"},
    )
    want = [(1, False, False, False), (2, True, True, True), (3, False, True, True), (4, True, True, True)]
    assert_verdicts(spark, df, rules, want)


def test_range_bounds_are_inclusive_and_nan_fails(spark: SparkSession) -> None:
    rows = [(1, 0.0), (2, 100.0), (3, -0.01), (4, 100.01), (5, None), (6, float("nan"))]
    df = spark.createDataFrame(rows, "id INT, cpu DOUBLE")
    rules = table_rules({"name": "r", "check": "range", "column": "cpu", "min": 0, "max": 100, "severity": "block"})
    want = [(1, False, False), (2, False, False), (3, True, True), (4, True, True), (5, False, False), (6, True, True)]
    assert_verdicts(spark, df, rules, want)


def test_range_with_one_bound_and_null_not_allowed(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, 0), (2, -1), (3, 2_000_000_000), (4, None)], "id INT, n INT")
    rules = table_rules(
        {"name": "r", "check": "range", "column": "n", "min": 0, "allow_null": False, "severity": "warn"}
    )
    assert_verdicts(spark, df, rules, [(1, False, False), (2, True, False), (3, False, False), (4, True, False)])


def test_range_on_dates(spark: SparkSession) -> None:
    import datetime as dt

    df = spark.createDataFrame([(1, dt.date(2025, 7, 1)), (2, dt.date(2019, 12, 31))], "id INT, d DATE")
    rules = table_rules({"name": "r", "check": "range", "column": "d", "min": dt.date(2020, 1, 1), "severity": "block"})
    assert_verdicts(spark, df, rules, [(1, False, False), (2, True, True)])


def test_pattern_must_match_the_whole_value(spark: SparkSession) -> None:
    rows = [(1, "TCK0701000"), (2, "xTCK0701000"), (3, "TCK0701000x"), (4, "TCK0701000\n"), (5, None), (6, "TCK")]
    df = spark.createDataFrame(rows, "id INT, t STRING")
    rules = table_rules({"name": "r", "check": "pattern", "column": "t", "regex": "TCK[0-9]+|A|B", "severity": "block"})
    want = [(1, False, False), (2, True, True), (3, True, True), (4, True, True), (5, False, False), (6, True, True)]
    assert_verdicts(spark, df, rules, want)


def test_an_invalid_java_regex_names_the_rule(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "a")], "id INT, t STRING")
    rules = table_rules(
        {"name": "bad_regex", "check": "pattern", "column": "t", "regex": "TCK[0-9", "severity": "warn"}
    )
    with pytest.raises(ConfigError, match=r"inline\.yaml: rule 'bad_regex' of gold\.t: invalid Java regex 'TCK\[0-9'"):
        flagged(df, rules)


def test_unique_flags_every_duplicate_and_ignores_null_keys(spark: SparkSession) -> None:
    rows = [(1, "a", "x"), (2, "a", "x"), (3, "a", "y"), (4, None, "x"), (5, None, "x")]
    df = spark.createDataFrame(rows, "id INT, a STRING, b STRING")
    rules = table_rules(
        {"name": "a_unique", "check": "unique", "column": "a", "severity": "warn"},
        {"name": "ab_unique", "check": "unique", "columns": ["a", "b"], "severity": "block"},
    )
    assert_verdicts(spark, df, rules, [
        (1, True, True, True), (2, True, True, True), (3, True, False, False), (4, False, False, False),
        (5, False, False, False),
    ])


TICKET_EXISTS = {"name": "ticket_exists", "check": "references", "column": "ticket_id",
                 "to": "silver.tickets.ticket_id", "severity": "warn"}


def test_references_pass_null_and_fail_unknown_values(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "T1"), (2, "T9"), (3, None), (4, "T1")], "id INT, ticket_id STRING")
    known = spark.createDataFrame([("T1",), ("T1",), ("T2",), (None,)], "ticket_id STRING")
    rules = table_rules(TICKET_EXISTS)
    want = [(1, False, False), (2, True, False), (3, False, False), (4, False, False)]
    assert_verdicts(spark, df, rules, want, {"ticket_exists": known})


def test_duplicate_referenced_values_do_not_multiply_rows(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "T1"), (2, "T9"), (3, None), (4, "T1")], "id INT, ticket_id STRING")
    known = spark.createDataFrame([("T1",), ("T1",), ("T2",), (None,)], "ticket_id STRING")
    rules = table_rules(TICKET_EXISTS)
    want = [(1, False, False), (2, True, False), (3, False, False), (4, False, False)]
    assert_verdicts(spark, df, rules, want, {"ticket_exists": F.broadcast(known)})  # still one row per id


def test_references_to_a_missing_table_fail_every_value(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "T1"), (2, None)], "id INT, ticket_id STRING")
    want = [(1, True, False), (2, False, False)]
    assert_verdicts(spark, df, table_rules(TICKET_EXISTS), want, {"ticket_exists": None})


def test_expression_passes_only_when_true(spark: SparkSession) -> None:
    rows = [(1, 5, 10), (2, 10, 5), (3, None, 5), (4, 5, None)]
    df = spark.createDataFrame(rows, "id INT, created INT, resolved INT")
    rules = table_rules(
        {"name": "strict", "check": "expression", "expr": "resolved >= created", "severity": "warn"},
        {"name": "lenient", "check": "expression", "expr": "resolved IS NULL OR resolved >= created",
         "severity": "block"},
    )
    want = [(1, False, False, False), (2, True, True, True), (3, True, True, True), (4, True, False, False)]
    assert_verdicts(spark, df, rules, want)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("resolved >= nope", r"is invalid: .*columns present: \['created', 'id', 'resolved'\]"),
        ("resolved + 1", "must be a boolean, found int"),
        ("resolved >=", "is invalid"),
        ("max(resolved) > 1", "is invalid"),
    ],
)
def test_a_bad_expression_names_the_rule(spark: SparkSession, expr: str, message: str) -> None:
    df = spark.createDataFrame([(1, 5, 10)], "id INT, created INT, resolved INT")
    rules = table_rules({"name": "bad_expr", "check": "expression", "expr": expr, "severity": "block"})
    with pytest.raises(ConfigError, match=r"inline\.yaml: rule 'bad_expr' of gold\.t: expression '.*' " + message):
        flagged(df, rules)


def test_an_unknown_column_names_the_table_rule_and_columns_present(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "a")], "id INT, a STRING")
    rules = table_rules({"name": "b_not_null", "check": "not_null", "column": "b", "severity": "warn"})
    with pytest.raises(SchemaError) as err:
        flagged(df, rules)
    assert str(err.value) == (
        "quality rules of gold.t (inline.yaml): rule 'b_not_null': missing required column(s) ['b']; "
        "columns present: ['a', 'id']"
    )


def test_warn_rules_never_block(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, None)], "id INT, a STRING")
    rules = table_rules({"name": "r", "check": "not_null", "column": "a", "severity": "warn"})
    assert_verdicts(spark, df, rules, [(1, True, False)])
