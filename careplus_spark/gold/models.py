"""The gold models of SPEC 3.1 as pure DataFrame transforms (no I/O, no state).

Each function maps its input rows to the model's rows; :mod:`careplus_spark.gold.refresh`
decides which input rows (all of them, or only those a run's changes touch) go in, and
MERGEs the result. ``@gold_model("<table>")`` registers a transform as the model of the
catalog's ``gold.<table>`` (:mod:`careplus_spark.lakehouse.catalog`): it receives the
entry's inputs as DataFrames, in the entry's order, and the named ``gold`` settings
as keyword arguments (plain values, never the configuration). A transform must be *local
to its scope*: the rows of one ticket (or one day) depend only on input rows of that
ticket (or day). That is what makes an incremental run equal a full refresh.

Averages are summed as decimals (exact, so the summation order — which differs between a
full and an incremental run — cannot change them) and stored as doubles, not rounded unless
``gold.average_decimals`` asks for a precision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from careplus_spark.gold import columns as C
from careplus_spark.silver.log_cleaning import SILVER_LOG_COLUMNS
from careplus_spark.silver.ticket_cleaning import SILVER_TICKET_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

FCT_TICKETS_COLUMNS = (
    *SILVER_TICKET_COLUMNS,
    "created_date",
    "created_day_of_week",
    "created_hour",
    "resolution_bucket",
    "sla_target_hours",
    "sla_breached",
)

#: silver.logs columns (without the free text ``message`` / ``debug``) + the derived ones.
FCT_LOGS_COLUMNS = (
    *(c for c in SILVER_LOG_COLUMNS if c not in ("message", "debug")),
    "log_hour",
    "response_bucket",
    "cpu_load",
)

#: Ticket attributes carried into fct_ticket_log_summary.
SUMMARY_TICKET_COLUMNS = (
    "ticket_id",
    "created_at",
    "resolved_at",
    "agent",
    "priority",
    "issue_cat",
    "channel",
    "status",
    "resolution_time_mins",
    "resolution_bucket",
    "is_open",
    "created_date",
)


Transform = Callable[..., "DataFrame"]


@dataclass(frozen=True)
class ModelFunction:
    """A registered gold transform and the ``gold`` settings it takes as keyword arguments."""

    table: str
    transform: Transform
    settings: tuple[str, ...] = ()


#: The registered gold transforms by table name (see :func:`gold_model`).
MODEL_FUNCTIONS: dict[str, ModelFunction] = {}


def gold_model(table: str, settings: tuple[str, ...] = ()) -> Callable[[Transform], Transform]:
    """Registers the decorated transform as the model of ``gold.<table>``; returns it unchanged.

    Example:
        >>> @gold_model("fct_tickets", settings=("sla_hours",))  # doctest: +SKIP
        ... @gold_model("fct_tickets", settings=("sla_hours",))
def fct_tickets(silver: DataFrame, sla_hours: Mapping[str, float]) -> DataFrame: ...
    """

    def register(transform: Transform) -> Transform:
        if table in MODEL_FUNCTIONS:
            raise ValueError(f"gold model {table!r} is registered twice")
        MODEL_FUNCTIONS[table] = ModelFunction(table, transform, settings)
        return transform

    return register


def _mean(col: Column, decimals: int | None) -> Column:
    """The average as a double, summed exactly (as a decimal); rounded only to ``decimals`` if given.

    A double sum depends on the order of its terms, so two computations of the same rows (a
    full and an incremental run) could differ in the last bits; the decimal sum cannot, and
    Spark divides it with 10 more digits than its inputs carry (decimal(20,6) -> scale 10).
    """
    mean = F.avg(col.cast("decimal(20,6)"))
    return (mean if decimals is None else F.round(mean, decimals)).cast("double")


@gold_model("fct_tickets", settings=("sla_hours",))
def fct_tickets(silver: DataFrame, sla_hours: Mapping[str, float]) -> DataFrame:
    """silver.tickets rows -> fct_tickets rows (one per ticket).

    Example:
        >>> fct_tickets(spark.table("silver.tickets"), {"High": 4.0}).columns[-2:]  # doctest: +SKIP
        ['sla_target_hours', 'sla_breached']
    """
    target = C.sla_target_hours(F.col("priority"), sla_hours)
    return silver.select(
        *SILVER_TICKET_COLUMNS,
        F.to_date("created_at").alias("created_date"),
        F.date_format("created_at", "EEEE").alias("created_day_of_week"),
        F.hour("created_at").alias("created_hour"),
        C.resolution_bucket(F.col("resolution_time_mins"), F.col("is_open")).alias("resolution_bucket"),
        target.alias("sla_target_hours"),
        C.sla_breached(F.col("resolution_time_mins"), F.col("is_open"), target).alias("sla_breached"),
    )


@gold_model("fct_logs")
def fct_logs(silver: DataFrame) -> DataFrame:
    """silver.logs rows -> fct_logs rows (one per distinct event, by ``event_id``)."""
    return silver.select(
        *FCT_LOGS_COLUMNS[:-3],
        F.hour("timestamp").alias("log_hour"),
        C.response_bucket(F.col("response_time_ms")).alias("response_bucket"),
        C.cpu_load(F.col("cpu_percent")).alias("cpu_load"),
    )


@gold_model("fct_ticket_log_summary", settings=("average_decimals",))
def fct_ticket_log_summary(tickets: DataFrame, logs: DataFrame, average_decimals: int | None = None) -> DataFrame:
    """fct_tickets + fct_logs -> one row per ticket with its log metrics.

    A ticket without events has ``total_log_events`` and the totals 0, the averages and
    first/last NULL. Events whose ticket is unknown appear in no summary row (the
    ``references`` rule of fct_logs counts them). ``total_errors`` counts error events
    (:func:`~careplus_spark.gold.columns.error_event`); ``total_warnings`` /
    ``total_debug_events`` count levels WARNING / DEBUG.
    """
    per_ticket = (
        logs.where(F.col("ticket_id").isNotNull())
        .groupBy("ticket_id")
        .agg(
            F.count(F.lit(1)).alias("total_log_events"),
            _mean(F.col("response_time_ms"), average_decimals).alias("avg_response_time_ms"),
            F.max("response_time_ms").alias("max_response_time_ms"),
            _mean(F.col("cpu_percent"), average_decimals).alias("avg_cpu_percent"),
            F.sum(C.error_event(F.col("log_level"), F.col("error")).cast("long")).alias("total_errors"),
            F.sum((F.col("log_level") == "WARNING").cast("long")).alias("total_warnings"),
            F.sum((F.col("log_level") == "DEBUG").cast("long")).alias("total_debug_events"),
            F.min("timestamp").alias("first_log_at"),
            F.max("timestamp").alias("last_log_at"),
        )
    )
    zero = F.lit(0).cast("long")
    return (
        tickets.select(*SUMMARY_TICKET_COLUMNS)
        .join(per_ticket, "ticket_id", "left")
        .select(
            *SUMMARY_TICKET_COLUMNS,
            F.coalesce("total_log_events", zero).alias("total_log_events"),
            "avg_response_time_ms",
            "max_response_time_ms",
            "avg_cpu_percent",
            F.coalesce("total_errors", zero).alias("total_errors"),
            F.coalesce("total_warnings", zero).alias("total_warnings"),
            F.coalesce("total_debug_events", zero).alias("total_debug_events"),
            "first_log_at",
            "last_log_at",
        )
    )


def _ticket_measures(decimals: int | None) -> list:  # type: ignore[type-arg]
    resolved = ~F.col("is_open")
    return [
        F.count(F.lit(1)).alias("tickets"),
        F.sum(F.col("is_open").cast("long")).alias("open_tickets"),
        F.sum(resolved.cast("long")).alias("resolved_tickets"),
        _mean(F.when(resolved, F.col("resolution_time_mins")), decimals).alias("avg_resolution_time_mins"),
        F.count(F.col("sla_breached")).alias("sla_evaluated"),
        F.sum(F.col("sla_breached").cast("long")).alias("sla_breaches"),
    ]


def _with_breach_rate(df: DataFrame) -> DataFrame:
    rate = F.when(F.col("sla_evaluated") > 0, F.round(F.col("sla_breaches") / F.col("sla_evaluated"), 4))
    return df.withColumn("sla_breaches", F.coalesce("sla_breaches", F.lit(0).cast("long"))).withColumn(
        "sla_breach_rate", rate
    )


@gold_model("kpi_tickets_daily", settings=("average_decimals",))
def kpi_tickets_daily(tickets: DataFrame, average_decimals: int | None = None) -> DataFrame:
    """Daily ticket KPIs by priority and channel (by the tickets' ``created_date``).

    ``sla_breach_rate`` = breaches / resolved tickets with an SLA verdict (``sla_evaluated``);
    ``open_tickets`` / ``resolved_tickets`` are the tickets' current states. NULL priority
    or channel is grouped as ``Unknown``.
    """
    return _with_breach_rate(
        tickets.groupBy(
            "created_date",
            C.dimension(F.col("priority")).alias("priority"),
            C.dimension(F.col("channel")).alias("channel"),
        ).agg(*_ticket_measures(average_decimals))
    )


@gold_model("kpi_agents_daily", settings=("average_decimals",))
def kpi_agents_daily(tickets: DataFrame, average_decimals: int | None = None) -> DataFrame:
    """Agent performance per day of ticket creation: volume, resolution, interactions, SLA."""
    return _with_breach_rate(
        tickets.groupBy("created_date", C.dimension(F.col("agent")).alias("agent")).agg(
            *_ticket_measures(average_decimals),
            _mean(F.col("num_interactions"), average_decimals).alias("avg_interactions"),
        )
    )


@gold_model("kpi_service_hourly", settings=("average_decimals",))
def kpi_service_hourly(logs: DataFrame, average_decimals: int | None = None) -> DataFrame:
    """Hourly service health: events, error events, error rate, p50/p95 response time.

    Percentiles are exact (``percentile``, linear interpolation) over the events with a
    known response time, so a recomputed hour always gives the same value.
    """
    errors = C.error_event(F.col("log_level"), F.col("error")).cast("long")
    return (
        logs.groupBy("log_date", "log_hour", C.dimension(F.col("service")).alias("service"))
        .agg(
            F.count(F.lit(1)).alias("events"),
            F.sum(errors).alias("error_events"),
            F.expr("percentile(response_time_ms, 0.5)").alias("p50_response_time_ms"),
            F.expr("percentile(response_time_ms, 0.95)").alias("p95_response_time_ms"),
            _mean(F.col("response_time_ms"), average_decimals).alias("avg_response_time_ms"),
        )
        .withColumn("error_rate", F.round(F.col("error_events") / F.col("events"), 4))
    )
