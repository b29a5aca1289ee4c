CREATE OR REPLACE VIEW "careplus_gold"."v_weekly_open_vs_resolved" AS
SELECT
  date_trunc('week', created_date) AS week_start,
  SUM(tickets) AS tickets,
  SUM(open_tickets) AS open_tickets,
  SUM(resolved_tickets) AS resolved_tickets,
  ROUND(CAST(SUM(resolved_tickets) AS DOUBLE) / NULLIF(SUM(tickets), 0), 4) AS resolved_share
FROM "careplus_gold"."kpi_tickets_daily"
GROUP BY date_trunc('week', created_date);
