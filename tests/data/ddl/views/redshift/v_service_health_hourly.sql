CREATE OR REPLACE VIEW "careplus_views"."v_service_health_hourly" AS
SELECT
  log_date,
  log_hour,
  DATEADD(hour, log_hour, log_date) AS hour_start,
  service,
  events,
  error_events,
  error_rate,
  p50_response_time_ms,
  p95_response_time_ms,
  avg_response_time_ms
FROM "careplus"."kpi_service_hourly"
WITH NO SCHEMA BINDING;
