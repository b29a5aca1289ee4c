"""A few rows known on the driver as a DataFrame of typed literals, planned by the JVM alone.

``spark.createDataFrame`` of Python rows serialises them through a Python worker: the first
one of a process starts that worker, and every later one pays the round trip (0.5-0.8 s for
one ledger row, against 0.2 s for the same row as literals over ``spark.range(1)``). The
bookkeeping of every step (ledger rows, cursors) writes its rows through :func:`literal_rows`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

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


def literal(value: object, kind: str) -> Column:
    """``value`` as a Column of Spark SQL type ``kind``; a Mapping becomes a map (empty stays empty).

    Example:
        >>> literal({"a": 1}, "map<string,bigint>")  # doctest: +SKIP
        Column<'CAST(map(a, 1) AS MAP<STRING, BIGINT>)'>
    """
    from pyspark.sql import functions as F

    if isinstance(value, Mapping):
        pairs = [F.lit(part) for item in sorted(value.items()) for part in item]
        return F.create_map(*pairs).cast(kind)
    return F.lit(value).cast(kind)


def literal_rows(spark: SparkSession, rows: Sequence[Mapping[str, object]], schema: Schema) -> DataFrame:
    """``rows`` (values by column name; a missing name is NULL) as a DataFrame of ``schema``.

    Example:
        >>> literal_rows(spark, [{"name": "a", "n": 1}], [("name", "string"), ("n", "bigint")])  # doctest: +SKIP
        DataFrame[name: string, n: bigint]
    """
    if not rows:
        raise ValueError("literal_rows needs at least one row")
    frames = [
        spark.range(1).select(*[literal(row.get(name), kind).alias(name) for name, kind in schema]) for row in rows
    ]
    return functools.reduce(lambda left, right: left.unionByName(right), frames)
