-- gold.fct_tickets for Redshift Spectrum: a Hive table over the symlink manifests of the Delta table,
-- in an external schema over the Glue database.
CREATE EXTERNAL SCHEMA IF NOT EXISTS "careplus"
FROM DATA CATALOG DATABASE 'careplus_gold'
IAM_ROLE 'arn:aws:iam::123456789012:role/careplus-spectrum'
CREATE EXTERNAL DATABASE IF NOT EXISTS;

CREATE EXTERNAL TABLE "careplus"."fct_tickets" (
  "ticket_id" VARCHAR(65535),
  "created_at" TIMESTAMP,
  "updated_at" TIMESTAMP,
  "resolved_at" TIMESTAMP,
  "agent" VARCHAR(65535),
  "priority" VARCHAR(65535),
  "num_interactions" INTEGER,
  "issue_cat" VARCHAR(65535),
  "channel" VARCHAR(65535),
  "status" VARCHAR(65535),
  "agent_feedback" VARCHAR(65535),
  "resolution_time_mins" INTEGER,
  "created_date" DATE,
  "created_day_of_week" VARCHAR(65535),
  "created_hour" INTEGER,
  "resolution_bucket" VARCHAR(65535),
  "sla_target_hours" DOUBLE PRECISION,
  "sla_breached" BOOLEAN,
  "_row_hash" BIGINT,
  "_run_id" VARCHAR(65535),
  "_processed_at" TIMESTAMP
)
PARTITIONED BY (
  "is_open" BOOLEAN
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://careplus-lake/lakehouse/gold/fct_tickets/_symlink_format_manifest/';

ALTER TABLE "careplus"."fct_tickets" ADD IF NOT EXISTS PARTITION ("is_open"='false') LOCATION 's3://careplus-lake/lakehouse/gold/fct_tickets/_symlink_format_manifest/is_open=false/';
ALTER TABLE "careplus"."fct_tickets" ADD IF NOT EXISTS PARTITION ("is_open"='true') LOCATION 's3://careplus-lake/lakehouse/gold/fct_tickets/_symlink_format_manifest/is_open=true/';
