"""SQL text sent to the tickets source (MySQL, MariaDB, SQLite), safe by construction.

Spark's JDBC source takes its partition predicates and ``dbtable`` sub-queries as SQL
text, so values cannot be bound there. Instead nothing from outside appears as itself:

- **identifiers** (the configured table, key and cursor columns) must match
  :data:`~careplus_spark.platform.config_checks.IDENTIFIER` part by part and are backquoted;
- **key values** become hex literals of their UTF-8 bytes (:func:`literal`), which hold
  only hex digits whatever the key holds (``'``, ``\\``, ``%``, ``--``, a newline);
- **cursor values** are parsed into timestamps and formatted again (:func:`cursor_literal`):
  only digits and ``- : . T Z`` and a space reach the SQL.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from careplus_spark.errors import ConfigError, DataError
from careplus_spark.platform.config_checks import IDENTIFIER

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def quote(name: str) -> str:
    """A backtick-quoted identifier, each part of ``db.table`` on its own (MySQL, MariaDB, SQLite).

    Example:
        >>> quote("crm.support_tickets")
        '`crm`.`support_tickets`'

    Raises:
        ConfigError: a part is not an identifier (the configuration checks refuse such names first).
    """
    parts = name.split(".")
    for part in parts:
        if not IDENTIFIER.fullmatch(part):
            raise ConfigError(f"{name!r} is not a valid source table or column name (each part: {IDENTIFIER.pattern})")
    return ".".join(f"`{part}`" for part in parts)


def literal(value: Any, kind: str) -> str:
    """A key value as a SQL literal that cannot end early, whatever it holds.

    Numbers are written bare (finite ones only). Text never appears as itself: MySQL and
    MariaDB get its UTF-8 bytes as a hex literal with a character set introducer
    (``_utf8mb4 X'...'``: a coercible literal, compared in the key column's collation);
    SQLite gets ``CAST(X'...' AS TEXT)``; any other dialect a standard literal with ``'``
    doubled, refusing backslashes and control characters.

    Example:
        >>> literal("O'Brien", "mysql")
        "_utf8mb4 X'4f27427269656e'"
        >>> literal("O'Brien", "sqlite")
        "CAST(X'4f27427269656e' AS TEXT)"

    Raises:
        DataError: the value is None, a boolean, a non-finite number, or text another dialect cannot take.
    """
    if isinstance(value, bool) or value is None:
        raise DataError(f"cannot use {value!r} as a SQL boundary value")
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DataError(f"cannot use {value!r} as a SQL boundary value")
        return repr(float(value))
    data = str(value).encode("utf-8").hex()
    if kind in ("mysql", "mariadb"):
        return f"_utf8mb4 X'{data}'"
    if kind == "sqlite":
        return f"CAST(X'{data}' AS TEXT)"
    text = str(value)
    if "\\" in text or _CONTROL.search(text):
        raise DataError(f"the key value {text!r} holds a backslash or a control character: no safe literal for {kind}")
    return "'" + text.replace("'", "''") + "'"


def cursor_literal(text: str) -> str:
    """A cursor value as a SQL literal: parsed into a timestamp and formatted again, never echoed.

    Only digits, ``-``, ``:``, ``.``, a space or ``T`` (and a trailing ``Z``) can reach the SQL.

    Example:
        >>> cursor_literal("2025-07-01 10:00:00.250000")
        "'2025-07-01 10:00:00.250000'"

    Raises:
        DataError: the value is not a timestamp.
    """
    return "'" + format_cursor(parse_cursor(text), text) + "'"


def parse_cursor(text: str) -> dt.datetime:
    """A cursor value as the source wrote it (``2025-07-01 10:00:00[.ffffff]``).

    Raises:
        DataError: the value is not a timestamp.
    """
    try:
        return dt.datetime.fromisoformat(text.strip().replace("T", " ").removesuffix("Z"))
    except ValueError:
        raise DataError(f"cursor value {text!r} is not a timestamp (yyyy-MM-dd HH:mm:ss[.ffffff])") from None


def format_cursor(value: dt.datetime, like: str) -> str:
    """``value`` in the same text form as ``like``: its separator (space or ``T``), as many
    fraction digits (none without a fraction) and a trailing ``Z`` when it has one.

    Example:
        >>> format_cursor(dt.datetime(2025, 7, 1, 10, 0, 0, 250000), "2025-06-30T00:00:00.000Z")
        '2025-07-01T10:00:00.250Z'
    """
    like = like.strip()
    separator = "T" if "T" in like else " "
    text = value.strftime(f"%Y-%m-%d{separator}%H:%M:%S")
    fraction = re.search(r"\.(\d+)", like)
    if fraction:
        text += "." + value.strftime("%f")[: min(6, len(fraction.group(1)))]
    return text + ("Z" if like.endswith("Z") else "")
