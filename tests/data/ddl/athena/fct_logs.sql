-- gold.fct_logs for Athena: a Hive table over the symlink manifests of the Delta table.
-- Partition projection: Athena computes the log_date partitions from 2025-07-01 up to today (UTC) and
-- reads each from s3://careplus-lake/lakehouse/gold/fct_logs/_symlink_format_manifest/log_date=<date>, so new days need no
-- partition loading (no MSCK REPAIR, no Glue partitions). Days without data read as empty.
CREATE EXTERNAL TABLE IF NOT EXISTS `careplus_gold`.`fct_logs` (
  `event_id` STRING,
  `timestamp` TIMESTAMP,
  `log_level` STRING,
  `service` STRING,
  `ticket_id` STRING,
  `session_id` STRING,
  `ip` STRING,
  `response_time_ms` INT,
  `cpu_percent` DOUBLE,
  `event_type` STRING,
  `error` BOOLEAN,
  `user_agent` STRING,
  `trace_id` STRING,
  `log_hour` INT,
  `response_bucket` STRING,
  `cpu_load` STRING,
  `_row_hash` BIGINT,
  `_run_id` STRING,
  `_processed_at` TIMESTAMP
)
PARTITIONED BY (
  `log_date` DATE
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://careplus-lake/lakehouse/gold/fct_logs/_symlink_format_manifest/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.log_date.type'='date',
  'projection.log_date.format'='yyyy-MM-dd',
  'projection.log_date.range'='2025-07-01,NOW',
  'projection.log_date.interval'='1',
  'projection.log_date.interval.unit'='DAYS',
  'storage.location.template'='s3://careplus-lake/lakehouse/gold/fct_logs/_symlink_format_manifest/log_date=${log_date}'
);
