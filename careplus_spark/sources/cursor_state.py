"""Incremental cursors kept in the Delta state table ``ops.cursors``, crash-safe.

A cursor is advanced only after the data it covers has committed. To survive a crash
*between* the data commit and the state write, a writer also stores the new cursor in
its own Delta commit (``userMetadata``, see :func:`commit_metadata`); on start
:func:`resolve` takes the newer of the state row and the latest commit that carries a
cursor. Both values are safe (each was recorded only once its rows were in the table),
so taking the newer one can neither lose nor double rows: the data and its cursor are
one atomic Delta commit, and the state table is only a (self-healing) index of it.

State rows are keyed by ``name`` (e.g. ``tickets:support_tickets``) and remember the
Delta table id of the table they describe, so a recreated table is never read with a
cursor that belonged to its predecessor.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from careplus_spark import tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: How many recent commits :func:`latest_commit_cursor` inspects.
HISTORY_DEPTH = 100
_META_NAME = "cursor_name"
_META_VALUE = "cursor_value"

_SCHEMA = (
    "name STRING, value STRING, table_id STRING, table_version BIGINT, "
    "run_id STRING, runs_since_reconcile INT, last_reconciled_at TIMESTAMP, recorded_at TIMESTAMP"
)


@dataclass(frozen=True)
class CursorState:
    """One cursor: its value in the source's own terms plus where it was recorded.

    Attributes:
        name: what the cursor belongs to, e.g. ``tickets:support_tickets``.
        value: the cursor (``updated_at`` text as the source formats it, or a version).
        table_id: Delta table id of the target the cursor describes.
        table_version: the target's version when the cursor was recorded.
        run_id: the run that recorded it.
        runs_since_reconcile: ingest runs since the last delete reconciliation.
        last_reconciled_at: when deletes were last reconciled (None: never).
    """

    name: str
    value: str | None
    table_id: str | None = None
    table_version: int | None = None
    run_id: str = ""
    runs_since_reconcile: int = 0
    last_reconciled_at: dt.datetime | None = None


@dataclass(frozen=True)
class TableInfo:
    """Identity, size and properties of a Delta table (from ``DESCRIBE DETAIL``)."""

    table_id: str
    version: int
    num_files: int
    properties: Mapping[str, str]
    #: (version, userMetadata) of the latest HISTORY_DEPTH commits, newest first.
    commits: tuple[tuple[int, str | None], ...] = ()


def table_info(spark: SparkSession, table: tables.TableRef) -> TableInfo | None:
    """The Delta table id, latest version, file count, properties and recent commits.

    Returns:
        None when there is no table at the path.
    """
    if not tables.exists(spark, table):
        return None
    from delta.tables import DeltaTable

    target = DeltaTable.forPath(spark, table.path)
    detail = target.detail().select("id", "numFiles", "properties").first()
    history = target.history(HISTORY_DEPTH).select("version", "userMetadata").collect()
    commits = tuple(sorted(((int(r["version"]), r["userMetadata"]) for r in history), reverse=True))
    return TableInfo(
        table_id=str(detail["id"]),  # type: ignore[index]
        version=commits[0][0] if commits else 0,
        num_files=int(detail["numFiles"] or 0),  # type: ignore[index]
        properties=dict(detail["properties"] or {}),  # type: ignore[index]
        commits=commits,
    )


def commit_metadata(name: str, value: str, **extra: str) -> dict[str, str]:
    """The ``userMetadata`` entries that carry a cursor inside a Delta commit.

    Example:
        >>> commit_metadata("tickets:t", "2025-07-01 10:00:00.000000", run_id="r1")
        {'run_id': 'r1', 'cursor_name': 'tickets:t', 'cursor_value': '2025-07-01 10:00:00.000000'}
    """
    return {**extra, _META_NAME: name, _META_VALUE: value}


def latest_commit_cursor(info: TableInfo | None, name: str) -> CursorState | None:
    """The cursor of the newest commit (of ``info``'s table) that carries one for ``name``.

    Example:
        >>> latest_commit_cursor(table_info(spark, bronze), "tickets:t")  # doctest: +SKIP
        CursorState(name='tickets:t', value='2025-07-01 10:00:00.000000', ..., table_version=3)
    """
    for version, text in info.commits if info is not None else ():
        meta = _parse(text)
        if meta.get(_META_NAME) == name and meta.get(_META_VALUE):
            return CursorState(name=name, value=meta[_META_VALUE], table_version=version, run_id=meta.get("run_id", ""))
    return None


def _parse(text: str | None) -> Mapping[str, str]:
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def load(spark: SparkSession, state_table: tables.TableRef, name: str) -> CursorState | None:
    """The state row of ``name``; None when there is none (or no state table yet)."""
    if not tables.exists(spark, state_table):
        return None
    from pyspark.sql import functions as F

    # collect(), not first(): one job over the (tiny) table instead of a growing limit scan.
    rows = spark.read.format("delta").load(state_table.path).where(F.col("name") == name).collect()
    if not rows:
        return None
    row = rows[0]
    return CursorState(
        name=name,
        value=row["value"],
        table_id=row["table_id"],
        table_version=row["table_version"],
        run_id=row["run_id"] or "",
        runs_since_reconcile=int(row["runs_since_reconcile"] or 0),
        last_reconciled_at=row["last_reconciled_at"],
    )


def save(spark: SparkSession, state_table: tables.TableRef, state: CursorState) -> None:
    """Replaces the state row of ``state.name`` (one ``replaceWhere`` overwrite, no join).

    Call it only after the data the cursor covers has committed.

    Example:
        >>> save(spark, TableRef("ops", "cursors", root), CursorState("tickets:t", "2025-07-01 10:00:00"))  # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    values = (
        state.name,
        state.value,
        state.table_id,
        state.table_version,
        state.run_id,
        state.runs_since_reconcile,
        state.last_reconciled_at,
        dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )
    # One row of typed literals over spark.range(1): a plan of the JVM alone. A
    # createDataFrame of Python rows would start a Python worker (seconds in a cold run).
    fields = [f.split() for f in _SCHEMA.split(", ")]
    row = spark.range(1).select(
        *[F.lit(v).cast(kind).alias(name) for v, (name, kind) in zip(values, fields, strict=True)]
    )
    created = not tables.exists(spark, state_table)
    name = state.name.replace("'", "''")
    writer = row.write.format("delta").option(
        "userMetadata", json.dumps({"run_id": state.run_id, "step": "cursor"}, sort_keys=True)
    )
    if created:  # the first row creates the table: nothing to replace (and no replaceWhere check job)
        writer.mode("append").save(state_table.path)
    else:
        writer.mode("overwrite").option("replaceWhere", f"name = '{name}'").save(state_table.path)
    if created:
        tables.register(spark, state_table)


def resolve(
    state: CursorState | None,
    committed: CursorState | None,
    target: TableInfo | None,
) -> CursorState | None:
    """The cursor to resume from: the newer of the state row and the latest commit's.

    The state row counts only when it describes the current table (same Delta table id);
    a cursor found in the table's own commits always describes it. "Newer" is decided by
    the table version each was recorded at: a commit newer than the state row means the
    run stopped between its data commit and its state write; a state row at or past the
    commit (a later run that found nothing new) wins.

    Returns:
        None when no trustworthy cursor exists (the caller does a full load).
    """
    if target is None:
        return None
    trusted = state if state is not None and state.value and state.table_id == target.table_id else None
    if state is not None and trusted is None and state.value:
        log.warning("cursor %s: state row describes another table (id %s, now %s); ignoring it",
                    state.name, state.table_id, target.table_id)
    if committed is None:
        return trusted
    committed = replace(committed, table_id=target.table_id)
    if trusted is None:
        return replace(committed, runs_since_reconcile=state.runs_since_reconcile if state else 0,
                       last_reconciled_at=state.last_reconciled_at if state else None)
    later = committed if (trusted.table_version or -1) < (committed.table_version or -1) else trusted
    if later is committed:
        log.warning(
            "cursor %s: recovered %s from commit %s of the table (the state table lagged at version %s: "
            "a run stopped between its data commit and its state write)",
            committed.name, committed.value, committed.table_version, trusted.table_version,
        )
        return replace(committed, runs_since_reconcile=trusted.runs_since_reconcile,
                       last_reconciled_at=trusted.last_reconciled_at)
    return trusted
