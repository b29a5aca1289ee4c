"""Rule files: strict loading and validation (no Spark)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from careplus_spark.errors import ConfigError
from careplus_spark.quality.ruleset import (
    PACKAGED_RULES,
    Reference,
    load_rules,
    rule_files,
)

VALID = """\
key: [ticket_id]
rules:
  - name: id_not_null
    check: not_null
    column: ticket_id
    severity: block
  - name: pair_unique
    check: unique
    columns: [ticket_id, agent]
    severity: warn
  - name: priority_values
    check: accepted_values
    column: priority
    values: [High, Low]
    allow_null: false
    severity: block
  - name: hour_range
    check: range
    column: created_hour
    min: 0
    max: 23
    severity: block
  - name: since_range
    check: range
    column: created_date
    min: 2020-01-01
    severity: warn
  - name: id_pattern
    check: pattern
    column: ticket_id
    regex: "TCK[0-9]+"
    severity: warn
  - name: ticket_exists
    check: references
    column: ticket_id
    to: silver.tickets.ticket_id
    severity: warn
  - name: resolved_after_created
    check: expression
    expr: resolved_at IS NULL OR resolved_at >= created_at
    severity: block
"""

# one valid rule of each kind, to break one key at a time
RULE = """\
key: [ticket_id]
rules:
  - name: the_rule
    severity: block
{body}
"""


def write(folder: Path, text: str, table: str = "gold.t") -> Path:
    path = folder / f"{table}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> object:
    write(tmp_path, text)
    return load_rules("gold.t", tmp_path)


def test_a_valid_file_loads_every_kind(tmp_path: Path) -> None:
    rules = load_text(tmp_path, VALID)
    by_name = {r.name: r for r in rules.rules}  # type: ignore[attr-defined]
    assert rules.key == ("ticket_id",)  # type: ignore[attr-defined]
    assert [r.check for r in rules.rules] == [  # type: ignore[attr-defined]
        "not_null", "unique", "accepted_values", "range", "range", "pattern", "references", "expression"
    ]
    assert by_name["pair_unique"].columns == ("ticket_id", "agent")
    assert by_name["priority_values"].values == ("High", "Low") and by_name["priority_values"].allow_null is False
    assert (by_name["hour_range"].min, by_name["hour_range"].max) == (0, 23)
    assert by_name["since_range"].min == dt.date(2020, 1, 1) and by_name["since_range"].max is None
    assert by_name["ticket_exists"].to == Reference("silver", "tickets", "ticket_id")
    assert [r.name for r in rules.blocking] == [  # type: ignore[attr-defined]
        "id_not_null", "priority_values", "hour_range", "resolved_after_created"
    ]
    assert rules.source == str(tmp_path / "gold.t.yaml")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("    check: not_null\n    column: a\n    colour: red", "unknown key(s) ['colour']"),
        ("    check: is_null\n    column: a", "unknown check 'is_null'"),
        ("    check: accepted_values\n    column: a", "needs ['values']"),
        ("    check: accepted_values\n    column: a\n    values: []", "non-empty list of values"),
        ("    check: accepted_values\n    column: a\n    values: [[1]]", "values must be scalars"),
        ("    check: range\n    column: a", "needs 'min', 'max' or both"),
        ("    check: range\n    column: a\n    min: 5\n    max: 1", "'min' 5 is greater than 'max' 1"),
        ("    check: range\n    column: a\n    min: true", "'min' must be a number"),
        ("    check: pattern\n    column: a", "needs ['regex']"),
        ("    check: pattern\n    columns: [a, b]\n    regex: x", "unknown key(s) ['columns']"),
        ("    check: unique\n    column: a\n    columns: [a, b]", "'column' or 'columns', not both"),
        ("    check: unique\n    columns: [a, a]", "listed twice"),
        ("    check: not_null", "needs ['column']"),
        ("    check: references\n    column: a\n    to: tickets.ticket_id", "<database>.<table>.<column>"),
        ("    check: expression\n    expr: a > (SELECT max(b) FROM t)", "per-row SQL boolean"),
        ("    check: expression\n    expr: row_number() OVER (ORDER BY a) = 1", "per-row SQL boolean"),
        ("    check: expression\n    column: a\n    expr: a > 1", "unknown key(s) ['column']"),
        ("    check: not_null\n    column: a\n    allow_null: true", "unknown key(s) ['allow_null']"),
        ("    check: pattern\n    column: a\n    regex: x\n    allow_null: 'no'", "'allow_null' must be true or false"),
    ],
)
def test_a_bad_rule_names_the_file_and_the_rule(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, RULE.format(body=body))
    assert message in str(err.value)
    assert f"{tmp_path / 'gold.t.yaml'}: rule 'the_rule'" in str(err.value)


def test_an_unknown_severity_is_refused(tmp_path: Path) -> None:
    text = "key: a\nrules:\n  - {name: r1, check: not_null, column: a, severity: error}\n"
    with pytest.raises(ConfigError, match=r"rule 'r1': severity must be one of \['warn', 'block'\], found 'error'"):
        load_text(tmp_path, text)


def test_a_missing_severity_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rule 'r1': severity must be one of"):
        load_text(tmp_path, "key: a\nrules:\n  - {name: r1, check: not_null, column: a}\n")


def test_duplicate_rule_names_are_refused(tmp_path: Path) -> None:
    text = "key: a\nrules:\n  - {name: r1, check: not_null, column: a, severity: warn}\n" \
           "  - {name: r1, check: unique, column: a, severity: block}\n"
    with pytest.raises(ConfigError, match=r"gold\.t\.yaml: rule 'r1' \(#2\): duplicate rule name"):
        load_text(tmp_path, text)


def test_a_rule_without_a_usable_name_is_named_by_position(tmp_path: Path) -> None:
    text = (
        "key: a\nrules:\n  - {name: r1, check: not_null, column: a, severity: warn}\n"
        "  - {check: unique, column: a}\n"
    )
    with pytest.raises(ConfigError, match=r"gold\.t\.yaml: rule #2: 'name' must be a name"):
        load_text(tmp_path, text)


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    text = "key: a\nrules:\n  - name: r1\n    check: not_null\n    check: unique\n    column: a\n    severity: warn\n"
    with pytest.raises(ConfigError, match="duplicate key 'check'"):
        load_text(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: []\n", "missing 'key'"),
        ("key: []\nrules: []\n", "'key': expected a column name"),
        ("key: a\n", "'rules' must be a list"),
        ("key: a\nrules: []\ntable: gold.t\n", "unknown top-level key(s) ['table']"),
        ("key: a\nrules: [not_null]\n", "rule #1: a rule must be a mapping"),
    ],
)
def test_a_bad_file_is_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, text)
    assert message in str(err.value) and str(tmp_path / "gold.t.yaml") in str(err.value)


def test_a_missing_file_lists_the_known_tables(tmp_path: Path) -> None:
    write(tmp_path, "key: a\nrules: []\n", "gold.other")
    with pytest.raises(ConfigError, match=r"gold\.t\.yaml does not exist; rule files in .*\['gold\.other'\]"):
        load_rules("gold.t", tmp_path)


def test_a_missing_file_may_mean_no_rules(tmp_path: Path) -> None:
    rules = load_rules("gold.kpi_daily", tmp_path, missing_ok=True)
    assert (rules.key, rules.rules, rules.source) == ((), (), None)


def test_a_table_name_needs_a_database() -> None:
    with pytest.raises(ConfigError, match=r"must be <database>\.<name>"):
        load_rules("fct_tickets")


def test_an_empty_rules_dir_means_the_packaged_rules() -> None:
    assert load_rules("gold.fct_tickets", "") == load_rules("gold.fct_tickets", PACKAGED_RULES)


def test_the_packaged_rule_files_load() -> None:
    files = rule_files()
    assert {"gold.fct_tickets", "gold.fct_logs", "gold.fct_ticket_log_summary"} <= set(files)
    for table in files:
        assert load_rules(table).rules, table


def test_a_log_ticket_reference_only_warns() -> None:
    rules = load_rules("gold.fct_logs")
    refs = [r for r in rules.rules if r.check == "references"]
    assert [(r.columns, r.to, r.severity) for r in refs] == [
        (("ticket_id",), Reference("silver", "tickets", "ticket_id"), "warn")
    ]
