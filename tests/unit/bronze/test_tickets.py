"""Write settings of bronze.tickets: file statistics on the key and cursor columns only."""

from __future__ import annotations

from careplus_spark.bronze.tickets_write import bronze_properties, parquet_settings
from careplus_spark.platform.config import TicketsSourceConfig
from careplus_spark.platform.secrets import Secret
from careplus_spark.sources.tickets_extract import source_options

MYSQL = source_options(
    TicketsSourceConfig(url="jdbc:mysql://h:3306/db", table="t", user="u", password=Secret.empty(), fetch_size=500)
)


def test_bronze_parquet_settings_keep_statistics_on_key_and_cursor_only() -> None:
    settings = parquet_settings(MYSQL)
    assert settings["parquet.column.statistics.enabled"] == "false"
    assert settings["parquet.column.statistics.enabled#ticket_id"] == "true"
    assert settings["parquet.column.statistics.enabled#updated_at"] == "true"
    assert settings["parquet.enable.dictionary#ticket_id"] == "false"
    assert "parquet.enable.dictionary#status" not in settings


def test_bronze_properties_collect_file_statistics_on_key_and_cursor_only() -> None:
    props = bronze_properties(MYSQL)
    assert props["delta.enableChangeDataFeed"] == "true"
    assert props["delta.dataSkippingStatsColumns"] == "ticket_id,updated_at"
