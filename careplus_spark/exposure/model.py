"""What query engines outside Spark are told about an exposed table (no Spark needed here).

An :class:`ExposedTable` is read from the live Delta table (its schema, its manifest
partitions; see :mod:`careplus_spark.exposure.manifests`) and rendered as DDL
(:mod:`careplus_spark.exposure.ddl`) or as Glue ``TableInput`` (:mod:`careplus_spark.exposure.glue`).
Types are Spark's catalog strings (``decimal(20,6)``, ``timestamp``, ``array<string>``);
locations are URIs as the engines address them (``s3://bucket/lakehouse/gold/fct_logs``).
"""

from __future__ import annotations

from dataclasses import dataclass

#: The folder of symlink manifests inside a Delta table.
MANIFEST_FOLDER = "_symlink_format_manifest"
#: The partition value Hive (and Delta's manifests) use for NULL.
HIVE_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True)
class Column:
    """A column: its name and Spark type (``DataType.simpleString()``)."""

    name: str
    type: str


@dataclass(frozen=True)
class Partition:
    """One partition: its values (in partition column order, as text) and its manifest folder."""

    values: tuple[str, ...]
    location: str


@dataclass(frozen=True)
class ExposedTable:
    """An exposed table as engines see it.

    Attributes:
        database: the lakehouse database (``gold``).
        name: the table name (``fct_logs``).
        columns: the data columns in table order, partition columns left out.
        partition_columns: the partition columns, in order.
        location: the Delta table's folder as engines address it.
        partitions: the partitions that have a manifest (empty for unpartitioned tables).
    """

    database: str
    name: str
    columns: tuple[Column, ...]
    partition_columns: tuple[Column, ...]
    location: str
    partitions: tuple[Partition, ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}"

    @property
    def manifest_location(self) -> str:
        """The folder Hive-style readers (Athena, Spectrum) read: ``<location>/_symlink_format_manifest``."""
        return f"{self.location}/{MANIFEST_FOLDER}"


def engine_location(path: str, root: str, location_prefix: str = "") -> str:
    """``path`` (under the lakehouse ``root``) as Athena, Spectrum and Glue address it.

    With ``location_prefix`` the root is replaced by it; otherwise ``s3a://`` and ``s3n://``
    become ``s3://`` and other paths stay as they are.

    Example:
        >>> engine_location("s3a://b/lake/gold/t", "s3a://b/lake")
        's3://b/lake/gold/t'
        >>> engine_location("/data/lake/gold/t", "/data/lake", "s3://bucket/copy/")
        's3://bucket/copy/gold/t'
    """
    if location_prefix:
        base = root.rstrip("/")
        if path != base and not path.startswith(base + "/"):
            raise ValueError(f"{path} is not under the lakehouse root {root}")
        return location_prefix.rstrip("/") + path[len(base):]
    for scheme in ("s3a://", "s3n://"):
        if path.startswith(scheme):
            return "s3://" + path[len(scheme):]
    return path
