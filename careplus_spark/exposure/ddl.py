"""DDL that lets Athena and Redshift Spectrum read an exposed Delta table (pure text, no Spark).

Three targets, all rendered from one :class:`~careplus_spark.exposure.model.ExposedTable`:

- ``athena``: a Hive table over the symlink manifests (``SymlinkTextInputFormat`` +
  ``ParquetHiveSerDe``), partition columns only in ``PARTITIONED BY``. A table partitioned by
  one DATE column (``fct_logs`` by ``log_date``) gets Athena *partition projection*: the
  partitions from the first one up to today are computed from a location template, so new
  days are readable with no partition loading at all; one partitioned by a BOOLEAN column
  (the ticket facts by ``is_open``) gets an ``enum`` projection of ``true`` and ``false``.
  Other partitioned tables need their partitions registered (Glue, ``careplus expose``),
  which a comment in the DDL says.
- ``spectrum``: the external schema over the Glue database, the same Hive table in Redshift
  types, and one ``ALTER TABLE ... ADD IF NOT EXISTS PARTITION`` per manifest partition.
- ``athena-delta``: Athena engine v3's native Delta reader; the schema comes from the Delta
  log, so only the location is given.

The output is a script: ``--`` comment lines, statements ending with ``;``. :func:`statements`
splits it for APIs that take one statement at a time (Athena ``StartQueryExecution``, the
Redshift Data API). Names are quoted per engine and checked; a type, name, location or
partition value that cannot be written safely raises :class:`~careplus_spark.errors.ExposureError`.
Types follow the table in :mod:`~careplus_spark.exposure.dialects`.

Note: ``athena`` and ``athena-delta`` create a table of the same name; give them different
databases if both are wanted. A Spectrum schema over a Glue database that ``careplus expose``
(or the Athena DDL) already filled needs no ``CREATE EXTERNAL TABLE``: Redshift sees those tables.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Literal

from careplus_spark.errors import ExposureError
from careplus_spark.exposure import dialects
from careplus_spark.exposure.model import HIVE_NULL_PARTITION, Column, ExposedTable, Partition

Target = Literal["athena", "spectrum", "athena-delta"]
#: The DDL targets, as ``careplus ddl --target`` names them.
TARGETS: tuple[str, ...] = ("athena", "spectrum", "athena-delta")

SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+")
_INTEGER_TYPES = ("tinyint", "byte", "smallint", "short", "int", "integer", "bigint", "long")


def render(
    table: ExposedTable, target: Target, *, database: str, spectrum_schema: str = "careplus", iam_role: str = ""
) -> str:
    """The DDL script of ``table`` for ``target``.

    Args:
        table: the table as engines see it.
        target: ``athena``, ``spectrum`` or ``athena-delta``.
        database: the Glue database (``careplus_gold``).
        spectrum_schema: the Redshift external schema (``spectrum`` only).
        iam_role: the role ARN of that schema; empty: ``IAM_ROLE default`` (the cluster's default role).

    Raises:
        ExposureError: unknown target, or a type, name, location or value that cannot be written.

    Example:
        >>> print(render(fct_tickets, "athena-delta", database="careplus_gold"))  # doctest: +SKIP
        -- gold.fct_tickets for Athena (engine v3), read natively as Delta: the schema comes from the Delta log.
        CREATE EXTERNAL TABLE `careplus_gold`.`fct_tickets`
        LOCATION 's3://bucket/lake/gold/fct_tickets/'
        TBLPROPERTIES ('table_type'='DELTA');
    """
    if target == "athena":
        return athena(table, database)
    if target == "spectrum":
        return spectrum(table, database, spectrum_schema, iam_role)
    if target == "athena-delta":
        return athena_delta(table, database)
    raise ExposureError(f"unknown DDL target {target!r}; known: {', '.join(TARGETS)}")


def athena(table: ExposedTable, database: str) -> str:
    """``CREATE EXTERNAL TABLE IF NOT EXISTS`` over the symlink manifests, with partition projection."""
    q = dialects.ATHENA_DDL
    name = q.qualified((database, table.name), "table name")
    projection = _projection(table)
    lines = [f"-- {table.qualified} for Athena: a Hive table over the symlink manifests of the Delta table."]
    lines += _partition_comment(table, projection)
    lines += [f"CREATE EXTERNAL TABLE IF NOT EXISTS {name} ("]
    lines += _column_lines(table, table.columns, q, dialects.hive_type, "Athena")
    lines += [")"]
    if table.partition_columns:
        lines += ["PARTITIONED BY ("]
        lines += _column_lines(table, table.partition_columns, q, dialects.hive_type, "Athena")
        lines += [")"]
    lines += _storage(table.manifest_location)
    if projection:
        lines += ["TBLPROPERTIES ("]
        lines += [f"  {dialects.literal(k, 'property')}={dialects.literal(v, 'property')}," for k, v in projection]
        lines[-1] = lines[-1].rstrip(",")
        lines += [")"]
    return "\n".join(lines) + ";\n"


def spectrum(table: ExposedTable, database: str, schema: str, iam_role: str = "") -> str:
    """External schema, external table and one ``ADD PARTITION`` per manifest partition, for Redshift."""
    q = dialects.REDSHIFT
    glue_db = dialects.literal(dialects.ATHENA_DDL.check(database, "Glue database"), "Glue database")
    name = q.qualified((schema, table.name), "table name")
    lines = [
        f"-- {table.qualified} for Redshift Spectrum: a Hive table over the symlink manifests of the Delta table,",
        "-- in an external schema over the Glue database.",
        f"CREATE EXTERNAL SCHEMA IF NOT EXISTS {q.quote(schema, 'schema name')}",
        f"FROM DATA CATALOG DATABASE {glue_db}",
        f"IAM_ROLE {_iam_role(iam_role)}",
        "CREATE EXTERNAL DATABASE IF NOT EXISTS;",
        "",
        f"CREATE EXTERNAL TABLE {name} (",
    ]
    lines += _column_lines(table, table.columns, q, dialects.redshift_type, "Redshift")
    lines += [")"]
    if table.partition_columns:
        lines += ["PARTITIONED BY ("]
        lines += _column_lines(table, table.partition_columns, q, dialects.redshift_type, "Redshift")
        lines += [")"]
    lines += _storage(table.manifest_location)
    lines[-1] += ";"
    adds = [_add_partition(table, name, partition) for partition in table.partitions]
    if adds:
        lines += ["", *adds]
    return "\n".join(lines) + "\n"


def athena_delta(table: ExposedTable, database: str) -> str:
    """Athena's native Delta table: the location only; the schema comes from the Delta log."""
    name = dialects.ATHENA_DDL.qualified((database, table.name), "table name")
    return "\n".join([
        f"-- {table.qualified} for Athena (engine v3), read natively as Delta: the schema comes from the Delta log.",
        f"CREATE EXTERNAL TABLE {name}",
        location_clause(table.location),
        "TBLPROPERTIES ('table_type'='DELTA');",
    ]) + "\n"


def statements(script: str) -> list[str]:
    """The statements of a rendered script, without comments or the closing ``;``.

    Example:
        >>> statements("-- a comment\\nCREATE SCHEMA x;\\n\\nALTER TABLE t ADD PARTITION (d='1;2');\\n")
        ['CREATE SCHEMA x', "ALTER TABLE t ADD PARTITION (d='1;2')"]
    """
    found: list[str] = []
    current: list[str] = []
    quoted, i = False, 0
    while i < len(script):
        char = script[i]
        if not quoted and script.startswith("--", i):
            end = script.find("\n", i)
            i = len(script) if end < 0 else end
            continue
        if char == "'":
            quoted = not quoted
        if char == ";" and not quoted:
            found.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    found.append("".join(current).strip())
    return [s for s in found if s]


def location_clause(location: str) -> str:
    """``LOCATION '<location>/'`` (one trailing slash), the location checked as a literal."""
    return f"LOCATION {dialects.literal(location.rstrip('/') + '/', 'location')}"


def _storage(manifest_location: str) -> list[str]:
    """The SerDe, input/output formats and manifest location of a symlink table."""
    return [
        f"ROW FORMAT SERDE '{SERDE}'",
        f"STORED AS INPUTFORMAT '{INPUT_FORMAT}'",
        f"OUTPUTFORMAT '{OUTPUT_FORMAT}'",
        location_clause(manifest_location),
    ]


def _column_lines(
    table: ExposedTable,
    columns: tuple[Column, ...],
    quoting: dialects.Quoting,
    spell: Callable[[str], str],
    engine: str,
) -> list[str]:
    """``  <name> <TYPE>,`` per column (the last without comma); names checked, types mapped."""
    if not columns:
        raise ExposureError(f"{table.qualified}: no columns to declare for {engine}")
    _check_unique(table)
    lines = []
    for column in columns:
        try:
            spelled = spell(column.type)
        except ValueError as exc:
            raise ExposureError(
                f"{table.qualified}: column {column.name!r} has type {column.type!r}, which {engine} cannot "
                f"represent ({exc}); supported: {', '.join(dialects.SUPPORTED_TYPES)}"
            ) from None
        lines.append(f"  {quoting.quote(column.name, f'column name in {table.qualified}')} {spelled},")
    lines[-1] = lines[-1].rstrip(",")
    return lines


def _check_unique(table: ExposedTable) -> None:
    seen: set[str] = set()
    for column in (*table.columns, *table.partition_columns):
        if column.name.lower() in seen:
            raise ExposureError(
                f"{table.qualified}: column {column.name!r} appears twice (names are case-insensitive in Athena, "
                "Glue and Redshift)"
            )
        seen.add(column.name.lower())


def _iam_role(iam_role: str) -> str:
    if not iam_role:
        return "default"
    if not all(_ROLE_ARN.fullmatch(part) for part in iam_role.split(",")):
        raise ExposureError(
            f"exposure.spectrum_iam_role: {iam_role!r} is not an IAM role ARN "
            "(arn:aws:iam::<12-digit account>:role/<name>, or several joined by commas)"
        )
    return dialects.literal(iam_role, "IAM role")


def _dates(table: ExposedTable) -> list[dt.date]:
    """The (non-NULL) values of the one partition column, as dates."""
    found = []
    for partition in table.partitions:
        value = partition.values[0]
        if value != HIVE_NULL_PARTITION:
            found.append(_date(table, table.partition_columns[0].name, value))
    return found


def _date(table: ExposedTable, column: str, value: str) -> dt.date:
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ExposureError(
            f"{table.qualified}: partition {column}={value!r} is not a date YYYY-MM-DD"
        ) from None


def _projection(table: ExposedTable) -> list[tuple[str, str]]:
    """Athena partition projection properties for one partition column: a DATE column with partitions
    (days from the first up to today) or a BOOLEAN one (``true``, ``false``); else none."""
    parts = table.partition_columns
    if len(parts) != 1 or parts[0].type not in ("date", "boolean"):
        return []
    column = dialects.ATHENA_DDL.check(parts[0].name, "partition column")
    template = ("storage.location.template", f"{table.manifest_location}/{column}=${{{column}}}")
    if parts[0].type == "boolean":
        return [("projection.enabled", "true"), (f"projection.{column}.type", "enum"),
                (f"projection.{column}.values", "true,false"), template]
    dates = _dates(table)
    if not dates:
        return []
    return [
        ("projection.enabled", "true"),
        (f"projection.{column}.type", "date"),
        (f"projection.{column}.format", "yyyy-MM-dd"),
        (f"projection.{column}.range", f"{min(dates).isoformat()},NOW"),
        (f"projection.{column}.interval", "1"),
        (f"projection.{column}.interval.unit", "DAYS"),
        template,
    ]


def _partition_comment(table: ExposedTable, projection: list[tuple[str, str]]) -> list[str]:
    if not table.partition_columns:
        return []
    column = table.partition_columns[0].name
    if projection and dict(projection)[f"projection.{column}.type"] == "enum":
        return [
            f"-- Partition projection: Athena reads the {column}=true and {column}=false partitions from",
            f"-- {table.manifest_location}/{column}=<value>, with no partition loading",
            "-- (no MSCK REPAIR, no Glue partitions). A value without data reads as empty.",
        ]
    if projection:
        first = dict(projection)[f"projection.{column}.range"].split(",")[0]
        return [
            f"-- Partition projection: Athena computes the {column} partitions from {first} up to today (UTC) and",
            f"-- reads each from {table.manifest_location}/{column}=<date>, so new days need no",
            "-- partition loading (no MSCK REPAIR, no Glue partitions). Days without data read as empty.",
        ]
    return [
        "-- Partitions are not projected (projection needs one DATE partition column that has partitions, or one",
        "-- BOOLEAN column): register them in the Glue Data Catalog (careplus expose, exposure.catalog glue) or",
        "-- with MSCK REPAIR.",
    ]


def _add_partition(table: ExposedTable, name: str, partition: Partition) -> str:
    """``ALTER TABLE ... ADD IF NOT EXISTS PARTITION (...) LOCATION '...';`` (a comment for a NULL value)."""
    q = dialects.REDSHIFT
    specs = []
    for column, value in zip(table.partition_columns, partition.values, strict=True):
        if value == HIVE_NULL_PARTITION:
            return f"-- not added: partition {column.name}=NULL ({HIVE_NULL_PARTITION}), which Spectrum cannot address"
        specs.append(f"{q.quote(column.name, 'partition column')}={_partition_value(table, column, value)}")
    return f"ALTER TABLE {name} ADD IF NOT EXISTS PARTITION ({', '.join(specs)}) {location_clause(partition.location)};"


def _partition_value(table: ExposedTable, column: Column, value: str) -> str:
    if column.type == "date":
        _date(table, column.name, value)
    elif column.type in _INTEGER_TYPES and not re.fullmatch(r"-?\d+", value):
        raise ExposureError(f"{table.qualified}: partition {column.name}={value!r} is not an integer")
    return dialects.literal(value, f"partition value of {table.qualified}.{column.name}")
