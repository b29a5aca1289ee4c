"""The scope of a gold refresh: which key or date values a run recomputes.

Every gold model is bounded by a *scope column* (catalog ``Model.scope``): ``ticket_id``
for the per-ticket tables, a date for the per-day ones. A run recomputes the scope values
its inputs' changes touch (:func:`plan_scope`), reading only input rows of those values
(:func:`restrict`), or everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from careplus_spark.lakehouse.tables import days_predicate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class Scope:
    """The scope values a run recomputes; ``values`` None means everything.

    ``values`` is a one-column DataFrame (distinct, no NULL for key scopes); date scopes
    are also collected into ``listed`` to prune partitions and files by literal filters.
    """

    column: str
    values: DataFrame | None = None
    listed: tuple[Any, ...] | None = None
    low: Any = None
    high: Any = None
    count: int = 0

    @property
    def everything(self) -> bool:
        return self.values is None

    def describe(self) -> str:
        """``everything`` or ``<n> <column> value(s)``."""
        return "everything" if self.everything else f"{self.count} {self.column} value(s)"


def plan_scope(column: str, by_key: bool, frames: Sequence[DataFrame] | None) -> Scope:
    """The scope of this run: everything (``frames`` None), a listed set of dates, or a cached key set.

    Args:
        column: the scope column.
        by_key: the scope is the model's key (a cached key set), else a date (a list).
        frames: one-column frames of changed scope values (one per changed input).
    """
    if frames is None:
        return Scope(column)
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    values = union.distinct()
    if not by_key:
        listed = tuple(r[0] for r in values.collect())
        return Scope(column, values=values, listed=listed, count=len(listed))
    keys = values.where(F.col(column).isNotNull()).cache()
    stats = keys.agg(F.count(F.lit(1)).alias("n"), F.min(column).alias("lo"), F.max(column).alias("hi")).first()
    return Scope(column, values=keys, low=stats["lo"], high=stats["hi"], count=int(stats["n"]))  # type: ignore[index]


def restrict(df: DataFrame, on: str, scope: Scope) -> DataFrame:
    """Rows of ``df`` whose ``on`` value is in ``scope`` (all rows for a full scope).

    Literal filters come first (a date list, or the key range) so that Delta prunes
    partitions and skips files by their min/max statistics; a key scope then semi-joins
    the (broadcast) key set.
    """
    if scope.everything:
        return df
    if scope.listed is not None:
        return df.where(days_predicate(f"`{on}`", list(scope.listed)))
    if scope.count == 0:
        return df.where(F.lit(False))
    ranged = df.where(F.col(on).between(F.lit(scope.low), F.lit(scope.high)))
    keys = scope.values.withColumnRenamed(scope.column, on)  # type: ignore[union-attr]
    return ranged.join(F.broadcast(keys), on, "left_semi")
