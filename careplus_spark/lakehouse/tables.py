"""Delta tables by name and a typed MERGE API.

Every table lives at ``<lakehouse.root>/<database>/<name>`` and is registered in the
catalog as ``<database>.<name>``, so Spark SQL, ``careplus sql`` and ``spark-sql``
find it by name while Athena/Spectrum read the same files through manifests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from careplus_spark.errors import SchemaError
from careplus_spark.lakehouse import delta, registry
from careplus_spark.lakehouse.delta import TableInfo

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import StructType


@dataclass(frozen=True)
class TableRef:
    """A Delta table: catalog name plus storage location."""

    database: str
    name: str
    root: str

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}"

    @property
    def path(self) -> str:
        return f"{self.root}/{self.database}/{self.name}"


@dataclass(frozen=True)
class MergeResult:
    """What one upsert did; ``version`` is None when nothing was written."""

    table: str
    inserted: int
    updated: int
    deleted: int
    version: int | None

    @property
    def changed(self) -> bool:
        return self.version is not None


def exists(spark: SparkSession, table: TableRef) -> bool:
    """True when a Delta table exists at the table's path."""
    return delta.is_delta(spark, table.path)


def row_hash(columns: Sequence[str], optional: Sequence[str] = ()) -> Column:
    """The change-detection hash the upserts compare: a 64-bit xxHash of typed values.

    Each column contributes its NULL flag and its value, hashed as stored (no text
    formatting: a timestamp is its microseconds, a string its UTF-8 bytes), so NULL, ''
    and values shifted between columns all hash differently. It only tells whether a
    key's values changed (compared for the same key), so 64 bits are plenty.

    ``optional`` columns (added by schema drift) count only when not NULL, by name and
    value: adding or dropping an all-NULL column leaves every hash unchanged.

    Example:
        >>> df.select(row_hash(["ticket_id", "status"]).alias("_row_hash"))  # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    parts: list[Column] = []
    for name in columns:
        column = F.col(f"`{name}`")
        parts += [column.isNull(), column]
    for name in sorted(optional):
        column = F.col(f"`{name}`")
        parts += [F.when(column.isNotNull(), F.lit(name)), column]  # Spark's hash skips NULLs
    return F.xxhash64(*parts)


def days_predicate(column: str, days: Sequence[dt.date | None] | None) -> str:
    """SQL selecting rows of the given days (NULL included when listed); ``true`` for all.

    The days are typed dates, formatted here: no text from outside reaches the predicate.
    A literal list lets Delta prune partitions and skip files by their statistics.

    Example:
        >>> days_predicate("log_date", [dt.date(2025, 7, 1), None])
        "(log_date IN ('2025-07-01') OR log_date IS NULL)"
    """
    if days is None:
        return "true"
    known = sorted(d for d in days if d is not None)
    parts = []
    if known:
        parts.append(f"{column} IN ({', '.join(repr(d.isoformat()) for d in known)})")
    if any(d is None for d in days):
        parts.append(f"{column} IS NULL")
    return "(" + " OR ".join(parts) + ")" if parts else "false"


def register(spark: SparkSession, table: TableRef) -> None:
    """Registers an existing Delta location in the catalog under its qualified name, without SQL text.

    Raises:
        ConfigError: the database or table name is not a valid catalog name
            (:func:`careplus_spark.lakehouse.registry.check_name`).
    """
    registry.register_location(spark, table.database, table.name, table.path)


def plain_schema(df: DataFrame) -> StructType:
    """``df``'s schema without field metadata (no CHAR/VARCHAR length constraints)."""
    from pyspark.sql.types import StructField, StructType

    return StructType([StructField(f.name, f.dataType, f.nullable) for f in df.schema.fields])


def create_if_missing(
    spark: SparkSession,
    table: TableRef,
    df: DataFrame,
    partition_by: Sequence[str] = (),
    properties: Mapping[str, str] | None = None,
) -> bool:
    """Creates an empty Delta table with ``df``'s schema when none exists; registers it.

    A table created with symlink manifests on (:data:`~careplus_spark.lakehouse.delta.SYMLINK_MANIFEST`)
    gets its first full manifest here; Delta keeps it current on every later commit.

    Returns:
        True when the table was created by this call.
    """
    created = False
    if not exists(spark, table):
        from delta.tables import DeltaTable

        builder = DeltaTable.createIfNotExists(spark).location(table.path).addColumns(plain_schema(df))
        if partition_by:
            builder = builder.partitionedBy(*partition_by)
        for key, value in (properties or {}).items():
            builder = builder.property(key, value)
        builder.execute()
        created = True
        if (properties or {}).get(delta.SYMLINK_MANIFEST, "").lower() == "true":
            delta.generate_manifest(spark, table.path)
    register(spark, table)
    return created


def create_with_rows(
    spark: SparkSession,
    table: TableRef,
    rows: DataFrame,
    partition_by: Sequence[str] = (),
    properties: Mapping[str, str] | None = None,
    commit_info: Mapping[str, str] | None = None,
) -> MergeResult:
    """Creates a missing table holding ``rows`` in one commit (what a MERGE into a new empty table
    would insert, without creating it first and reading it back), and registers it. Table
    properties (``delta.*`` only) are writer options: a manifest comes with the same commit.
    """
    from pyspark.sql import functions as F

    if any(not k.startswith("delta.") for k in properties or {}):
        raise ValueError(f"table properties of {table.qualified} must start with 'delta.': {properties}")
    plain = rows.select(*[F.col(f"`{c}`").alias(c, metadata={}) for c in rows.columns])  # as plain_schema
    writer = plain.write.format("delta").mode("append")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    for key, value in (properties or {}).items():
        writer = writer.option(key, value)
    with delta.commit_metadata(spark, commit_info):
        writer.save(table.path)
    register(spark, table)
    last = delta.last_commit(spark, table.path)
    inserted = int(last.metrics.get("numOutputRows", 0)) if last else 0
    return MergeResult(table.qualified, inserted, 0, 0, last.version if last else None)


def upsert(
    spark: SparkSession,
    df: DataFrame,
    table: TableRef,
    keys: Sequence[str],
    *,
    partition_by: Sequence[str] = (),
    update_condition: str | None = None,
    properties: Mapping[str, str] | None = None,
    commit_info: Mapping[str, str] | None = None,
    target_filter: str | None = None,
    delete_unmatched: str | None = None,
) -> MergeResult:
    """MERGEs ``df`` into ``table`` on ``keys``: matched rows update, others insert.

    The table is created (and registered) with ``df``'s schema on first write.

    Example:
        >>> upsert(spark, df, TableRef("bronze", "tickets", root), keys=["ticket_id"],
        ...        update_condition="s._row_hash <> t._row_hash")  # doctest: +SKIP
        MergeResult(table='bronze.tickets', inserted=10, updated=2, deleted=0, version=3)

    Args:
        update_condition: SQL over aliases ``t`` (target) and ``s`` (source); a matched
            row is updated only when it holds (use it to skip unchanged rows).
        commit_info: user metadata stored in the Delta commit (``userMetadata``).
        target_filter: SQL over ``t`` ANDed into the match condition, e.g. a partition
            filter so that only the partitions the batch touches are read.
        delete_unmatched: SQL over ``t``: target rows it selects that have no source row
            are deleted (``"true"`` for all); makes the source authoritative there.

    Raises:
        SchemaError: a key column is missing from ``df``.
    """
    from delta.tables import DeltaTable

    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise SchemaError(f"upsert into {table.qualified}", missing, df.columns)
    if not exists(spark, table):
        return create_with_rows(spark, table, df, partition_by, properties, commit_info)
    target = DeltaTable.forPath(spark, table.path)
    before = delta.latest_version(spark, table.path)
    condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    if target_filter:
        condition = f"({target_filter}) AND {condition}"
    if delete_unmatched and target_filter and target_filter.strip().lower() != "true":
        merge = _scoped_merge(spark, df, table, target, keys, condition, update_condition, delete_unmatched)
    else:
        merge = target.alias("t").merge(df.alias("s"), condition)
        merge = merge.whenMatchedUpdateAll(condition=update_condition).whenNotMatchedInsertAll()
        if delete_unmatched:
            merge = merge.whenNotMatchedBySourceDelete(condition=delete_unmatched)
    delta.run_merge(spark, merge, commit_info)
    return _result(spark, table, before)


def apply_ops(
    spark: SparkSession,
    ops: DataFrame,
    table: TableRef,
    condition: str,
    commit_info: Mapping[str, str] | None = None,
    op_column: str = "_op",
) -> MergeResult:
    """Applies rows carrying an ``_op`` of ``upsert`` or ``delete`` in one MERGE.

    Matched rows are deleted (``delete``) or updated (``upsert``); unmatched ``upsert``
    rows are inserted. ``condition`` matches target ``t`` and source ``s``. Nothing is
    written (no version) when ``ops`` is empty. The table must exist.

    Example:
        >>> apply_ops(spark, ops, TableRef("silver", "tickets", root), "t.ticket_id <=> s.ticket_id")  # doctest: +SKIP
        MergeResult(table='silver.tickets', inserted=250, updated=3, deleted=2, version=4)
    """
    from delta.tables import DeltaTable

    if ops.isEmpty():
        return MergeResult(table.qualified, 0, 0, 0, None)
    target = DeltaTable.forPath(spark, table.path)
    before = delta.latest_version(spark, table.path)
    values = {f"`{c}`": f"s.`{c}`" for c in ops.columns if c != op_column}
    merge = (
        target.alias("t")
        .merge(ops.alias("s"), condition)
        .whenMatchedDelete(condition=f"s.{op_column} = 'delete'")
        .whenMatchedUpdate(condition=f"s.{op_column} = 'upsert'", set=values)  # type: ignore[arg-type]
        .whenNotMatchedInsert(condition=f"s.{op_column} = 'upsert'", values=values)  # type: ignore[arg-type]
    )
    delta.run_merge(spark, merge, commit_info)
    return _result(spark, table, before)


def _scoped_merge(
    spark: SparkSession,
    df: DataFrame,
    table: TableRef,
    target: object,
    keys: Sequence[str],
    condition: str,
    update_condition: str | None,
    delete_unmatched: str,
) -> Any:
    """A MERGE that deletes the scope's vanished rows without scanning the whole target.

    ``whenNotMatchedBySource`` makes Delta read (and rewrite) every file of the target,
    whatever its condition. Instead, the keys of target rows selected by
    ``delete_unmatched`` (a partition filter, so only those partitions are read) that have
    no source row are added to the source as deletions; the match condition, limited by
    ``target_filter``, then touches only the scope's files.
    """
    from pyspark.sql import functions as F

    gone_flag = "_merge_gone"
    current = (
        spark.read.format("delta").load(table.path).alias("t").where(delete_unmatched)
        .select(*[F.col(f"t.`{k}`").alias(k) for k in keys])
    )
    gone = current.join(df.select(*keys), on=list(keys), how="left_anti").withColumn(gone_flag, F.lit(True))
    source = df.withColumn(gone_flag, F.lit(False)).unionByName(gone, allowMissingColumns=True)
    values = {c: f"s.`{c}`" for c in df.columns}
    update_when = f"NOT s.{gone_flag}" + (f" AND ({update_condition})" if update_condition else "")
    return (
        target.alias("t")  # type: ignore[attr-defined]
        .merge(source.alias("s"), condition)
        .whenMatchedDelete(condition=f"s.{gone_flag}")
        .whenMatchedUpdate(condition=update_when, set=values)
        .whenNotMatchedInsert(condition=f"NOT s.{gone_flag}", values=values)
    )


def sync_keys(
    spark: SparkSession,
    rows: DataFrame,
    table: TableRef,
    key: str,
    scope_keys: DataFrame,
    *,
    key_range: tuple[object, object] | None = None,
    partition_by: Sequence[str] = (),
    update_condition: str | None = None,
    properties: Mapping[str, str] | None = None,
    commit_info: Mapping[str, str] | None = None,
) -> MergeResult:
    """Makes ``table`` hold exactly ``rows`` for the keys in ``scope_keys``, in one MERGE.

    Keys of the scope with a row are inserted or (when ``update_condition`` holds)
    updated; keys of the scope without one are deleted from the table. Rows outside
    the scope are not touched. ``key_range`` (lowest, highest scope key) narrows the
    target scan to files whose key statistics overlap it.

    Example:
        >>> sync_keys(spark, fresh_rows, TableRef("gold", "fct_tickets", root), "ticket_id",
        ...           changed_ids, update_condition="s._row_hash <> t._row_hash")  # doctest: +SKIP
        MergeResult(table='gold.fct_tickets', inserted=3, updated=1, deleted=1, version=7)
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    if key not in rows.columns:
        raise SchemaError(f"sync_keys into {table.qualified}", [key], rows.columns)
    if not exists(spark, table):
        scoped = rows.join(scope_keys.select(key), key, "left_semi")
        return create_with_rows(spark, table, scoped, partition_by, properties, commit_info)
    target = DeltaTable.forPath(spark, table.path)
    before = delta.latest_version(spark, table.path)
    present = "_present"
    source = scope_keys.select(key).join(rows.withColumn(present, F.lit(True)), key, "left")
    values = {c: f"s.`{c}`" for c in rows.columns}
    target_key = F.col(f"t.`{key}`")
    condition = target_key == F.col(f"s.`{key}`")
    if key_range is not None and key_range[0] is not None:
        # typed literals in a Column: the key values never become SQL text
        condition = target_key.between(F.lit(key_range[0]), F.lit(key_range[1])) & condition
    update_when = f"s.{present}" + (f" AND ({update_condition})" if update_condition else "")
    merge = (
        target.alias("t")
        .merge(source.alias("s"), condition)
        .whenMatchedDelete(condition=f"s.{present} IS NULL")
        .whenMatchedUpdate(condition=update_when, set=values)  # type: ignore[arg-type]
        .whenNotMatchedInsert(condition=f"s.{present}", values=values)  # type: ignore[arg-type]
    )
    delta.run_merge(spark, merge, commit_info)
    return _result(spark, table, before)


def _result(spark: SparkSession, table: TableRef, before: int) -> MergeResult:
    last = delta.last_commit(spark, table.path)
    if last is None or last.version == before:
        return MergeResult(table.qualified, 0, 0, 0, None)
    return MergeResult(
        table=table.qualified,
        inserted=int(last.metrics.get("numTargetRowsInserted", 0)),
        updated=int(last.metrics.get("numTargetRowsUpdated", 0)),
        deleted=int(last.metrics.get("numTargetRowsDeleted", 0)),
        version=last.version,
    )


#: Registers every Delta table under ``<root>/<database>/`` that the catalog lacks (see the registry).
register_existing = registry.register_existing


def table_info(spark: SparkSession, table: TableRef, history: bool = True) -> TableInfo | None:
    """The table's Delta id, latest version, file count, properties and (``history``) recent commits.

    Returns:
        None when there is no table at the path.
    """
    return delta.table_info(spark, table.path, history)
