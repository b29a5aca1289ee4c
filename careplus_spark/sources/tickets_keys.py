"""The source's key set alone, for delete reconciliation (:mod:`careplus_spark.bronze.reconcile`).

Only the key column crosses the network: a ``COUNT(*)`` sizes the read, then a key-only
sub-query is read in key ranges exactly like a full load
(:mod:`careplus_spark.sources.tickets_extract`), answered by MySQL from the primary key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from careplus_spark.platform.config import TicketsSourceConfig
from careplus_spark.sources.jdbc import dialect
from careplus_spark.sources.tickets_extract import (
    ReadPlan,
    jdbc_query,
    key_boundaries,
    partition_count,
    quote,
    range_predicates,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

KEYS_ALIAS = "k"


def count_rows(spark: SparkSession, source: TicketsSourceConfig) -> int:
    """Rows in the source table (one driver-side ``COUNT(*)``, answered from an index).

    Example:
        >>> count_rows(spark, cfg.sources.tickets)  # doctest: +SKIP
        1000000
    """
    row = jdbc_query(spark, source, f"SELECT COUNT(*) AS n FROM {quote(source.table)}")[0]
    return int(row["n"] or 0)


def plan_keys(spark: SparkSession, source: TicketsSourceConfig, rows: int) -> ReadPlan:
    """The read of every key and nothing else, in key ranges (delete reconciliation).

    The sub-query selects the key column only (``(SELECT `ticket_id` FROM `t`) k``): MySQL
    answers it from an index, without touching a row, and only keys cross the network.
    ``rows`` (the table's row count) sizes the partitions as for a full load: key ranges
    whatever ``partition_by`` says (only the key is selected), one range below
    ``partition_min_rows`` per partition, none at all with ``partition_by: none``.

    Example:
        >>> plan_keys(spark, cfg.sources.tickets, 1_000_000).predicates  # doctest: +SKIP
        ("`ticket_id` < 'TCK0209010' OR `ticket_id` IS NULL", "`ticket_id` >= 'TCK0209010'")
    """
    kind = dialect(source.url)
    dbtable = f"(SELECT {quote(source.key_column)} FROM {quote(source.table)}) {KEYS_ALIAS}"
    count = partition_count(rows, source.num_partitions, source.partition_min_rows)
    if count == 1 or source.partition_by == "none":
        return ReadPlan(dbtable, ("1=1",), "none")
    bounds = key_boundaries(spark, source, rows, count)
    return ReadPlan(dbtable, range_predicates(source.key_column, bounds, kind), "key")
