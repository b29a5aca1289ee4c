-- gold.fct_tickets for Athena (engine v3), read natively as Delta: the schema comes from the Delta log.
CREATE EXTERNAL TABLE `careplus_gold`.`fct_tickets`
LOCATION 's3://careplus-lake/lakehouse/gold/fct_tickets/'
TBLPROPERTIES ('table_type'='DELTA');
