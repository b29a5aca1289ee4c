"""Declarative checks of configuration values: numeric ranges, identifier and path patterns.

A dataclass field of :mod:`careplus_spark.platform.config` carries its checks in its
metadata; :func:`careplus_spark.platform.typed.build` runs them on every value it reads,
so a bad value is refused at config load (:class:`~careplus_spark.errors.ConfigError`,
exit code 2) with the key, the file that set it and the rule it broke.

Example:
    >>> from dataclasses import dataclass, field, fields
    >>> @dataclass(frozen=True)
    ... class Spark:
    ...     shuffle_partitions: int = field(default=4, metadata=checks(at_least(1)))
    >>> run_checks(fields(Spark)[0], -5, "spark.shuffle_partitions", {"spark.shuffle_partitions": "--set"})
    Traceback (most recent call last):
    ...
    careplus_spark.errors.ConfigError: spark.shuffle_partitions (set in --set) must be >= 1, found -5

Identifiers taken from the configuration (a source table, a key column, a schema or
database name) must match a strict pattern: they are quoted where they are used, and the
pattern makes sure no quote, backslash, space or control character can reach SQL text.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from careplus_spark.errors import ConfigError

#: The metadata key holding a field's checks.
CHECKS = "careplus.checks"

#: One SQL identifier (MySQL/MariaDB, SQLite, Spark, Glue): at most 64 characters.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,63}")
#: A table name, optionally qualified by its database: ``support_tickets`` or ``crm.support_tickets``.
TABLE_NAME = re.compile(rf"{IDENTIFIER.pattern}(?:\.{IDENTIFIER.pattern})?")
#: A prefix of names (may be empty): letters, digits and ``_``.
NAME_PREFIX = re.compile(r"[A-Za-z0-9_]{0,64}")
#: A prefix of job names (may be empty): letters, digits and ``_ . -``.
JOB_PREFIX = re.compile(r"[A-Za-z0-9_.-]{0,100}")
#: A DynamoDB table name.
DYNAMODB_TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")
#: What a lakehouse path may not hold: quotes, a backquote, a backslash, ``;``, white space or
#: a control character. The local metastore's folder under the root becomes a JVM option
#: (``-Dderby.system.home=...`` in ``spark.driver.extraJavaOptions``, which spark-submit splits
#: at white space and parses quotes and backslashes in) and part of the Derby URL (``;``
#: separates its attributes); the root also reaches the catalog's ``LOCATION`` text.
_UNSAFE_PATH = re.compile(r"[\s'\"`\\;\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Check:
    """One rule: ``test`` holds for a good value; ``rule`` says what is expected.

    ``per_item``: the rule applies to every value of a mapping (every item of a list).
    """

    test: Callable[[Any], bool]
    rule: str
    per_item: bool = False

    def __call__(self, value: Any, key: str, provenance: Mapping[str, str]) -> None:
        """Checks ``value`` (every item of it with ``per_item``); None passes.

        Raises:
            ConfigError: the value breaks the rule; names ``key``, where it was set and the rule.
        """
        if self.per_item and value is not None:
            items = value.items() if isinstance(value, Mapping) else ((None, v) for v in value)
            for name, item in items:
                item_key = key if name is None else f"{key}.{name}"
                Check(self.test, self.rule)(item, item_key, provenance)
            return
        if value is not None and not self.test(value):
            where = f" (set in {provenance[key]})" if key in provenance else ""
            raise ConfigError(f"{key}{where} {self.rule}, found {value!r}")


def checks(*items: Check) -> Mapping[str, Any]:
    """Field metadata carrying ``items``: ``field(default=4, metadata=checks(at_least(1)))``."""
    return {CHECKS: items}


def run_checks(field: dataclasses.Field[Any], value: Any, key: str, provenance: Mapping[str, str]) -> None:
    """Runs the checks of ``field`` on ``value`` (None passes: an unset optional value).

    Raises:
        ConfigError: the value breaks a check; names the key, where it was set and the rule.
    """
    for check in field.metadata.get(CHECKS, ()):
        check(value, key, provenance)


def check_fields(instance: Any, prefix: str) -> None:
    """Runs the checks of every field of a dataclass instance (one built in code, not from a file).

    Raises:
        ConfigError: a field's value breaks its checks; names ``<prefix>.<field>``.
    """
    for field in dataclasses.fields(instance):
        run_checks(field, getattr(instance, field.name), f"{prefix}.{field.name}", {})


def at_least(low: float) -> Check:
    """A number ``>= low``."""
    return Check(lambda v: v >= low, f"must be >= {_num(low)}")


def above(low: float) -> Check:
    """A number ``> low``."""
    return Check(lambda v: v > low, f"must be > {_num(low)}")


def between(low: float, high: float) -> Check:
    """A number in ``[low, high]``."""
    return Check(lambda v: low <= v <= high, f"must be between {_num(low)} and {_num(high)}")


def share() -> Check:
    """A share in ``[0, 1]`` (0.01 is 1%)."""
    return Check(lambda v: 0.0 <= v <= 1.0, "must be a share between 0 and 1 (0.01 is 1%)")


def each(check: Check) -> Check:
    """``check`` applied to every value of a mapping or item of a list (None items pass)."""
    return Check(check.test, check.rule, per_item=True)


def matches(pattern: re.Pattern[str], what: str) -> Check:
    """A text matching ``pattern`` as a whole; ``what`` describes it in the message."""
    return Check(lambda v: isinstance(v, str) and pattern.fullmatch(v) is not None,
                 f"must be {what} (pattern {pattern.pattern})")


def identifier() -> Check:
    """One SQL identifier (:data:`IDENTIFIER`)."""
    return matches(IDENTIFIER, "an identifier: a letter or _, then letters, digits, _ or $, at most 64")


def table_name() -> Check:
    """A table name, optionally ``database.table`` (:data:`TABLE_NAME`)."""
    return matches(TABLE_NAME, "a table name or database.table, each part a letter or _, then letters, "
                               "digits, _ or $, at most 64")


def safe_path() -> Check:
    """A path or URI without quotes, backquote, backslash, ``;``, white space or control characters."""
    return Check(lambda v: isinstance(v, str) and not _UNSAFE_PATH.search(v),
                 "must not contain a quote (' or \"), a backquote, a backslash, ';', white space or a "
                 "control character such as a newline (choose another folder)")


def _num(value: float) -> str:
    return f"{value:g}"
