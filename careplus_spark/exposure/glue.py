"""Exposed tables in the AWS Glue Data Catalog, as Athena and Redshift Spectrum read them.

An ``EXTERNAL_TABLE`` over the symlink manifests (ParquetHiveSerDe, ``SymlinkTextInputFormat``),
the Delta folder as ``AdditionalLocations`` (Lake Formation checks the data files there), one
partition per manifest folder; column types as :func:`~careplus_spark.exposure.dialects.hive_type`
spells them for Athena, in lower case. The builders (:func:`database_name`, :func:`table_input`,
:func:`partition_input`) call nothing; :func:`sync` writes only what differs, always a whole
definition (``UpdateTable`` replaces it), and never overwrites a table without
``careplus.managed=true``. boto3 is optional (the ``aws`` extra): only :func:`client_for` and
:func:`sync` need it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from careplus_spark.errors import CarePlusError, CatalogSyncError, ConfigError, ExposureError
from careplus_spark.exposure import dialects
from careplus_spark.exposure.model import Column, ExposedTable, Partition
from careplus_spark.platform import aws
from careplus_spark.platform.aws import Api, describe_error, holds, redact
from careplus_spark.platform.config_deploy import ExposureConfig

log = logging.getLogger(__name__)

INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
MANAGED = "careplus.managed"  # table/database parameter: what sync() owns and may overwrite
SOURCE, DELTA_LOCATION = "careplus.source", "careplus.delta_location"  # the lakehouse table, its Delta folder
CREATE_BATCH, UPDATE_BATCH, DELETE_BATCH = 100, 100, 25  # Glue's limits on entries per batch call

_NAME = re.compile(r"[a-z0-9_]{1,255}")

Action = Literal["created", "updated", "unchanged"]
Values = tuple[str, ...]


def database_name(prefix: str, layer: str) -> str:
    """The Glue database of a lakehouse layer: ``<prefix><layer>``, a valid Glue/Hive name.

    Example:
        >>> database_name("careplus_", "gold")
        'careplus_gold'

    Raises:
        ConfigError: the name is not lowercase letters, digits and underscores (1-255).
    """
    name = f"{prefix}{layer}"
    if not _NAME.fullmatch(name):
        raise ConfigError(f"Glue database name {name!r} (exposure.glue.database_prefix {prefix!r} + layer "
                          f"{layer!r}) must be 1-255 lowercase letters, digits and underscores")
    return name


def table_input(table: ExposedTable) -> dict[str, Any]:
    """The whole Glue ``TableInput`` of an exposed table (what ``CreateTable``/``UpdateTable`` take).

    Example:
        >>> t = ExposedTable("gold", "fct_tickets", (Column("ticket_id", "bigint"),), (), "s3://b/lake/gold/fct_tickets")
        >>> table_input(t)["StorageDescriptor"]["Location"]
        's3://b/lake/gold/fct_tickets/_symlink_format_manifest/'

    Raises:
        ConfigError: the table name is not a Glue name, or a column type has no Hive equivalent.
    """
    if not _NAME.fullmatch(table.name):
        raise ConfigError(f"{table.qualified}: {table.name!r} is not a Glue table name (lowercase, digits, _)")
    return {
        "Name": table.name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "EXTERNAL": "TRUE",
            "classification": "parquet",
            MANAGED: "true",
            SOURCE: table.qualified,
            DELTA_LOCATION: table.location,
        },
        "StorageDescriptor": {**_storage(table, table.manifest_location), "AdditionalLocations": [table.location]},
        "PartitionKeys": _columns(table, table.partition_columns),
    }


def partition_input(table: ExposedTable, partition: Partition) -> dict[str, Any]:
    """The Glue ``PartitionInput`` of one manifest partition of ``table``.

    Example:
        >>> t = ExposedTable("gold", "fct_logs", (Column("event_id", "string"),), (Column("log_date", "date"),),
        ...                  "s3://b/lake/gold/fct_logs")
        >>> p = Partition(("2025-07-01",), t.manifest_location + "/log_date=2025-07-01")
        >>> partition_input(t, p)["Values"], partition_input(t, p)["StorageDescriptor"]["Location"]
        (['2025-07-01'], 's3://b/lake/gold/fct_logs/_symlink_format_manifest/log_date=2025-07-01/')

    Raises:
        ConfigError: the partition has not one value per partition column, or a bad column type.
    """
    if len(partition.values) != len(table.partition_columns):
        raise ConfigError(f"{table.qualified}: partition {list(partition.values)} has not one value per "
                          f"partition column {[c.name for c in table.partition_columns]}")
    return {"Values": list(partition.values), "StorageDescriptor": _storage(table, partition.location)}


@dataclass(frozen=True)
class GlueCall:
    """One write call to Glue: made by :func:`sync`, or in a dry run, the one it would make."""

    operation: str
    target: str
    params: dict[str, Any]

    def describe(self) -> str:
        """``batch_create_partition careplus_gold.fct_logs: 2 partition(s) 2025-07-01, 2025-07-02``."""
        entries = self.params.get("PartitionInputList") or self.params.get("PartitionsToDelete") or []
        values = [e["Values"] for e in entries] or [e["PartitionValueList"] for e in self.params.get("Entries", [])]
        shown = ", ".join("/".join(v) for v in values[:5]) + (", …" if len(values) > 5 else "")
        return f"{self.operation} {self.target}" + (f": {len(values)} partition(s) {shown}" if values else "")


@dataclass(frozen=True)
class TableSync:
    """What :func:`sync` did (or would do) to one table; partitions as their values."""

    source: str
    glue_table: str
    action: Action
    partitions_added: tuple[Values, ...] = ()
    partitions_updated: tuple[Values, ...] = ()
    partitions_removed: tuple[Values, ...] = ()

    def describe(self) -> str:
        """``careplus_gold.fct_logs (gold.fct_logs): created, partitions +2 ~0 -0``."""
        counts = f"+{len(self.partitions_added)} ~{len(self.partitions_updated)} -{len(self.partitions_removed)}"
        return f"{self.glue_table} ({self.source}): {self.action}, partitions {counts}"


@dataclass(frozen=True)
class SyncReport:
    """What :func:`sync` did: databases created, each table, every write call (dry run: would do)."""

    dry_run: bool
    databases_created: tuple[str, ...]
    tables: tuple[TableSync, ...]
    calls: tuple[GlueCall, ...]

    @property
    def changed(self) -> bool:
        """True when the catalog was (or would be) written to."""
        return bool(self.calls)

    def summary(self) -> str:
        """One line: ``2 table(s): 1 created, 0 updated, 1 unchanged; partitions +2 ~0 -1``."""
        count = {a: sum(t.action == a for t in self.tables) for a in ("created", "updated", "unchanged")}
        moves = [sum(len(getattr(t, f"partitions_{k}")) for t in self.tables) for k in ("added", "updated", "removed")]
        text = f"{len(self.tables)} table(s): " + ", ".join(f"{n} {a}" for a, n in count.items())
        text += f"; partitions +{moves[0]} ~{moves[1]} -{moves[2]}"
        return f"dry run, nothing written: would make {len(self.calls)} write call(s); {text}" if self.dry_run else text

    def lines(self) -> list[str]:
        """Line by line; a dry run lists first the write calls it would make (``would create_table …``)."""
        calls = [f"  would {c.describe()}" for c in self.calls] if self.dry_run else []
        return [f"Glue Data Catalog: {self.summary()}", *calls, *(f"  {t.describe()}" for t in self.tables)]


def client_for(cfg: ExposureConfig, s3_region: str) -> Any:
    """A boto3 Glue client for ``exposure.glue`` (region: its own, else ``s3.region``).

    Example:
        >>> glue = client_for(cfg.exposure, cfg.s3.region)  # doctest: +SKIP

    Raises:
        ConfigError: boto3 is not installed (the ``aws`` extra).
    """
    return aws.client("glue", region=cfg.glue.region or s3_region, endpoint=cfg.glue.endpoint,
                      needed_by="exposure.catalog=glue")


def sync(client: Any, tables: Sequence[ExposedTable], *, database_prefix: str, dry_run: bool = False) -> SyncReport:
    """Makes the Glue catalog hold ``tables``: databases, definitions and partitions; idempotent.

    Every definition is built (and checked) before the first call. Read calls run even in a
    dry run; write calls are logged, and in a dry run only recorded.

    Example:
        >>> client = client_for(cfg.exposure, cfg.s3.region)  # doctest: +SKIP
        >>> print("\\n".join(sync(client, exposed, database_prefix="careplus_").lines()))  # doctest: +SKIP

    Raises:
        ConfigError: a table or database name or a column type Glue cannot take.
        ExposureError: a same-named table exists in Glue without ``careplus.managed=true``.
        CatalogSyncError: a Glue call failed (names the table and the call).
    """
    wanted = [(t, database_name(database_prefix, t.database), table_input(t),
               {p.values: partition_input(t, p) for p in t.partitions}) for t in tables]
    glue = _Glue(client, dry_run)
    created: list[str] = []
    for database, layer in dict.fromkeys((database, t.database) for t, database, _, _ in wanted):
        if glue.read("get_database", database, Name=database) is None:
            glue.write("create_database", database, DatabaseInput=_database_input(database, layer))
            created.append(database)
    results = tuple(_sync_table(glue, *want, database_is_new=want[1] in created) for want in wanted)
    calls = tuple(GlueCall(c.operation, c.target, dict(c.params)) for c in glue.calls)
    return SyncReport(dry_run, tuple(created), results, calls)


class _Glue(Api):
    """Glue calls (:class:`~careplus_spark.platform.aws.Api`) whose batch writes also check failed entries."""

    def __init__(self, client: Any, dry_run: bool) -> None:
        super().__init__(client, "glue", CatalogSyncError, dry_run=dry_run)

    def failure(self, operation: str, target: str, exc: Exception) -> CarePlusError:
        return CatalogSyncError(f"Glue {operation} for {target} failed: {describe_error(exc)}")

    def write(self, operation: str, target: str, **params: Any) -> dict[str, Any]:
        response = super().write(operation, target, **params)
        errors = response.get("Errors") or []
        if errors:  # batch calls report failed entries in the response
            first, detail = errors[0], errors[0].get("ErrorDetail", {})
            values = first.get("PartitionValues") or first.get("PartitionValueList")
            reason = redact(f"{detail.get('ErrorCode')}: {detail.get('ErrorMessage')}")
            raise CatalogSyncError(f"Glue {operation} for {target} failed for {len(errors)} partition(s), "
                                   f"first {values}: {reason}")
        return response

    def batches(self, op: str, target: str, where: dict[str, str], size: int, key: str, items: list[Any]) -> None:
        """``op`` on ``items`` in calls of at most ``size`` (no call when there are none)."""
        for start in range(0, len(items), size):
            self.write(op, target, **where, **{key: items[start:start + size]})

    def partitions(self, target: str, **where: str) -> dict[Values, dict[str, Any]]:
        """Every partition Glue has for the table, by its values (all pages)."""
        return {tuple(p["Values"]): p for p in self.pages("get_partitions", "Partitions", target, **where)}


def _sync_table(glue: _Glue, table: ExposedTable, database: str, wanted: dict[str, Any],
                partitions: dict[Values, dict[str, Any]], *, database_is_new: bool) -> TableSync:
    """Creates, updates or leaves the table, then makes its partitions match."""
    target, where = f"{database}.{table.name}", {"DatabaseName": database, "TableName": table.name}
    stored = None if database_is_new else glue.read("get_table", target, DatabaseName=database, Name=table.name)
    existing: dict[Values, dict[str, Any]] = {}
    action: Action = "created"
    if stored is None:
        glue.write("create_table", target, DatabaseName=database, TableInput=wanted)
    else:
        found = stored.get("Table", {})
        if (found.get("Parameters") or {}).get(MANAGED) != "true":
            raise ExposureError(f"Glue table {target} exists but is not managed by careplus (no {MANAGED}=true); "
                                f"drop or rename it to expose {table.qualified} there")
        action = "unchanged" if holds(wanted, found) else "updated"
        if action == "updated":
            glue.write("update_table", target, DatabaseName=database, TableInput=wanted)
        existing = glue.partitions(target, **where)
    added = [v for v in partitions if v not in existing]
    changed = [v for v, p in partitions.items() if v in existing and not holds(p, existing[v])]
    removed = sorted(v for v in existing if v not in partitions)
    glue.batches("batch_create_partition", target, where, CREATE_BATCH, "PartitionInputList",
                 [partitions[v] for v in added])
    glue.batches("batch_update_partition", target, where, UPDATE_BATCH, "Entries",
                 [{"PartitionValueList": list(v), "PartitionInput": partitions[v]} for v in changed])
    glue.batches("batch_delete_partition", target, where, DELETE_BATCH, "PartitionsToDelete",
                 [{"Values": list(v)} for v in removed])
    return TableSync(table.qualified, target, action, tuple(added), tuple(changed), tuple(removed))


def _database_input(name: str, layer: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Description": f"careplus lakehouse, {layer} layer: tables exposed to Athena and Redshift Spectrum",
        "Parameters": {MANAGED: "true"},
    }


def _storage(table: ExposedTable, location: str) -> dict[str, Any]:
    """The StorageDescriptor shared by a table and its partitions (location as a folder)."""
    return {
        "Columns": _columns(table, table.columns),
        "Location": location.rstrip("/") + "/",
        "InputFormat": INPUT_FORMAT,
        "OutputFormat": OUTPUT_FORMAT,
        "SerdeInfo": {"SerializationLibrary": SERDE},
    }


def _columns(table: ExposedTable, columns: Sequence[Column]) -> list[dict[str, str]]:
    """Glue columns, types spelled as in Athena's DDL but lower-case, as Glue, Athena and Hive store them."""
    found = []
    for column in columns:
        try:
            found.append({"Name": column.name, "Type": dialects.hive_type(column.type).lower()})
        except ValueError as exc:
            raise ConfigError(f"{table.qualified}: column {column.name!r} has type {column.type!r}, which "
                              f"Glue/Athena/Spectrum cannot read ({exc})") from None
    return found
