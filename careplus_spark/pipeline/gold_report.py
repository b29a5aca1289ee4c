"""A short gold report for the terminal: ticket KPIs by priority and the slowest services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from careplus_spark.lakehouse import catalog, tables
from careplus_spark.pipeline.report import format_table

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from careplus_spark.platform.config import AppConfig

#: Ticket KPIs over all days, re-aggregated from the daily table (weighted, not averaged).
TICKET_KPIS = """
SELECT priority,
       SUM(tickets) AS tickets,
       SUM(open_tickets) AS open,
       SUM(resolved_tickets) AS resolved,
       ROUND(SUM(avg_resolution_time_mins * resolved_tickets)
             / NULLIF(SUM(CASE WHEN avg_resolution_time_mins IS NOT NULL THEN resolved_tickets END), 0) / 60, 1)
         AS avg_resolution_h,
       ROUND(100 * SUM(sla_breaches) / NULLIF(SUM(sla_evaluated), 0), 1) AS sla_breach_pct
FROM {kpis}
GROUP BY priority
ORDER BY CASE priority WHEN 'High' THEN 1 WHEN 'Medium' THEN 2 WHEN 'Low' THEN 3 ELSE 4 END
"""

SLOWEST_SERVICES = """
SELECT service,
       COUNT(*) AS events,
       ROUND(100 * AVG(CASE WHEN error OR log_level = 'ERROR' THEN 1.0 ELSE 0.0 END), 1) AS error_pct,
       CAST(percentile_approx(response_time_ms, 0.5) AS INT) AS p50_ms,
       CAST(percentile_approx(response_time_ms, 0.95) AS INT) AS p95_ms
FROM {logs}
GROUP BY service
ORDER BY p95_ms DESC NULLS LAST, service
"""


def gold_report(spark: SparkSession, cfg: AppConfig, limit: int = 5) -> list[str]:
    """Text blocks: ticket KPIs by priority, then the ``limit`` slowest services by p95.

    Example:
        >>> print("\\n".join(gold_report(spark, load_config("local"))))  # doctest: +SKIP
        Ticket KPIs (all days)
        priority  tickets  open  resolved  avg_resolution_h  sla_breach_pct
        ...
    """
    blocks = []
    kpis = catalog.KPI_TICKETS_DAILY.ref(cfg.lakehouse.root)
    logs = catalog.FCT_LOGS.ref(cfg.lakehouse.root)
    if tables.exists(spark, kpis):
        df = spark.sql(TICKET_KPIS, kpis=spark.read.format("delta").load(kpis.path))
        blocks.append("Ticket KPIs (all days)\n" + format_table(df.columns, [tuple(r) for r in df.collect()]))
    if tables.exists(spark, logs):
        df = spark.sql(SLOWEST_SERVICES, logs=spark.read.format("delta").load(logs.path)).limit(int(limit))
        blocks.append(f"Slowest services (p95 response time, top {limit})\n"
                      + format_table(df.columns, [tuple(r) for r in df.collect()]))
    return blocks
