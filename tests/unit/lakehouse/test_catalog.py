"""The lakehouse catalog: every table declared once, consistent, its schema's source real."""

from __future__ import annotations

import importlib
from dataclasses import replace

import pytest

from careplus_spark.lakehouse import catalog
from careplus_spark.lakehouse.catalog import Input, Model, Table


def test_every_schema_reference_names_real_code() -> None:
    for table in catalog.TABLES:
        module, _, attribute = table.schema.partition(":")
        assert hasattr(importlib.import_module(module), attribute), table.qualified


def test_gold_tables_are_exposed_and_record_a_change_feed() -> None:
    gold = [t for t in catalog.TABLES if t.model is not None]
    assert [t.name for t in gold] == [
        "fct_tickets", "fct_logs", "fct_ticket_log_summary",
        "kpi_tickets_daily", "kpi_agents_daily", "kpi_service_hourly",
    ]
    assert all(t.exposed and t.change_feed for t in gold)
    assert {t.qualified for t in catalog.exposed()} == {t.qualified for t in gold}


def test_properties_turn_the_change_feed_on_only_where_declared() -> None:
    assert catalog.SILVER_LOGS.properties == {"delta.enableChangeDataFeed": "true"}
    assert catalog.CURSORS.properties == {}


def test_exposed_tables_are_created_with_symlink_manifests() -> None:
    assert catalog.FCT_LOGS.properties == {
        "delta.enableChangeDataFeed": "true",
        "delta.compatibility.symlinkFormatManifest.enabled": "true",
    }


def test_table_lookup_names_the_known_tables() -> None:
    assert catalog.table("gold.fct_logs") is catalog.FCT_LOGS
    with pytest.raises(KeyError, match=r"gold\.nope.*known"):
        catalog.table("gold.nope")


def test_ref_places_the_table_under_the_root() -> None:
    ref = catalog.FCT_LOGS.ref("s3a://bucket/lake")
    assert (ref.qualified, ref.path) == ("gold.fct_logs", "s3a://bucket/lake/gold/fct_logs")


def test_a_model_reading_a_table_declared_after_it_is_refused() -> None:
    late = Table("gold", "late", ("d",), "m:a", model=Model("gold_x", "d", (Input("gold.later", "d"),)))
    later = Table("gold", "later", ("d",), "m:a")
    with pytest.raises(ValueError, match=r"gold\.late reads gold\.later, which is not declared before it"):
        catalog.check([late, later])
    catalog.check([later, late])


def test_duplicates_unknown_databases_and_foreign_scopes_are_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        catalog.check([catalog.RUNS, catalog.RUNS])
    with pytest.raises(ValueError, match="unknown database 'tmp'"):
        catalog.check([replace(catalog.RUNS, database="tmp")])
    wrong_scope = replace(catalog.KPI_AGENTS_DAILY, model=Model("gold_kpis", "ticket_id", ()))
    with pytest.raises(ValueError, match="scope 'ticket_id' is not one of its keys"):
        catalog.check([wrong_scope])


def test_identifiers_are_validated() -> None:
    with pytest.raises(ValueError, match="invalid table identifier"):
        Table("gold", "x; DROP", ("a",), "m:a")


def test_ticket_tables_update_by_deletion_vectors_and_exposed_tables_never_do() -> None:
    for entry in (catalog.BRONZE_TICKETS, catalog.SILVER_TICKETS):
        assert entry.properties["delta.enableDeletionVectors"] == "true"
    for entry in catalog.TABLES:
        if entry.exposed:
            assert "delta.enableDeletionVectors" not in entry.properties, entry.qualified
    with pytest.raises(ValueError, match="cannot carry deletion vectors"):
        Table("gold", "x", ("k",), "m:a", exposed=True, deletion_vectors=True)


def test_ticket_facts_are_partitioned_by_the_column_their_updates_follow() -> None:
    assert catalog.FCT_TICKETS.partition_by == catalog.FCT_TICKET_LOG_SUMMARY.partition_by == ("is_open",)
