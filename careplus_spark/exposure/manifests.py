"""Symlink manifests that are always current, and what engines are told about a table.

An exposed table carries ``delta.compatibility.symlinkFormatManifest.enabled=true``: Delta
rewrites ``<table>/_symlink_format_manifest/`` (one ``manifest`` per partition folder) on
every commit, so Athena and Redshift Spectrum read exactly the files of the latest version.
Gold tables are created with it (:mod:`careplus_spark.lakehouse.catalog`); :func:`ensure`
turns it on for any other exposed table and writes the one full manifest that the property
does not write by itself. Tables with deletion vectors or column mapping cannot have
manifests and are refused.

:func:`describe` reads the live schema and the manifest partitions into an
:class:`~careplus_spark.exposure.model.ExposedTable` (DDL and Glue are built from that,
never from a hand-kept column list).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from careplus_spark.errors import ConfigError, ExposureError
from careplus_spark.exposure.model import MANIFEST_FOLDER, Column, ExposedTable, Partition, engine_location
from careplus_spark.lakehouse import catalog, delta, delta_log, tables
from careplus_spark.lakehouse.delta import SYMLINK_MANIFEST
from careplus_spark.platform.config import AppConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: Properties under which Delta cannot write symlink manifests, with their harmless values.
_INCOMPATIBLE = {"delta.enableDeletionVectors": ("false", ""), "delta.columnMapping.mode": ("none", "")}


def exposed_tables(cfg: AppConfig) -> tuple[catalog.Table, ...]:
    """Every gold table plus the tables named in ``exposure.tables``, in catalog order.

    Raises:
        ConfigError: ``exposure.tables`` names a table the lakehouse does not have.
    """
    named = set()
    for name in cfg.exposure.tables:
        try:
            named.add(catalog.table(name).qualified)
        except KeyError as exc:
            raise ConfigError(f"exposure.tables: {exc.args[0]}") from None
    return tuple(t for t in catalog.TABLES if t.exposed or t.qualified in named)


@dataclass(frozen=True)
class Detail:
    """What exposure needs of a Delta table's detail: its properties and partition columns."""

    properties: Mapping[str, str]
    partition_columns: tuple[str, ...]


def detail(spark: SparkSession, ref: tables.TableRef) -> Detail:
    """Properties and partition columns of the table: from the log's newest checksum file (no
    Spark job), else one ``DESCRIBE DETAIL``."""
    from delta.tables import DeltaTable

    found = delta_log.newest_metadata(spark, ref.path)
    if found is not None and "partitionColumns" in found[2]:
        return Detail(delta_log.properties(found[2]), tuple(found[2]["partitionColumns"] or ()))

    row = DeltaTable.forPath(spark, ref.path).detail().select("properties", "partitionColumns").first()
    if row is None:
        return Detail({}, ())
    return Detail(dict(row["properties"] or {}), tuple(row["partitionColumns"] or ()))


def check_exposable(qualified: str, properties: Mapping[str, str]) -> None:
    """Refuses a table whose properties rule out symlink manifests.

    Raises:
        ExposureError: naming the table and the property (deletion vectors, column mapping).
    """
    for key, harmless in _INCOMPATIBLE.items():
        value = properties.get(key, "").lower()
        if value not in harmless:
            raise ExposureError(
                f"{qualified} cannot be exposed to Athena/Spectrum: it has {key}={value}, and Delta writes no "
                "symlink manifest for such a table; recreate it without that property (or remove it from "
                "exposure.tables)"
            )


def ensure(spark: SparkSession, ref: tables.TableRef, properties: Mapping[str, str], regenerate: bool = False) -> bool:
    """Makes the table keep current manifests; writes a full one when turned on now or asked to.

    Returns:
        True when a full manifest was written by this call.

    Raises:
        ExposureError: the table has deletion vectors or column mapping.
    """
    check_exposable(ref.qualified, properties)
    turned_on = properties.get(SYMLINK_MANIFEST, "").lower() != "true"
    if turned_on:
        log.info("%s: turning symlink manifests on", ref.qualified)
        delta.set_properties(spark, ref.path, {SYMLINK_MANIFEST: "true"})
    if turned_on or regenerate:
        delta.generate_manifest(spark, ref.path)
    return turned_on or regenerate


def describe(spark: SparkSession, ref: tables.TableRef, cfg: AppConfig, partition_names: Sequence[str]) -> ExposedTable:
    """The live schema, partition columns and manifest partitions of an exposed table.

    Example:
        >>> describe(spark, ctx.ref(catalog.FCT_LOGS), cfg, ["log_date"]).partitions[0]  # doctest: +SKIP
        Partition(values=('2025-07-01',), location='s3://b/lake/gold/fct_logs/_symlink_format_manifest/log_date=2025-07-01')
    """
    fields = spark.read.format("delta").load(ref.path).schema.fields
    by_name = {f.name: Column(f.name, f.dataType.simpleString()) for f in fields}
    location = engine_location(ref.path, cfg.lakehouse.root, cfg.exposure.location_prefix)
    folders = partition_folders(spark, ref.path, len(partition_names)) if partition_names else []
    partitions = tuple(
        Partition(tuple(_value(part) for part in folder), f"{location}/{MANIFEST_FOLDER}/" + "/".join(folder))
        for folder in folders
    )
    return ExposedTable(
        database=ref.database,
        name=ref.name,
        columns=tuple(c for name, c in by_name.items() if name not in partition_names),
        partition_columns=tuple(by_name[name] for name in partition_names),
        location=location,
        partitions=partitions,
    )


def partition_folders(spark: SparkSession, path: str, depth: int) -> list[tuple[str, ...]]:
    """The partition folders (``("log_date=2025-07-01",)``) of the manifest that hold a manifest file."""
    jvm: Any = spark._jvm
    conf = spark._jsc.hadoopConfiguration()  # type: ignore[union-attr]
    root = jvm.org.apache.hadoop.fs.Path(f"{path}/{MANIFEST_FOLDER}")
    fs = root.getFileSystem(conf)
    if not fs.exists(root):
        return []
    found: list[tuple[str, ...]] = []
    level: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    for _ in range(depth):
        below = []
        for folder, parts in level:
            below += [(s.getPath(), (*parts, s.getPath().getName())) for s in fs.listStatus(folder) if s.isDirectory()]
        level = below
    for folder, parts in level:
        if fs.exists(jvm.org.apache.hadoop.fs.Path(folder, "manifest")):
            found.append(parts)
    return sorted(found)


def _value(folder: str) -> str:
    """``log_date=2025-07-01`` -> ``2025-07-01`` (Hive-escaped characters decoded)."""
    return unquote(folder.split("=", 1)[1])


def exposed_refs(spark: SparkSession, cfg: AppConfig) -> Sequence[tables.TableRef]:
    """The exposed tables that exist in the lakehouse."""
    refs = [t.ref(cfg.lakehouse.root) for t in exposed_tables(cfg)]
    return [r for r in refs if tables.exists(spark, r)]
