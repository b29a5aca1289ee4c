CREATE OR REPLACE VIEW "careplus_gold"."v_service_health_hourly" AS
SELECT
  log_date,
  log_hour,
  date_add('hour', log_hour, CAST(log_date AS timestamp(3))) AS hour_start,
  service,
  events,
  error_events,
  error_rate,
  p50_response_time_ms,
  p95_response_time_ms,
  avg_response_time_ms
FROM "careplus_gold"."kpi_service_hourly";
