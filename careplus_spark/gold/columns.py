"""Derived gold columns as ``Column -> Column`` helpers; every bucket edge in one place.

Buckets follow SPEC 3.1 exactly; a NULL input gives a NULL bucket:

- ``resolution_bucket`` (minutes): ``Under 1 hour`` < 60 <= ``Under 1 day`` < 1,440 <=
  ``Under 3 days`` < 4,320 <= ``Over 3 days``; NULL while the ticket is open.
- ``response_bucket`` (ms): ``Fast`` < 500 <= ``Normal`` < 1,000 <= ``Slow``.
- ``cpu_load`` (%): ``Low`` < 50 <= ``Medium`` < 80 <= ``High``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

if TYPE_CHECKING:
    from pyspark.sql import Column

RESOLUTION_BUCKETS = ("Under 1 hour", "Under 1 day", "Under 3 days", "Over 3 days")
RESPONSE_BUCKETS = ("Fast", "Normal", "Slow")
CPU_LOADS = ("Low", "Medium", "High")
#: KPI dimension value standing for a NULL (unknown) attribute, so dashboards group it.
UNKNOWN = "Unknown"


def resolution_bucket(minutes: Column, is_open: Column) -> Column:
    """The resolution-time bucket; NULL while open or when the time is unknown.

    Example:
        >>> df.select(resolution_bucket(F.col("resolution_time_mins"), F.col("is_open")))  # doctest: +SKIP
    """
    return (
        F.when(is_open | minutes.isNull(), F.lit(None).cast("string"))
        .when(minutes < 60, F.lit(RESOLUTION_BUCKETS[0]))
        .when(minutes < 24 * 60, F.lit(RESOLUTION_BUCKETS[1]))
        .when(minutes < 3 * 24 * 60, F.lit(RESOLUTION_BUCKETS[2]))
        .otherwise(F.lit(RESOLUTION_BUCKETS[3]))
    )


def response_bucket(ms: Column) -> Column:
    """``Fast`` / ``Normal`` / ``Slow`` response time; NULL when unknown."""
    return (
        F.when(ms.isNull(), F.lit(None).cast("string"))
        .when(ms < 500, F.lit(RESPONSE_BUCKETS[0]))
        .when(ms < 1000, F.lit(RESPONSE_BUCKETS[1]))
        .otherwise(F.lit(RESPONSE_BUCKETS[2]))
    )


def cpu_load(percent: Column) -> Column:
    """``Low`` / ``Medium`` / ``High`` CPU load; NULL when unknown."""
    return (
        F.when(percent.isNull(), F.lit(None).cast("string"))
        .when(percent < 50, F.lit(CPU_LOADS[0]))
        .when(percent < 80, F.lit(CPU_LOADS[1]))
        .otherwise(F.lit(CPU_LOADS[2]))
    )


def sla_target_hours(priority: Column, targets: Mapping[str, float]) -> Column:
    """The SLA target of a priority (``gold.sla_hours``); NULL for a priority without one."""
    result = F.lit(None).cast("double")
    for name, hours in sorted(targets.items()):
        result = F.when(priority == F.lit(name), F.lit(float(hours))).otherwise(result)
    return result


def sla_breached(minutes: Column, is_open: Column, target_hours: Column) -> Column:
    """True when a resolved ticket took longer than its target; NULL while open or unknown.

    Open tickets get no verdict (they may still make it), so gold depends on the data
    alone and an incremental run equals a full refresh at any time.
    """
    known = (~is_open) & minutes.isNotNull() & target_hours.isNotNull()
    return F.when(known, minutes > target_hours * 60).otherwise(F.lit(None).cast("boolean"))


def error_event(level: Column, error: Column) -> Column:
    """An error event: level ``ERROR`` or the ``Error=`` flag set (either is enough)."""
    return F.coalesce(level == F.lit("ERROR"), F.lit(False)) | F.coalesce(error, F.lit(False))


def dimension(col: Column) -> Column:
    """A KPI grouping attribute with NULL shown as :data:`UNKNOWN`."""
    return F.coalesce(col, F.lit(UNKNOWN))
