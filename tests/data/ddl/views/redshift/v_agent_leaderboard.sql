CREATE OR REPLACE VIEW "careplus_views"."v_agent_leaderboard" AS
SELECT
  agent,
  tickets,
  resolved_tickets,
  open_tickets,
  ROUND(CAST(resolved_tickets AS DOUBLE PRECISION) / NULLIF(tickets, 0), 4) AS resolved_share,
  sla_evaluated,
  sla_breaches,
  ROUND(CAST(sla_breaches AS DOUBLE PRECISION) / NULLIF(sla_evaluated, 0), 4) AS sla_breach_rate,
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
  FROM "careplus"."kpi_agents_daily"
  GROUP BY agent
) AS agents
WITH NO SCHEMA BINDING;
