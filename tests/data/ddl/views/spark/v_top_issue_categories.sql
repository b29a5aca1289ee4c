CREATE OR REPLACE VIEW `gold`.`v_top_issue_categories` AS
SELECT
  issue_cat,
  tickets,
  open_tickets,
  resolved_tickets,
  avg_resolution_hours,
  ROUND(CAST(sla_breaches AS DOUBLE) / NULLIF(sla_evaluated, 0), 4) AS sla_breach_rate,
  ROUND(CAST(tickets AS DOUBLE) / NULLIF(SUM(tickets) OVER (), 0), 4) AS share_of_tickets,
  RANK() OVER (ORDER BY tickets DESC) AS category_rank
FROM (
  SELECT
    COALESCE(issue_cat, 'Unknown') AS issue_cat,
    COUNT(*) AS tickets,
    SUM(CASE WHEN is_open THEN 1 ELSE 0 END) AS open_tickets,
    SUM(CASE WHEN is_open THEN 0 ELSE 1 END) AS resolved_tickets,
    ROUND(AVG(CASE WHEN NOT is_open THEN CAST(resolution_time_mins AS DOUBLE) / 60 END), 2) AS avg_resolution_hours,
    COUNT(sla_breached) AS sla_evaluated,
    SUM(CASE WHEN sla_breached THEN 1 ELSE 0 END) AS sla_breaches
  FROM `gold`.`fct_tickets`
  GROUP BY COALESCE(issue_cat, 'Unknown')
) AS categories;
