CREATE OR REPLACE VIEW "careplus_views"."v_tickets_enriched" AS
SELECT
  "ticket_id",
  "created_at",
  "updated_at",
  "resolved_at",
  "agent",
  "priority",
  "num_interactions",
  "issue_cat",
  "channel",
  "status",
  "agent_feedback",
  "resolution_time_mins",
  "is_open",
  "created_date",
  "created_day_of_week",
  "created_hour",
  "resolution_bucket",
  "sla_target_hours",
  "sla_breached",
  CASE WHEN NOT is_open THEN ROUND(CAST(resolution_time_mins AS DOUBLE PRECISION) / 60, 2) END AS resolution_hours,
  CASE WHEN is_open THEN DATEDIFF(day, created_date, CAST(GETDATE() AS DATE)) END AS days_open,
  ROUND(CAST(DATEDIFF(second, created_at, GETDATE()) AS DOUBLE PRECISION) / 3600, 2) AS hours_since_created
FROM "careplus"."fct_tickets"
WITH NO SCHEMA BINDING;
