"""A few rows known on the driver as a DataFrame, planned by the JVM alone in a few calls.

``spark.createDataFrame`` of Python rows serialises them through a Python worker: the first
one of a process starts that worker, and every later one pays the round trip (0.5-0.8 s for
one ledger row). A literal per value avoids the worker but costs a few Py4J calls each
(1.7 s for the 40 rows of a log ledger update). :func:`literal_rows` sends the rows as one
JSON text, parsed by ``from_json`` into the schema's types (``FAILFAST``: a value that does
not fit its type raises) and exploded by ``inline``: three calls, however many rows. The
bookkeeping of every step (ledger rows, cursors, file ledger, DQ results) writes its rows
through it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from careplus_spark.lakehouse import registry

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: A table's columns as ``(name, Spark SQL type)``, e.g. ``("versions", "MAP<STRING,BIGINT>")``.
Schema = Sequence[tuple[str, str]]


def parse_schema(ddl: str) -> list[tuple[str, str]]:
    """``(name, type)`` pairs of a DDL column list whose types hold no comma outside ``<>``.

    Example:
        >>> parse_schema("run_id string, versions map<string,bigint>, seconds double")
        [('run_id', 'string'), ('versions', 'map<string,bigint>'), ('seconds', 'double')]
    """
    columns, depth, start = [], 0, 0
    for index, char in enumerate(ddl + ","):
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            name, kind = ddl[start:index].strip().split(None, 1)
            columns.append((name, kind.strip()))
            start = index + 1
    return columns


def json_value(value: object) -> object:
    """``value`` as ``from_json`` reads it back in its Spark type.

    A datetime becomes ISO text with its UTC offset (a naive one is local time, as PySpark
    reads a naive datetime), a date ``YYYY-MM-DD``; mappings and sequences convert inside.

    Example:
        >>> json_value({"d": dt.date(2025, 7, 1), "t": dt.datetime(2025, 7, 1, 2, 3, tzinfo=dt.timezone.utc)})
        {'d': '2025-07-01', 't': '2025-07-01T02:03:00+00:00'}
    """
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.astimezone()).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def literal_rows(spark: SparkSession, rows: Sequence[Mapping[str, object]], schema: Schema) -> DataFrame:
    """``rows`` (values by column name; a missing name is NULL) as a DataFrame of ``schema``.

    Example:
        >>> literal_rows(spark, [{"name": "a", "n": 1}], [("name", "string"), ("n", "bigint")])  # doctest: +SKIP
        DataFrame[name: string, n: bigint]

    Raises:
        ValueError: no rows, or a name of ``schema`` that is not a plain identifier.
    """
    from pyspark.sql import functions as F

    if not rows:
        raise ValueError("literal_rows needs at least one row")
    bad = [name for name, _ in schema if not registry.NAME_PATTERN.fullmatch(name)]
    if bad:
        raise ValueError(f"literal_rows: column names must be plain identifiers, got {bad}")
    struct = ",".join(f"`{name}`:{kind}" for name, kind in schema)
    text = json.dumps([{name: json_value(row.get(name)) for name, _ in schema} for row in rows], allow_nan=True)
    parsed = F.from_json(F.lit(text), f"array<struct<{struct}>>", {"mode": "FAILFAST"})
    return spark.range(1).select(F.inline(parsed))
