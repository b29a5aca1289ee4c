CREATE OR REPLACE VIEW `gold`.`v_service_health_hourly` AS
SELECT
  log_date,
  log_hour,
  timestampadd(HOUR, log_hour, CAST(log_date AS TIMESTAMP)) AS hour_start,
  service,
  events,
  error_events,
  error_rate,
  p50_response_time_ms,
  p95_response_time_ms,
  avg_response_time_ms
FROM `gold`.`kpi_service_hourly`;
