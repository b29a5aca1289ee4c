"""Glue ``TableInput``/``PartitionInput`` built from exposed tables: exact, whole, and typed for Hive."""

from __future__ import annotations

import pytest

from careplus_spark.errors import ConfigError
from careplus_spark.exposure import glue
from careplus_spark.exposure.model import Column, ExposedTable, Partition

SERDE = {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}
INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

TICKETS = ExposedTable(
    database="gold",
    name="fct_tickets",
    columns=(
        Column("ticket_id", "bigint"),
        Column("priority", "string"),
        Column("created_at", "timestamp"),
        Column("created_date", "date"),
        Column("created_hour", "int"),
        Column("sla_target_hours", "double"),
        Column("sla_breached", "boolean"),
        Column("amount", "decimal(20,6)"),
    ),
    partition_columns=(),
    location="s3://bucket/lake/gold/fct_tickets",
)
LOGS_LOCATION = "s3://bucket/lake/gold/fct_logs"
LOGS = ExposedTable(
    database="gold",
    name="fct_logs",
    columns=(Column("event_id", "string"), Column("response_time_ms", "int"), Column("tags", "array<string>")),
    partition_columns=(Column("log_date", "date"),),
    location=LOGS_LOCATION,
    partitions=(
        Partition(("2025-07-01",), f"{LOGS_LOCATION}/_symlink_format_manifest/log_date=2025-07-01"),
        Partition(("2025-07-02",), f"{LOGS_LOCATION}/_symlink_format_manifest/log_date=2025-07-02"),
    ),
)
LOGS_COLUMNS = [
    {"Name": "event_id", "Type": "string"},
    {"Name": "response_time_ms", "Type": "int"},
    {"Name": "tags", "Type": "array<string>"},
]


def test_an_unpartitioned_table_input_is_a_whole_symlink_manifest_definition() -> None:
    assert glue.table_input(TICKETS) == {
        "Name": "fct_tickets",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "EXTERNAL": "TRUE",
            "classification": "parquet",
            "careplus.managed": "true",
            "careplus.source": "gold.fct_tickets",
            "careplus.delta_location": "s3://bucket/lake/gold/fct_tickets",
        },
        "StorageDescriptor": {
            "Columns": [
                {"Name": "ticket_id", "Type": "bigint"},
                {"Name": "priority", "Type": "string"},
                {"Name": "created_at", "Type": "timestamp"},
                {"Name": "created_date", "Type": "date"},
                {"Name": "created_hour", "Type": "int"},
                {"Name": "sla_target_hours", "Type": "double"},
                {"Name": "sla_breached", "Type": "boolean"},
                {"Name": "amount", "Type": "decimal(20,6)"},
            ],
            "Location": "s3://bucket/lake/gold/fct_tickets/_symlink_format_manifest/",
            "InputFormat": INPUT_FORMAT,
            "OutputFormat": OUTPUT_FORMAT,
            "SerdeInfo": SERDE,
            "AdditionalLocations": ["s3://bucket/lake/gold/fct_tickets"],
        },
        "PartitionKeys": [],
    }


def test_a_partitioned_table_input_has_its_partition_keys_outside_the_columns() -> None:
    found = glue.table_input(LOGS)
    assert found["PartitionKeys"] == [{"Name": "log_date", "Type": "date"}]
    assert found["StorageDescriptor"]["Columns"] == LOGS_COLUMNS
    assert found["StorageDescriptor"]["Location"] == f"{LOGS_LOCATION}/_symlink_format_manifest/"
    assert found["StorageDescriptor"]["AdditionalLocations"] == [LOGS_LOCATION]


def test_a_partition_input_points_at_its_manifest_folder_with_the_table_formats() -> None:
    assert [glue.partition_input(LOGS, p) for p in LOGS.partitions] == [
        {
            "Values": [day],
            "StorageDescriptor": {
                "Columns": LOGS_COLUMNS,
                "Location": f"{LOGS_LOCATION}/_symlink_format_manifest/log_date={day}/",
                "InputFormat": INPUT_FORMAT,
                "OutputFormat": OUTPUT_FORMAT,
                "SerdeInfo": SERDE,
            },
        }
        for day in ("2025-07-01", "2025-07-02")
    ]


def test_a_partition_without_one_value_per_partition_column_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"gold\.fct_logs: partition \['a', 'b'\]"):
        glue.partition_input(LOGS, Partition(("a", "b"), f"{LOGS_LOCATION}/_symlink_format_manifest/x"))


def glue_type(spark_type: str) -> str:
    """The Glue column type ``table_input`` gives a column of ``spark_type``."""
    table = ExposedTable("gold", "t", (Column("c", spark_type),), (), LOGS_LOCATION)
    return str(glue.table_input(table)["StorageDescriptor"]["Columns"][0]["Type"])


@pytest.mark.parametrize(
    ("spark", "hive"),
    [
        ("string", "string"),
        ("boolean", "boolean"),
        ("tinyint", "tinyint"),
        ("smallint", "smallint"),
        ("int", "int"),
        ("bigint", "bigint"),
        ("float", "float"),
        ("double", "double"),
        ("decimal(38,0)", "decimal(38,0)"),
        ("decimal(20,6)", "decimal(20,6)"),
        ("date", "date"),
        ("timestamp", "timestamp"),
        ("timestamp_ntz", "timestamp"),
        ("binary", "binary"),
        ("char(10)", "string"),
        ("long", "bigint"),  # the Delta log's JSON names
        ("array<string>", "array<string>"),
        ("map<string,bigint>", "map<string,bigint>"),
        ("struct<code:int,reason:string>", "struct<code:int,reason:string>"),
        ("array<struct<at:timestamp,tags:map<string,array<decimal(10,2)>>>>",
         "array<struct<at:timestamp,tags:map<string,array<decimal(10,2)>>>>"),
        ("struct<`Date`:date>", "struct<date:date>"),  # Glue and Hive keep names lower-case
    ],
)
def test_spark_types_map_to_lower_case_hive_types(spark: str, hive: str) -> None:
    assert glue_type(spark) == hive


@pytest.mark.parametrize(
    "spark",
    [
        "void",
        "variant",
        "interval day to second",
        "decimal(39,0)",
        "decimal(5,6)",
        "map<array<int>,string>",
        "struct<a:int,... 3 more fields>",  # simpleString truncated by spark.sql.debug.maxToStringFields
        "struct<`a b`:int>",
        "array<int",
        "array<int>>",
        "",
    ],
)
def test_types_without_a_hive_equivalent_are_refused(spark: str) -> None:
    with pytest.raises(ConfigError, match=r"gold\.t: column 'c' has type"):
        glue_type(spark)


def test_a_column_of_an_unmappable_type_fails_naming_table_column_and_type() -> None:
    table = ExposedTable("gold", "fct_logs", (Column("seen_at", "interval day"),), (), LOGS_LOCATION)
    with pytest.raises(ConfigError, match=r"gold\.fct_logs: column 'seen_at' has type 'interval day'"):
        glue.table_input(table)


def test_an_unmappable_partition_column_fails_too() -> None:
    table = ExposedTable("gold", "t", (), (Column("at", "void"),), LOGS_LOCATION)
    with pytest.raises(ConfigError, match=r"gold\.t: column 'at' has type 'void'"):
        glue.table_input(table)


def test_database_names_are_prefix_and_layer() -> None:
    assert glue.database_name("careplus_", "gold") == "careplus_gold"
    assert glue.database_name("", "silver") == "silver"


@pytest.mark.parametrize(("prefix", "layer"), [("CarePlus_", "gold"), ("care-plus_", "gold"), ("x", "go ld"), ("", "")])
def test_a_bad_database_name_fails_naming_the_setting(prefix: str, layer: str) -> None:
    with pytest.raises(ConfigError, match=r"exposure\.glue\.database_prefix"):
        glue.database_name(prefix, layer)


def test_a_table_name_glue_would_fold_is_refused() -> None:
    with pytest.raises(ConfigError, match="not a Glue table name"):
        glue.table_input(ExposedTable("gold", "Fct_Logs", (), (), LOGS_LOCATION))


def test_the_report_says_what_a_dry_run_would_do() -> None:
    calls = (
        glue.GlueCall("create_table", "careplus_gold.fct_logs", {}),
        glue.GlueCall("batch_delete_partition", "careplus_gold.fct_logs",
                      {"PartitionsToDelete": [{"Values": ["2025-07-01"]}]}),
    )
    table = glue.TableSync("gold.fct_logs", "careplus_gold.fct_logs", "created", partitions_removed=(("2025-07-01",),))
    report = glue.SyncReport(True, (), (table,), calls)
    assert report.lines() == [
        "Glue Data Catalog: dry run, nothing written: would make 2 write call(s); "
        "1 table(s): 1 created, 0 updated, 0 unchanged; partitions +0 ~0 -1",
        "  would create_table careplus_gold.fct_logs",
        "  would batch_delete_partition careplus_gold.fct_logs: 1 partition(s) 2025-07-01",
        "  careplus_gold.fct_logs (gold.fct_logs): created, partitions +0 ~0 -1",
    ]
