"""The analysts' views (the seeds' dashboard queries), defined once, rendered for three engines.

Each :class:`View` is one query written against a :class:`~careplus_spark.exposure.dialects.SqlDialect`
(the current time, date differences, the week's Monday, casts) and a function that names the
lakehouse tables; :func:`render` turns it into ``CREATE OR REPLACE VIEW`` for Spark SQL (the
local catalog), Athena (Trino) or Redshift (a late-binding view, ``WITH NO SCHEMA BINDING``,
over the Spectrum external schema). Only identifiers are put into the SQL, each checked and
quoted for its engine; no configured value is pasted as text.

- ``v_tickets_enriched``: every ``fct_tickets`` column + ``resolution_hours`` (resolved
  tickets), ``days_open`` (open tickets: whole days since the created date) and
  ``hours_since_created``, computed at query time.
- ``v_top_issue_categories``: per issue category (NULL as ``Unknown``): tickets, open,
  resolved, average resolution hours, SLA breach rate, share of all tickets, rank by tickets.
- ``v_weekly_open_vs_resolved``: per week of creation (its Monday), from ``kpi_tickets_daily``:
  tickets, still open, resolved and the resolved share.
- ``v_agent_leaderboard``: per agent over all days of ``kpi_agents_daily``: tickets, resolved,
  open, resolved share, SLA verdicts, breaches and breach rate, days with tickets, first and
  last day, rank by resolved tickets (1 = most). Sums only: the daily averages cannot be
  combined exactly (the table has no count of the values behind them).
- ``v_service_health_hourly``: ``kpi_service_hourly`` with the hour as a timestamp (``hour_start``).

Times are UTC, as in the tables. Ratios are NULL when their denominator is 0.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from careplus_spark.errors import ExposureError
from careplus_spark.exposure import dialects
from careplus_spark.exposure.dialects import SqlDialect
from careplus_spark.exposure.glue import database_name
from careplus_spark.gold.columns import UNKNOWN
from careplus_spark.gold.models import FCT_TICKETS_COLUMNS
from careplus_spark.lakehouse import registry
from careplus_spark.platform.config_deploy import ExposureConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: ``lakehouse table -> its name in the engine``: ``gold.fct_tickets`` -> ``careplus.fct_tickets``.
TableName = Callable[[str], str]
#: Redshift cannot hold views in an external schema: they go to ``<spectrum_schema><suffix>``.
REDSHIFT_VIEW_SCHEMA_SUFFIX = "_views"


@dataclass(frozen=True)
class View:
    """An analyst view: its name, the lakehouse tables it reads and its query.

    ``query(dialect, table)`` returns the SELECT, naming each input through ``table("gold.x")``.
    """

    name: str
    inputs: tuple[str, ...]
    query: Callable[[SqlDialect, TableName], str]
    database: str = "gold"

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}"


def _tickets_enriched(d: SqlDialect, table: TableName) -> str:
    columns = ",\n  ".join(d.quoting.quote(c, "column name") for c in FCT_TICKETS_COLUMNS)
    return f"""SELECT
  {columns},
  CASE WHEN NOT is_open THEN ROUND(CAST(resolution_time_mins AS {d.double}) / 60, 2) END AS resolution_hours,
  CASE WHEN is_open THEN {d.days_between("created_date", d.today)} END AS days_open,
  ROUND(CAST({d.seconds_between("created_at", d.now)} AS {d.double}) / 3600, 2) AS hours_since_created
FROM {table("gold.fct_tickets")}"""


def _top_issue_categories(d: SqlDialect, table: TableName) -> str:
    category = f"COALESCE(issue_cat, '{UNKNOWN}')"
    return f"""SELECT
  issue_cat,
  tickets,
  open_tickets,
  resolved_tickets,
  avg_resolution_hours,
  ROUND({d.ratio("sla_breaches", "sla_evaluated")}, 4) AS sla_breach_rate,
  ROUND({d.ratio("tickets", "SUM(tickets) OVER ()")}, 4) AS share_of_tickets,
  RANK() OVER (ORDER BY tickets DESC) AS category_rank
FROM (
  SELECT
    {category} AS issue_cat,
    COUNT(*) AS tickets,
    SUM(CASE WHEN is_open THEN 1 ELSE 0 END) AS open_tickets,
    SUM(CASE WHEN is_open THEN 0 ELSE 1 END) AS resolved_tickets,
    ROUND(AVG(CASE WHEN NOT is_open THEN CAST(resolution_time_mins AS {d.double}) / 60 END), 2) AS avg_resolution_hours,
    COUNT(sla_breached) AS sla_evaluated,
    SUM(CASE WHEN sla_breached THEN 1 ELSE 0 END) AS sla_breaches
  FROM {table("gold.fct_tickets")}
  GROUP BY {category}
) AS categories"""


def _weekly_open_vs_resolved(d: SqlDialect, table: TableName) -> str:
    week = d.week_start("created_date")
    return f"""SELECT
  {week} AS week_start,
  SUM(tickets) AS tickets,
  SUM(open_tickets) AS open_tickets,
  SUM(resolved_tickets) AS resolved_tickets,
  ROUND({d.ratio("SUM(resolved_tickets)", "SUM(tickets)")}, 4) AS resolved_share
FROM {table("gold.kpi_tickets_daily")}
GROUP BY {week}"""


def _agent_leaderboard(d: SqlDialect, table: TableName) -> str:
    return f"""SELECT
  agent,
  tickets,
  resolved_tickets,
  open_tickets,
  ROUND({d.ratio("resolved_tickets", "tickets")}, 4) AS resolved_share,
  sla_evaluated,
  sla_breaches,
  ROUND({d.ratio("sla_breaches", "sla_evaluated")}, 4) AS sla_breach_rate,
  active_days,
  first_day,
  last_day,
  RANK() OVER (ORDER BY resolved_tickets DESC) AS leaderboard_rank
FROM (
  SELECT
    agent,
    SUM(tickets) AS tickets,
    SUM(resolved_tickets) AS resolved_tickets,
    SUM(open_tickets) AS open_tickets,
    SUM(sla_evaluated) AS sla_evaluated,
    SUM(sla_breaches) AS sla_breaches,
    COUNT(*) AS active_days,
    MIN(created_date) AS first_day,
    MAX(created_date) AS last_day
  FROM {table("gold.kpi_agents_daily")}
  GROUP BY agent
) AS agents"""


def _service_health_hourly(d: SqlDialect, table: TableName) -> str:
    return f"""SELECT
  log_date,
  log_hour,
  {d.add_hours("log_date", "log_hour")} AS hour_start,
  service,
  events,
  error_events,
  error_rate,
  p50_response_time_ms,
  p95_response_time_ms,
  avg_response_time_ms
FROM {table("gold.kpi_service_hourly")}"""


VIEWS: tuple[View, ...] = (
    View("v_tickets_enriched", ("gold.fct_tickets",), _tickets_enriched),
    View("v_top_issue_categories", ("gold.fct_tickets",), _top_issue_categories),
    View("v_weekly_open_vs_resolved", ("gold.kpi_tickets_daily",), _weekly_open_vs_resolved),
    View("v_agent_leaderboard", ("gold.kpi_agents_daily",), _agent_leaderboard),
    View("v_service_health_hourly", ("gold.kpi_service_hourly",), _service_health_hourly),
)
_BY_NAME = {v.name: v for v in VIEWS}


def view(name: str) -> View:
    """The view called ``name`` (``v_tickets_enriched``).

    Raises:
        ExposureError: no such view (the known ones are listed).
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ExposureError(f"no analyst view {name!r}; known: {', '.join(_BY_NAME)}") from None


def engine_name(names: Mapping[str, str], qualified: str) -> tuple[str, ...]:
    """The engine's name of a lakehouse object: ``names[qualified]``, else ``names[database]`` + name.

    Values may be dotted (``awsdatacatalog.careplus_gold``); each part is checked when quoted.

    Example:
        >>> engine_name({"gold": "careplus"}, "gold.fct_tickets")
        ('careplus', 'fct_tickets')
    """
    if qualified in names:
        return tuple(names[qualified].split("."))
    database, _, name = qualified.partition(".")
    if database not in names:
        raise ExposureError(f"no engine name for {qualified}: the mapping names {sorted(names)}, not {database!r}")
    return (*names[database].split("."), name)


def query(v: View, dialect: str | SqlDialect, names: Mapping[str, str]) -> str:
    """The view's SELECT in ``dialect`` (``spark``, ``athena``, ``redshift``), tables named through ``names``."""
    d = _dialect(dialect)
    return v.query(d, lambda qualified: d.quoting.qualified(engine_name(names, qualified), "table name"))


def render(v: View, dialect: str | SqlDialect, names: Mapping[str, str], *, view_schema: str | None = None) -> str:
    """``CREATE OR REPLACE VIEW <name> AS <query>;`` for one engine.

    Args:
        v: the view.
        dialect: ``spark``, ``athena`` (Trino) or ``redshift``.
        names: lakehouse database (``gold``) or table (``gold.fct_tickets``) -> engine name
            (``careplus_gold``; Redshift: the external schema).
        view_schema: where the view is created; default: ``names`` applied to the view itself.
            Required for Redshift, whose external schemas cannot hold views.

    Raises:
        ExposureError: an unknown dialect, a missing or unquotable name.

    Example:
        >>> print(render(view("v_service_health_hourly"), "athena", {"gold": "careplus_gold"}))  # doctest: +SKIP
        CREATE OR REPLACE VIEW "careplus_gold"."v_service_health_hourly" AS
        SELECT ...
    """
    d = _dialect(dialect)
    if view_schema is not None:
        target = (*view_schema.split("."), v.name)
    elif d is dialects.REDSHIFT_SQL:
        raise ExposureError(f"{v.name}: Redshift needs a view_schema (a local schema; external schemas hold no views)")
    else:
        target = engine_name(names, v.qualified)
    name = d.quoting.qualified(target, "view name")
    return f"CREATE OR REPLACE VIEW {name} AS\n{query(v, d, names)}{d.view_suffix};\n"


def spark_sql(v: View, database_names: Mapping[str, str] | None = None) -> str:
    """The Spark SQL statement (no ``;``) that registers ``v`` in the session's catalog.

    Example:
        >>> spark_sql(view("v_weekly_open_vs_resolved")).splitlines()[0]
        'CREATE OR REPLACE VIEW `gold`.`v_weekly_open_vs_resolved` AS'
    """
    names = database_names if database_names is not None else {"gold": "gold"}
    return render(v, dialects.SPARK_SQL, names).rstrip().rstrip(";")


def available(tables: Collection[str]) -> tuple[View, ...]:
    """The views whose every input is among ``tables`` (qualified lakehouse names)."""
    return tuple(v for v in VIEWS if all(i in tables for i in v.inputs))


def register_spark_views(spark: SparkSession, tables: Collection[str]) -> int:
    """Creates (or replaces) in Spark's catalog every view whose inputs are among ``tables``.

    Returns:
        How many views were registered.

    Example:
        >>> register_spark_views(spark, {"gold.fct_tickets"})  # doctest: +SKIP
        2
    """
    registry.wait_attached()  # the gold database, when the catalog is attached in the background
    views = available(tables)
    for v in views:
        spark.sql(spark_sql(v))
    return len(views)


def ddl_files(target: str, tables: Collection[str], exposure: ExposureConfig) -> dict[str, str]:
    """``gold.<view>.sql`` -> the view for a ``careplus ddl`` target, for the views ``tables`` allow.

    ``athena`` and ``athena-delta``: Trino views in the Glue database
    (``<exposure.glue.database_prefix>gold``). ``spectrum``: Redshift late-binding views over
    ``exposure.spectrum_schema``, created in the local schema ``<spectrum_schema>_views``
    (created if missing).

    Raises:
        ExposureError: an unknown target or a name that cannot be quoted.
    """
    views = available(tables)
    if target in ("athena", "athena-delta"):
        names = {v.database: database_name(exposure.glue.database_prefix, v.database) for v in views}
        return {f"{v.qualified}.sql": render(v, dialects.ATHENA_TRINO, names) for v in views}
    if target == "spectrum":
        schema = exposure.spectrum_schema + REDSHIFT_VIEW_SCHEMA_SUFFIX
        create = f"CREATE SCHEMA IF NOT EXISTS {dialects.REDSHIFT.quote(schema, 'schema name')};\n\n"
        names = {v.database: exposure.spectrum_schema for v in views}
        return {
            f"{v.qualified}.sql": create + render(v, dialects.REDSHIFT_SQL, names, view_schema=schema) for v in views
        }
    raise ExposureError(f"unknown DDL target {target!r}; known: athena, spectrum, athena-delta")


def _dialect(dialect: str | SqlDialect) -> SqlDialect:
    if isinstance(dialect, SqlDialect):
        return dialect
    try:
        return dialects.DIALECTS[dialect]
    except KeyError:
        raise ExposureError(f"unknown SQL dialect {dialect!r}; known: {', '.join(dialects.DIALECTS)}") from None
