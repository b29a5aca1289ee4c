-- gold.fct_logs for Athena (engine v3), read natively as Delta: the schema comes from the Delta log.
CREATE EXTERNAL TABLE `careplus_gold`.`fct_logs`
LOCATION 's3://careplus-lake/lakehouse/gold/fct_logs/'
TBLPROPERTIES ('table_type'='DELTA');
