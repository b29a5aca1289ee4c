"""Hand-written exposed tables whose columns are the real gold schemas (as the Delta logs have them).

Types are Spark ``simpleString()`` forms, as :func:`careplus_spark.exposure.manifests.describe`
produces them; the columns come in table order, partition columns left out.
"""

from __future__ import annotations

from careplus_spark.exposure.model import Column, ExposedTable, Partition

LOCATION = "s3://careplus-lake/lakehouse/gold"

#: The bookkeeping columns every gold table ends with.
BOOKKEEPING = (Column("_row_hash", "bigint"), Column("_run_id", "string"), Column("_processed_at", "timestamp"))

FCT_TICKETS = ExposedTable(
    database="gold",
    name="fct_tickets",
    columns=(
        Column("ticket_id", "string"),
        Column("created_at", "timestamp"),
        Column("updated_at", "timestamp"),
        Column("resolved_at", "timestamp"),
        Column("agent", "string"),
        Column("priority", "string"),
        Column("num_interactions", "int"),
        Column("issue_cat", "string"),
        Column("channel", "string"),
        Column("status", "string"),
        Column("agent_feedback", "string"),
        Column("resolution_time_mins", "int"),
        Column("created_date", "date"),
        Column("created_day_of_week", "string"),
        Column("created_hour", "int"),
        Column("resolution_bucket", "string"),
        Column("sla_target_hours", "double"),
        Column("sla_breached", "boolean"),
        *BOOKKEEPING,
    ),
    partition_columns=(Column("is_open", "boolean"),),
    location=f"{LOCATION}/fct_tickets",
    partitions=(
        Partition(("false",), f"{LOCATION}/fct_tickets/_symlink_format_manifest/is_open=false"),
        Partition(("true",), f"{LOCATION}/fct_tickets/_symlink_format_manifest/is_open=true"),
    ),
)

_LOGS_MANIFEST = f"{LOCATION}/fct_logs/_symlink_format_manifest"

FCT_LOGS = ExposedTable(
    database="gold",
    name="fct_logs",
    columns=(
        Column("event_id", "string"),
        Column("timestamp", "timestamp"),
        Column("log_level", "string"),
        Column("service", "string"),
        Column("ticket_id", "string"),
        Column("session_id", "string"),
        Column("ip", "string"),
        Column("response_time_ms", "int"),
        Column("cpu_percent", "double"),
        Column("event_type", "string"),
        Column("error", "boolean"),
        Column("user_agent", "string"),
        Column("trace_id", "string"),
        Column("log_hour", "int"),
        Column("response_bucket", "string"),
        Column("cpu_load", "string"),
        *BOOKKEEPING,
    ),
    partition_columns=(Column("log_date", "date"),),
    location=f"{LOCATION}/fct_logs",
    partitions=(
        Partition(("2025-07-01",), f"{_LOGS_MANIFEST}/log_date=2025-07-01"),
        Partition(("2025-07-02",), f"{_LOGS_MANIFEST}/log_date=2025-07-02"),
    ),
)

TABLES = {"fct_tickets": FCT_TICKETS, "fct_logs": FCT_LOGS}
