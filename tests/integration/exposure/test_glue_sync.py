"""Exposed tables synced into a Glue Data Catalog: moto's server over HTTP on loopback, boto3 as in production.

Every test works in databases of its own prefix, so one emulator serves the module.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from careplus_spark.errors import CatalogSyncError, ExposureError, SourceUnavailableError
from careplus_spark.exposure import glue
from careplus_spark.exposure.model import Column, ExposedTable, Partition
from careplus_spark.platform.config_deploy import ExposureConfig, GlueCatalogSyncConfig

pytestmark = pytest.mark.integration

REGION = "us-east-1"
SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
LAKE = "s3://bucket/lake/gold"
READS = ("Get", "BatchGet")

TICKETS = ExposedTable(
    "gold", "fct_tickets",
    (Column("ticket_id", "bigint"), Column("priority", "string"), Column("created_at", "timestamp"),
     Column("sla_breached", "boolean"), Column("amount", "decimal(20,6)")),
    (), f"{LAKE}/fct_tickets",
)


def logs(*days: str, response_type: str = "int", location: str = f"{LAKE}/fct_logs") -> ExposedTable:
    """A fct_logs-like table partitioned by ``log_date``, one manifest partition per day."""
    partitions = tuple(Partition((d,), f"{location}/_symlink_format_manifest/log_date={d}") for d in days)
    columns = (Column("event_id", "string"), Column("response_time_ms", response_type),
               Column("tags", "array<string>"))
    return ExposedTable("gold", "fct_logs", columns, (Column("log_date", "date"),), location, partitions)


@pytest.fixture
def client(aws_emulator: Any) -> Any:
    return aws_emulator.boto3_client("glue", max_attempts=1)  # the shared moto server (tests/conftest.py)


@pytest.fixture
def writes(client: Any) -> list[str]:
    """The Glue operations the client sends that are not reads (``CreateTable``, ``BatchDeletePartition``…)."""
    sent: list[str] = []

    def record(model: Any, **_: Any) -> None:
        if not model.name.startswith(READS):
            sent.append(model.name)

    client.meta.events.register("before-call.glue", record)
    return sent


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}_"


def stored_partitions(client: Any, database: str, table: str) -> dict[str, dict[str, Any]]:
    pages = client.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
    return {"/".join(p["Values"]): p for page in pages for p in page["Partitions"]}


def test_sync_creates_the_database_the_tables_and_the_partitions(client: Any, prefix: str) -> None:
    report = glue.sync(client, [TICKETS, logs("2025-07-01", "2025-07-02")], database_prefix=prefix)

    database = f"{prefix}gold"
    assert report.databases_created == (database,)
    assert [(t.glue_table, t.action, t.partitions_added) for t in report.tables] == [
        (f"{database}.fct_tickets", "created", ()),
        (f"{database}.fct_logs", "created", (("2025-07-01",), ("2025-07-02",))),
    ]
    assert client.get_database(Name=database)["Database"]["Parameters"] == {"careplus.managed": "true"}
    tickets = client.get_table(DatabaseName=database, Name="fct_tickets")["Table"]
    assert tickets["TableType"] == "EXTERNAL_TABLE"
    assert tickets["Parameters"]["EXTERNAL"] == "TRUE" and tickets["Parameters"]["careplus.managed"] == "true"
    sd = tickets["StorageDescriptor"]
    assert sd["SerdeInfo"]["SerializationLibrary"] == SERDE
    assert (sd["InputFormat"], sd["OutputFormat"]) == (INPUT_FORMAT, OUTPUT_FORMAT)
    assert sd["Location"] == f"{LAKE}/fct_tickets/_symlink_format_manifest/"
    assert sd["AdditionalLocations"] == [f"{LAKE}/fct_tickets"]
    assert [(c["Name"], c["Type"]) for c in sd["Columns"]] == [
        ("ticket_id", "bigint"), ("priority", "string"), ("created_at", "timestamp"),
        ("sla_breached", "boolean"), ("amount", "decimal(20,6)"),
    ]
    assert tickets.get("PartitionKeys", []) == []
    fct_logs = client.get_table(DatabaseName=database, Name="fct_logs")["Table"]
    assert fct_logs["PartitionKeys"] == [{"Name": "log_date", "Type": "date"}]
    assert [c["Name"] for c in fct_logs["StorageDescriptor"]["Columns"]] == ["event_id", "response_time_ms", "tags"]
    partitions = stored_partitions(client, database, "fct_logs")
    assert sorted(partitions) == ["2025-07-01", "2025-07-02"]
    day = partitions["2025-07-01"]["StorageDescriptor"]
    assert day["Location"] == f"{LAKE}/fct_logs/_symlink_format_manifest/log_date=2025-07-01/"
    assert (day["InputFormat"], day["SerdeInfo"]["SerializationLibrary"]) == (INPUT_FORMAT, SERDE)
    assert day["Columns"] == fct_logs["StorageDescriptor"]["Columns"]


def test_a_second_sync_changes_nothing_and_writes_nothing(client: Any, writes: list[str], prefix: str) -> None:
    tables = [TICKETS, logs("2025-07-01", "2025-07-02")]
    glue.sync(client, tables, database_prefix=prefix)
    assert writes == ["CreateDatabase", "CreateTable", "CreateTable", "BatchCreatePartition"]
    writes.clear()

    again = glue.sync(client, tables, database_prefix=prefix)

    assert writes == []
    assert not again.changed and again.databases_created == ()
    assert [(t.action, t.partitions_added, t.partitions_updated, t.partitions_removed) for t in again.tables] == [
        ("unchanged", (), (), ())
    ] * 2


def test_a_partition_dropped_from_the_table_disappears_from_glue(client: Any, writes: list[str], prefix: str) -> None:
    glue.sync(client, [logs("2025-07-01", "2025-07-02")], database_prefix=prefix)
    writes.clear()

    report = glue.sync(client, [logs("2025-07-02", "2025-07-03")], database_prefix=prefix)

    assert writes == ["BatchCreatePartition", "BatchDeletePartition"]
    (table,) = report.tables
    assert (table.action, table.partitions_added, table.partitions_removed) == (
        "unchanged", (("2025-07-03",),), (("2025-07-01",),)
    )
    assert sorted(stored_partitions(client, f"{prefix}gold", "fct_logs")) == ["2025-07-02", "2025-07-03"]


def test_a_changed_column_type_updates_the_table_and_its_partitions(
    client: Any, writes: list[str], prefix: str
) -> None:
    glue.sync(client, [logs("2025-07-01")], database_prefix=prefix)
    writes.clear()

    report = glue.sync(client, [logs("2025-07-01", response_type="bigint")], database_prefix=prefix)

    assert writes == ["UpdateTable", "BatchUpdatePartition"]
    assert (report.tables[0].action, report.tables[0].partitions_updated) == ("updated", (("2025-07-01",),))
    database = f"{prefix}gold"
    columns = client.get_table(DatabaseName=database, Name="fct_logs")["Table"]["StorageDescriptor"]["Columns"]
    assert columns[1] == {"Name": "response_time_ms", "Type": "bigint"}
    partition = stored_partitions(client, database, "fct_logs")["2025-07-01"]
    assert partition["StorageDescriptor"]["Columns"][1]["Type"] == "bigint"


def test_a_moved_partition_location_is_updated(client: Any, prefix: str) -> None:
    glue.sync(client, [logs("2025-07-01")], database_prefix=prefix)
    moved = logs("2025-07-01")
    moved = replace(moved, partitions=(Partition(("2025-07-01",), f"{LAKE}/elsewhere/log_date=2025-07-01"),))

    report = glue.sync(client, [moved], database_prefix=prefix)

    assert (report.tables[0].action, report.tables[0].partitions_updated) == ("unchanged", (("2025-07-01",),))
    stored = stored_partitions(client, f"{prefix}gold", "fct_logs")["2025-07-01"]
    assert stored["StorageDescriptor"]["Location"] == f"{LAKE}/elsewhere/log_date=2025-07-01/"


def test_a_dry_run_reports_the_calls_it_would_make_and_writes_nothing(
    client: Any, writes: list[str], prefix: str
) -> None:
    report = glue.sync(client, [TICKETS, logs("2025-07-01")], database_prefix=prefix, dry_run=True)

    assert writes == []
    database = f"{prefix}gold"
    assert [(c.operation, c.target) for c in report.calls] == [
        ("create_database", database),
        ("create_table", f"{database}.fct_tickets"),
        ("create_table", f"{database}.fct_logs"),
        ("batch_create_partition", f"{database}.fct_logs"),
    ]
    assert report.calls[1].params == {"DatabaseName": database, "TableInput": glue.table_input(TICKETS)}
    assert report.lines()[0].startswith("Glue Data Catalog: dry run, nothing written: would make 4 write call(s)")
    assert f"  would batch_create_partition {database}.fct_logs: 1 partition(s) 2025-07-01" in report.lines()
    with pytest.raises(client.exceptions.EntityNotFoundException):
        client.get_database(Name=database)


def test_a_dry_run_over_an_existing_catalog_shows_the_changes_only(client: Any, writes: list[str], prefix: str) -> None:
    glue.sync(client, [logs("2025-07-01", "2025-07-02")], database_prefix=prefix)
    writes.clear()

    report = glue.sync(client, [logs("2025-07-02", response_type="bigint")], database_prefix=prefix, dry_run=True)

    assert writes == []
    assert [c.operation for c in report.calls] == ["update_table", "batch_update_partition", "batch_delete_partition"]
    assert sorted(stored_partitions(client, f"{prefix}gold", "fct_logs")) == ["2025-07-01", "2025-07-02"]
    again = glue.sync(client, [logs("2025-07-01", "2025-07-02")], database_prefix=prefix)
    assert not again.changed


def test_many_partitions_go_in_batches_within_glue_limits(client: Any, writes: list[str], prefix: str) -> None:
    days = [f"2025-{m:02d}-{d:02d}" for m in range(1, 10) for d in range(1, 29)][:230]
    glue.sync(client, [logs(*days)], database_prefix=prefix)
    assert writes.count("BatchCreatePartition") == 3  # 100 + 100 + 30
    writes.clear()

    report = glue.sync(client, [logs(*days[60:])], database_prefix=prefix)

    assert writes == ["BatchDeletePartition"] * 3  # 25 + 25 + 10
    assert len(report.tables[0].partitions_removed) == 60
    assert sorted(stored_partitions(client, f"{prefix}gold", "fct_logs")) == sorted(days[60:])


def test_a_same_named_table_not_managed_by_careplus_is_left_alone(client: Any, writes: list[str], prefix: str) -> None:
    database = f"{prefix}gold"
    client.create_database(DatabaseInput={"Name": database})
    client.create_table(DatabaseName=database, TableInput={"Name": "fct_tickets", "Parameters": {"owner": "bi"}})
    writes.clear()

    with pytest.raises(ExposureError, match=rf"Glue table {database}\.fct_tickets exists but is not managed"):
        glue.sync(client, [TICKETS], database_prefix=prefix)

    assert writes == []
    assert client.get_table(DatabaseName=database, Name="fct_tickets")["Table"]["Parameters"] == {"owner": "bi"}


def test_a_refused_call_names_the_call_and_the_table(client: Any, prefix: str) -> None:
    with Stubber(client) as stub:
        stub.add_client_error("get_database", service_error_code="AccessDeniedException",
                              service_message="User: arn:aws:iam::123456789012:user/etl is not authorized")
        with pytest.raises(CatalogSyncError, match=rf"Glue get_database for {prefix}gold failed: AccessDenied") as err:
            glue.sync(client, [TICKETS], database_prefix=prefix)
    assert isinstance(err.value, SourceUnavailableError) and err.value.exit_code == 4


def test_failed_batch_entries_fail_the_sync(client: Any, prefix: str) -> None:
    database = f"{prefix}gold"
    error = {"PartitionValues": ["2025-07-01"], "ErrorDetail": {"ErrorCode": "InternalServiceException",
                                                               "ErrorMessage": "try again"}}
    with Stubber(client) as stub:
        stub.add_response("get_database", {"Database": {"Name": database}})
        stub.add_client_error("get_table", service_error_code="EntityNotFoundException")
        stub.add_response("create_table", {})
        stub.add_response("batch_create_partition", {"Errors": [error]})
        with pytest.raises(CatalogSyncError, match=r"batch_create_partition for .*fct_logs failed for 1 partition"):
            glue.sync(client, [logs("2025-07-01")], database_prefix=prefix)


def test_an_unreachable_endpoint_is_a_catalog_error_without_credentials(prefix: str) -> None:
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="s3cr3t-k3y",
                                    region_name=REGION)
    client = session.client("glue", endpoint_url=f"http://127.0.0.1:{port}",
                            config=Config(retries={"max_attempts": 1}, connect_timeout=2))

    expected = rf"Glue get_database for {prefix}gold failed: EndpointConnectionError: Could not connect"
    with pytest.raises(CatalogSyncError, match=expected) as err:
        glue.sync(client, [TICKETS], database_prefix=prefix)
    assert "s3cr3t" not in str(err.value)


def test_client_for_talks_to_the_configured_endpoint(
    aws_emulator: Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    cfg = ExposureConfig(catalog="glue", glue=GlueCatalogSyncConfig(endpoint=aws_emulator.endpoint_url))

    client = glue.client_for(cfg, s3_region=aws_emulator.region)

    assert client.meta.region_name == aws_emulator.region
    assert glue.sync(client, [TICKETS], database_prefix=prefix).tables[0].action == "created"
