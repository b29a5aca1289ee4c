-- gold.fct_tickets for Athena: a Hive table over the symlink manifests of the Delta table.
-- Partition projection: Athena reads the is_open=true and is_open=false partitions from
-- s3://careplus-lake/lakehouse/gold/fct_tickets/_symlink_format_manifest/is_open=<value>, with no partition loading
-- (no MSCK REPAIR, no Glue partitions). A value without data reads as empty.
CREATE EXTERNAL TABLE IF NOT EXISTS `careplus_gold`.`fct_tickets` (
  `ticket_id` STRING,
  `created_at` TIMESTAMP,
  `updated_at` TIMESTAMP,
  `resolved_at` TIMESTAMP,
  `agent` STRING,
  `priority` STRING,
  `num_interactions` INT,
  `issue_cat` STRING,
  `channel` STRING,
  `status` STRING,
  `agent_feedback` STRING,
  `resolution_time_mins` INT,
  `created_date` DATE,
  `created_day_of_week` STRING,
  `created_hour` INT,
  `resolution_bucket` STRING,
  `sla_target_hours` DOUBLE,
  `sla_breached` BOOLEAN,
  `_row_hash` BIGINT,
  `_run_id` STRING,
  `_processed_at` TIMESTAMP
)
PARTITIONED BY (
  `is_open` BOOLEAN
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://careplus-lake/lakehouse/gold/fct_tickets/_symlink_format_manifest/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.is_open.type'='enum',
  'projection.is_open.values'='true,false',
  'storage.location.template'='s3://careplus-lake/lakehouse/gold/fct_tickets/_symlink_format_manifest/is_open=${is_open}'
);
