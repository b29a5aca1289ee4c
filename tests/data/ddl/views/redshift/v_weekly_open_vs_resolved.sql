CREATE OR REPLACE VIEW "careplus_views"."v_weekly_open_vs_resolved" AS
SELECT
  CAST(DATE_TRUNC('week', created_date) AS DATE) AS week_start,
  SUM(tickets) AS tickets,
  SUM(open_tickets) AS open_tickets,
  SUM(resolved_tickets) AS resolved_tickets,
  ROUND(CAST(SUM(resolved_tickets) AS DOUBLE PRECISION) / NULLIF(SUM(tickets), 0), 4) AS resolved_share
FROM "careplus"."kpi_tickets_daily"
GROUP BY CAST(DATE_TRUNC('week', created_date) AS DATE)
WITH NO SCHEMA BINDING;
