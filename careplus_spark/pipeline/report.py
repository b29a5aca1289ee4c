"""Plain-text tables for the terminal (summaries, status, query results)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from careplus_spark.lakehouse import delta
from careplus_spark.lakehouse.tables import TableRef, exists

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Formats rows as an aligned text table; numbers align right."""
    cells = [[_text(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        cells = zip(values, widths, numeric, strict=True)
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), rule, *(line(r) for r in cells)])


def _text(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def format_dataframe(df: DataFrame, limit: int = 50) -> str:
    """The first ``limit`` rows of a DataFrame as a text table."""
    rows = df.limit(limit).collect()
    return format_table(df.columns, [tuple(r) for r in rows])


def table_summary(spark: SparkSession, refs: Sequence[TableRef]) -> list[tuple[str, int, int | None]]:
    """(qualified name, row count, latest Delta version) for the tables that exist."""
    return [(name, count, version) for name, count, version, _ in table_status(spark, refs)]


def table_status(
    spark: SparkSession, refs: Sequence[TableRef]
) -> list[tuple[str, int, int | None, object]]:
    """(qualified name, row count, latest Delta version, last commit time) of existing tables.

    The count is answered from the Delta log's file statistics (a metadata-only
    aggregate), so it does not scan the data files.

    Example:
        >>> table_status(spark, lakehouse_tables(cfg))  # doctest: +SKIP
        [('bronze.logs', 4120, 3, datetime.datetime(2025, 7, 2, 2, 0, 5))]
    """
    status = []
    for ref in refs:
        if not exists(spark, ref):
            continue
        last = delta.last_commit(spark, ref.path)
        count = spark.read.format("delta").load(ref.path).count()
        status.append((ref.qualified, int(count), last.version if last else None, last.timestamp if last else None))
    return status
