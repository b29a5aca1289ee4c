-- gold.fct_logs for Redshift Spectrum: a Hive table over the symlink manifests of the Delta table,
-- in an external schema over the Glue database.
CREATE EXTERNAL SCHEMA IF NOT EXISTS "careplus"
FROM DATA CATALOG DATABASE 'careplus_gold'
IAM_ROLE 'arn:aws:iam::123456789012:role/careplus-spectrum'
CREATE EXTERNAL DATABASE IF NOT EXISTS;

CREATE EXTERNAL TABLE "careplus"."fct_logs" (
  "event_id" VARCHAR(65535),
  "timestamp" TIMESTAMP,
  "log_level" VARCHAR(65535),
  "service" VARCHAR(65535),
  "ticket_id" VARCHAR(65535),
  "session_id" VARCHAR(65535),
  "ip" VARCHAR(65535),
  "response_time_ms" INTEGER,
  "cpu_percent" DOUBLE PRECISION,
  "event_type" VARCHAR(65535),
  "error" BOOLEAN,
  "user_agent" VARCHAR(65535),
  "trace_id" VARCHAR(65535),
  "log_hour" INTEGER,
  "response_bucket" VARCHAR(65535),
  "cpu_load" VARCHAR(65535),
  "_row_hash" BIGINT,
  "_run_id" VARCHAR(65535),
  "_processed_at" TIMESTAMP
)
PARTITIONED BY (
  "log_date" DATE
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://careplus-lake/lakehouse/gold/fct_logs/_symlink_format_manifest/';

ALTER TABLE "careplus"."fct_logs" ADD IF NOT EXISTS PARTITION ("log_date"='2025-07-01') LOCATION 's3://careplus-lake/lakehouse/gold/fct_logs/_symlink_format_manifest/log_date=2025-07-01/';
ALTER TABLE "careplus"."fct_logs" ADD IF NOT EXISTS PARTITION ("log_date"='2025-07-02') LOCATION 's3://careplus-lake/lakehouse/gold/fct_logs/_symlink_format_manifest/log_date=2025-07-02/';
