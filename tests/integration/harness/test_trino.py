"""Trino (Athena engine v3) reads symlink-manifest tables registered in Glue, data on S3.

The layout is what Delta's ``GENERATE symlink_format_manifest`` writes: Parquet files under
the table folder, ``_symlink_format_manifest/[<partition>/]manifest`` listing their absolute
``s3a://`` paths one per line; the Glue entry carries the Athena DDL's SerDe and formats and
points at the manifest folder. Trino sees only what the manifest lists.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.services import MotoServer, S3Server, TrinoServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
SYMLINK_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
IGNORE_KEY_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
COLUMNS = [{"Name": "x", "Type": "bigint"}, {"Name": "name", "Type": "string"}]


@dataclass(frozen=True)
class Lake:
    """A bucket on the S3 server and a Glue database on the emulator, both of this module."""

    bucket: str
    database: str
    s3: S3Server
    glue: Any


@pytest.fixture(scope="module")
def lake(s3: S3Server, aws_emulator: MotoServer) -> Iterator[Lake]:
    bucket = s3.create_bucket("trino-harness")
    database = f"harness_{secrets.token_hex(4)}"
    glue = aws_emulator.boto3_client("glue")
    glue.create_database(DatabaseInput={"Name": database})
    yield Lake(bucket=bucket, database=database, s3=s3, glue=glue)
    glue.delete_database(Name=database)
    s3.delete_bucket(bucket)


def _parquet(values: list[int]) -> bytes:
    table = pa.table({"x": pa.array(values, pa.int64()), "name": [f"row-{v}" for v in values]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    return buffer.getvalue()


def _put(lake: Lake, key: str, body: bytes) -> None:
    lake.s3.client().put_object(Bucket=lake.bucket, Key=key, Body=body)


def _write_data_file(lake: Lake, key: str, values: list[int]) -> str:
    """Write a Parquet file and return its ``s3a://`` path, as Delta lists it in a manifest."""
    _put(lake, key, _parquet(values))
    return f"s3a://{lake.bucket}/{key}"


def _write_manifest(lake: Lake, key: str, paths: list[str]) -> None:
    _put(lake, key, "".join(f"{path}\n" for path in paths).encode())


def _storage(location: str) -> dict[str, Any]:
    return {
        "Columns": COLUMNS,
        "Location": location,
        "InputFormat": SYMLINK_INPUT_FORMAT,
        "OutputFormat": IGNORE_KEY_OUTPUT_FORMAT,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
    }


def _create_table(lake: Lake, name: str, location: str, partition_keys: list[dict[str, str]] | None = None) -> None:
    lake.glue.create_table(
        DatabaseName=lake.database,
        TableInput={
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"EXTERNAL": "TRUE"},
            "StorageDescriptor": _storage(location),
            "PartitionKeys": partition_keys or [],
        },
    )


def test_trino_reads_symlink_manifest_table(trino: TrinoServer, lake: Lake) -> None:
    values = list(range(1, 101))
    root = "gold/fct_tickets"
    path = _write_data_file(lake, f"{root}/part-00000-{secrets.token_hex(4)}-c000.snappy.parquet", values)
    # A file of the table folder that the manifest does not list (a removed Delta file): not read.
    _write_data_file(lake, f"{root}/part-00001-removed-c000.snappy.parquet", [1000, 2000])
    _write_manifest(lake, f"{root}/_symlink_format_manifest/manifest", [path])
    _create_table(lake, "fct_tickets", f"s3://{lake.bucket}/{root}/_symlink_format_manifest/")

    rows = trino.query(f"SELECT count(*), sum(x) FROM {lake.database}.fct_tickets")

    assert rows == [(len(values), sum(values))]


def test_trino_reads_partitioned_symlink_table_from_glue_partitions(trino: TrinoServer, lake: Lake) -> None:
    values = [5, 7, 11, 13]
    root = "gold/fct_logs"
    partition = "log_date=2026-11-01"
    path = _write_data_file(lake, f"{root}/{partition}/part-00000-{secrets.token_hex(4)}.c000.snappy.parquet", values)
    _write_manifest(lake, f"{root}/_symlink_format_manifest/{partition}/manifest", [path])
    manifest_root = f"s3://{lake.bucket}/{root}/_symlink_format_manifest"
    _create_table(lake, "fct_logs", f"{manifest_root}/", partition_keys=[{"Name": "log_date", "Type": "string"}])
    result = lake.glue.batch_create_partition(
        DatabaseName=lake.database,
        TableName="fct_logs",
        PartitionInputList=[{"Values": ["2026-11-01"], "StorageDescriptor": _storage(f"{manifest_root}/{partition}")}],
    )
    assert result.get("Errors", []) == []

    rows = trino.query(f"SELECT log_date, count(*), sum(x) FROM {lake.database}.fct_logs GROUP BY log_date")

    assert rows == [("2026-11-01", len(values), sum(values))]


def test_trino_server_is_loopback_and_started(trino: TrinoServer) -> None:
    info = trino.info()

    assert trino.host == "127.0.0.1" or trino.reused
    assert info is not None
    assert info["starting"] is False
    assert info["nodeVersion"]["version"] == "476"
