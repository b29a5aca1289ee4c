"""Rule files: ``<database>.<table>.yaml``, loaded strictly into frozen :class:`TableRules`.

One file per table, named after it (``gold.fct_tickets.yaml``), holding the table's key
columns and its rules. Loading needs no Spark: a typo fails at once with
:class:`~careplus_spark.errors.ConfigError` naming the file and the rule. Columns are
checked later, against the DataFrame the rules are applied to.

Example:
    >>> rules = load_rules("gold.fct_tickets")
    >>> rules.key, rules.rules[0].name
    (('ticket_id',), 'ticket_id_not_null')
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from careplus_spark.errors import ConfigError
from careplus_spark.platform import package_data, yaml_tree
from careplus_spark.platform.package_data import Traversable

Check = Literal["not_null", "accepted_values", "range", "pattern", "unique", "references", "expression"]
Severity = Literal["warn", "block"]
Scalar = str | int | float | bool | dt.date | dt.datetime

#: The rule files shipped with the package (a folder, or a folder inside the --py-files zip).
PACKAGED_RULES = package_data.resource("careplus_spark.quality", "rules")
SEVERITIES: tuple[Severity, ...] = ("warn", "block")
_COMMON = frozenset({"name", "check", "severity", "description"})
#: Per check: the parameters it requires (``column`` / ``columns``: one of them) and allows.
_REQUIRED: Mapping[str, frozenset[str]] = {
    "not_null": frozenset({"column"}),
    "accepted_values": frozenset({"column", "values"}),
    "range": frozenset({"column"}),
    "pattern": frozenset({"column", "regex"}),
    "unique": frozenset({"column"}),
    "references": frozenset({"column", "to"}),
    "expression": frozenset({"expr"}),
}
_OPTIONAL: Mapping[str, frozenset[str]] = {
    "not_null": frozenset(),
    "accepted_values": frozenset({"allow_null"}),
    "range": frozenset({"min", "max", "allow_null"}),
    "pattern": frozenset({"allow_null"}),
    "unique": frozenset(),
    "references": frozenset(),
    "expression": frozenset(),
}
#: Checks that may name several columns (``columns: [a, b]``).
_MULTI_COLUMN = frozenset({"not_null", "unique"})
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_REFERENCE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$")
#: Words that would turn a per-row expression into a query or a window (refused).
_NOT_PER_ROW = re.compile(r"\b(select|over)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Reference:
    """The column a ``references`` rule looks values up in: ``silver.tickets.ticket_id``."""

    database: str
    table: str
    column: str

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.table}.{self.column}"


@dataclass(frozen=True)
class Rule:
    """One data-quality rule; which fields matter depends on ``check``."""

    name: str
    check: Check
    severity: Severity
    columns: tuple[str, ...] = ()
    values: tuple[Scalar, ...] = ()
    min: Scalar | None = None
    max: Scalar | None = None
    regex: str = ""
    to: Reference | None = None
    expr: str = ""
    allow_null: bool = True
    description: str = ""

    @property
    def blocking(self) -> bool:
        return self.severity == "block"


@dataclass(frozen=True)
class TableRules:
    """The rules of one table and the key columns that identify its rows.

    ``source`` is the rule file (None for a table without one: no key, no rules).
    """

    table: str
    key: tuple[str, ...]
    rules: tuple[Rule, ...]
    source: str | None = None

    @property
    def blocking(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.blocking)


def rule_files(rules_dir: str | Path | Traversable | None = None) -> dict[str, Traversable]:
    """The rule files of a folder (default: the packaged ones) by table name."""
    folder = _folder(rules_dir)
    entries = folder.iterdir() if folder.is_dir() else iter(())
    found = {p.name[: -len(".yaml")]: p for p in entries if p.name.endswith(".yaml")}
    return {name: found[name] for name in sorted(found) if _TABLE.match(name) and found[name].is_file()}


def _folder(rules_dir: str | Path | Traversable | None) -> Traversable:
    """A configured folder of rule files, else the packaged one."""
    if not rules_dir:
        return PACKAGED_RULES
    return Path(rules_dir) if isinstance(rules_dir, str | os.PathLike) else rules_dir


def load_rules(
    table: str, rules_dir: str | Path | Traversable | None = None, *, missing_ok: bool = False
) -> TableRules:
    """Loads and validates the rules of ``table`` (``database.name``).

    Args:
        table: the table, e.g. ``gold.fct_tickets``; its file is ``<rules_dir>/<table>.yaml``.
        rules_dir: the folder of rule files; None or empty: the packaged rules.
        missing_ok: a table without a rule file gets no rules (and no key) instead of an error.

    Raises:
        ConfigError: the file is missing (unless ``missing_ok``) or invalid; the message names
            the file and, for a bad rule, the rule.

    Example:
        >>> load_rules("gold.fct_logs").key
        ('event_id',)
    """
    if not _TABLE.match(table):
        raise ConfigError(f"quality rules: table {table!r} must be <database>.<name>, e.g. gold.fct_tickets")
    folder = _folder(rules_dir)
    path = folder / f"{table}.yaml"
    if not path.is_file():
        if missing_ok:
            return TableRules(table, (), (), None)
        known = sorted(rule_files(folder))
        raise ConfigError(f"quality rules of {table}: {path} does not exist; rule files in {folder}: {known}")
    return parse_rules(table, yaml_tree.read_yaml(path), str(path))


def parse_rules(table: str, tree: Mapping[str, Any], source: str) -> TableRules:
    """Validates the parsed content of one rule file (see :func:`load_rules`)."""
    unknown = sorted(set(tree) - {"key", "rules", "description"})
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s) {unknown}; allowed: ['description', 'key', 'rules']")
    if "key" not in tree:
        raise ConfigError(f"{source}: missing 'key' (the column or columns that identify a row of {table})")
    key = _names(tree["key"], f"{source}: 'key'")
    raw_rules = tree.get("rules")
    if not isinstance(raw_rules, list):
        raise ConfigError(f"{source}: 'rules' must be a list of rules, found {type(raw_rules).__name__}")
    rules: list[Rule] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_rules, start=1):
        rule = parse_rule(raw, source, position)
        if rule.name in seen:
            raise ConfigError(f"{source}: rule {rule.name!r} (#{position}): duplicate rule name")
        seen.add(rule.name)
        rules.append(rule)
    return TableRules(table, key, tuple(rules), source)


def parse_rule(raw: object, source: str, position: int) -> Rule:
    """Validates one rule mapping, the ``position``-th (from 1) of the file ``source``."""
    where = f"{source}: rule #{position}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a rule must be a mapping, found {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: 'name' must be a name such as ticket_id_not_null, found {name!r}")
    where = f"{source}: rule {name!r}"
    check = raw.get("check")
    if check not in _REQUIRED:
        raise ConfigError(f"{where}: unknown check {check!r}; known checks: {sorted(_REQUIRED)}")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        raise ConfigError(f"{where}: severity must be one of {list(SEVERITIES)}, found {severity!r}")
    params = _params(raw, str(check), where)
    return Rule(
        name=name,
        check=cast(Check, check),
        severity=cast(Severity, severity),
        description=_text(raw.get("description", ""), f"{where}: 'description'", allow_empty=True),
        **params,
    )


def _params(raw: Mapping[str, Any], check: str, where: str) -> dict[str, Any]:
    keys = set(raw) - _COMMON
    if "columns" in keys and check in _MULTI_COLUMN:
        keys = (keys - {"columns"}) | {"column"}
        if "column" in raw:
            raise ConfigError(f"{where}: give 'column' or 'columns', not both")
    allowed = _REQUIRED[check] | _OPTIONAL[check]
    unknown = sorted(keys - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown} for check {check!r}; allowed: {sorted(allowed | _COMMON)}"
        )
    missing = sorted(_REQUIRED[check] - keys)
    if missing:
        raise ConfigError(f"{where}: check {check!r} needs {missing}")
    params: dict[str, Any] = {}
    if "column" in keys:
        params["columns"] = _names(raw["column"] if "column" in raw else raw["columns"], f"{where}: 'column'")
        if len(params["columns"]) > 1 and check not in _MULTI_COLUMN:
            raise ConfigError(f"{where}: check {check!r} takes one column, found {list(params['columns'])}")
    if "allow_null" in raw:
        if not isinstance(raw["allow_null"], bool):
            raise ConfigError(f"{where}: 'allow_null' must be true or false, found {raw['allow_null']!r}")
        params["allow_null"] = raw["allow_null"]
    if check == "accepted_values":
        params["values"] = _values(raw["values"], f"{where}: 'values'")
    elif check == "range":
        params.update(_bounds(raw, where))
    elif check == "pattern":
        params["regex"] = _text(raw["regex"], f"{where}: 'regex'")
    elif check == "references":
        params["to"] = _reference(raw["to"], f"{where}: 'to'")
    elif check == "expression":
        expr = _text(raw["expr"], f"{where}: 'expr'")
        if _NOT_PER_ROW.search(expr) or ";" in expr:
            raise ConfigError(f"{where}: 'expr' must be a per-row SQL boolean (no SELECT, OVER or ';'), found {expr!r}")
        params["expr"] = expr
    return params


def _names(value: object, where: str) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"{where}: expected a column name or a non-empty list of them, found {value!r}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: a column is listed twice in {names}")
    return tuple(names)


def _text(value: object, where: str, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not value.strip() and not allow_empty):
        raise ConfigError(f"{where}: expected text, found {value!r}")
    return value


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool | dt.date | dt.datetime)


def _values(value: object, where: str) -> tuple[Scalar, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: expected a non-empty list of values, found {value!r}")
    bad = [v for v in value if not _scalar(v)]
    if bad:
        raise ConfigError(f"{where}: values must be scalars (quote YAML words such as 'yes'), found {bad!r}")
    return tuple(value)


def _bounds(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    bounds = {k: raw[k] for k in ("min", "max") if raw.get(k) is not None}
    if not bounds:
        raise ConfigError(f"{where}: check 'range' needs 'min', 'max' or both")
    for k, v in bounds.items():
        if isinstance(v, bool) or not _scalar(v):
            raise ConfigError(f"{where}: '{k}' must be a number, date or timestamp, found {v!r}")
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and high is not None:
        try:
            inverted = low > high
        except TypeError:
            raise ConfigError(f"{where}: 'min' {low!r} and 'max' {high!r} are not comparable") from None
        if inverted:
            raise ConfigError(f"{where}: 'min' {low!r} is greater than 'max' {high!r}")
    return bounds


def _reference(value: object, where: str) -> Reference:
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(
            f"{where}: expected <database>.<table>.<column>, e.g. silver.tickets.ticket_id, found {value!r}"
        )
    return Reference(*match.groups())
