CREATE OR REPLACE VIEW `gold`.`v_weekly_open_vs_resolved` AS
SELECT
  trunc(created_date, 'WEEK') AS week_start,
  SUM(tickets) AS tickets,
  SUM(open_tickets) AS open_tickets,
  SUM(resolved_tickets) AS resolved_tickets,
  ROUND(CAST(SUM(resolved_tickets) AS DOUBLE) / NULLIF(SUM(tickets), 0), 4) AS resolved_share
FROM `gold`.`kpi_tickets_daily`
GROUP BY trunc(created_date, 'WEEK');
