"""Cursors and watermarks kept in the Delta state table ``ops.cursors``, crash-safe.

A state row remembers how far a reader got: an extraction cursor (``updated_at`` text
as the source formats it) or a watermark (the last version of an input table that a
consumer processed, see :mod:`careplus_spark.lakehouse.incremental`). Rows are keyed by
``name`` and remember the Delta table id of the table they describe, so a recreated
table is never read with a cursor that belonged to its predecessor. ``attributes`` carry
what a particular reader needs besides (the tickets code keeps its reconciliation
schedule there); this module never interprets them.

A cursor is advanced only after the data it covers has committed. To survive a crash
*between* the data commit and the state write, a writer may also store the new cursor
in its own Delta commit (``userMetadata``, see :func:`commit_metadata`); on start
:func:`resolve` takes the newer of the state row and the latest commit that carries a
cursor. Both values are safe (each was recorded only once its rows were in the table),
so taking the newer one can neither lose nor double rows: the data and its cursor are
one atomic Delta commit, and the state table is only a (self-healing) index of it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

from careplus_spark.errors import ConfigError
from careplus_spark.lakehouse import tables
from careplus_spark.lakehouse.delta import TableInfo
from careplus_spark.lakehouse.rows import literal_rows

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

_META_NAME = "cursor_name"
_META_VALUE = "cursor_value"
#: A state row's name: letters, digits and ``_ . : < > # / -`` (it is written into the
#: ``replaceWhere`` predicate of :func:`save`, so nothing else may reach it).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.:<>#/-]{1,200}")

#: Every cursor this process saved, in order: (state table path, name, value).
_SAVED: list[tuple[str, str, str | None]] = []

_SCHEMA = (
    ("name", "STRING"),
    ("value", "STRING"),
    ("table_id", "STRING"),
    ("table_version", "BIGINT"),
    ("run_id", "STRING"),
    ("attributes", "MAP<STRING,STRING>"),
    ("recorded_at", "TIMESTAMP"),
)


@dataclass(frozen=True)
class CursorState:
    """One cursor or watermark: its value plus where it was recorded.

    Attributes:
        name: what the cursor belongs to, e.g. ``tickets:support_tickets`` or
            ``silver.logs<-bronze.logs``.
        value: the cursor (source text, or a table version as text).
        table_id: Delta table id of the table the cursor describes.
        table_version: that table's version when the cursor was recorded.
        run_id: the run that recorded it.
        attributes: the reader's own extra fields (text), carried along unchanged.
    """

    name: str
    value: str | None
    table_id: str | None = None
    table_version: int | None = None
    run_id: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)


def check_name(name: str) -> str:
    """``name`` when it is a valid state name.

    Raises:
        ConfigError: the name holds characters outside :data:`NAME_PATTERN` (it usually
            comes from a configured table name).
    """
    if not NAME_PATTERN.fullmatch(name):
        raise ConfigError(
            f"invalid cursor name {name!r}: only letters, digits and _ . : < > # / - are allowed "
            "(check the configured source table name)"
        )
    return name


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
    return load_many(spark, state_table, [name]).get(name)


def load_many(spark: SparkSession, state_table: tables.TableRef, names: list[str]) -> dict[str, CursorState]:
    """The state rows of ``names`` (one small job), by name; missing names are left out."""
    if not names or not tables.exists(spark, state_table):
        return {}
    from pyspark.sql import functions as F

    # collect(), not first(): one job over the (tiny) table instead of a growing limit scan.
    df = spark.read.format("delta").load(state_table.path)
    attributes = F.col("attributes") if "attributes" in df.columns else F.lit(None)
    rows = df.where(F.col("name").isin(*names)).select(
        "name", "value", "table_id", "table_version", "run_id", attributes.alias("attributes")
    ).collect()
    return {
        row["name"]: CursorState(
            name=row["name"],
            value=row["value"],
            table_id=row["table_id"],
            table_version=row["table_version"],
            run_id=row["run_id"] or "",
            attributes=dict(row["attributes"] or {}),
        )
        for row in rows
    }


def save(spark: SparkSession, state_table: tables.TableRef, *states: CursorState) -> None:
    """Replaces the state rows of ``states`` in one commit (a ``replaceWhere`` overwrite, no join).

    Call it only after the data the cursors cover has committed. Each saved value is also
    noted in this process's journal (:func:`saved_since`).

    Example:
        >>> save(spark, ctx.ref(catalog.CURSORS), CursorState("tickets:t", "2025-07-01 10:00:00"))  # doctest: +SKIP

    Raises:
        ConfigError: a state name is not valid (:func:`check_name`).
    """

    if not states:
        return
    names = [check_name(s.name) for s in states]
    recorded_at = dt.datetime.now(dt.UTC)
    values = [{**asdict(s), "attributes": dict(s.attributes) or None, "recorded_at": recorded_at} for s in states]
    data = literal_rows(spark, values, _SCHEMA)
    created = not tables.exists(spark, state_table)
    writer = data.write.format("delta").option(
        "userMetadata", json.dumps({"run_id": states[0].run_id, "step": "cursor"}, sort_keys=True)
    )
    if created:  # the first rows create the table: nothing to replace (and no replaceWhere check job)
        writer.mode("append").save(state_table.path)
        tables.register(spark, state_table)
    else:
        # names are checked against NAME_PATTERN: no quote or backslash can reach the predicate
        predicate = "name IN (" + ", ".join(f"'{n}'" for n in names) + ")"
        writer.mode("overwrite").option("replaceWhere", predicate).option("mergeSchema", "true").save(state_table.path)
    _SAVED.extend((state_table.path, s.name, s.value) for s in states)


def saved_mark() -> int:
    """A mark in this process's journal of saved cursors, for :func:`saved_since`."""
    return len(_SAVED)


def saved_since(state_table: tables.TableRef, mark: int) -> dict[str, str | None]:
    """The cursors of ``state_table`` this process saved after ``mark``: the last value by name.

    The run ledger records the cursors a step moved from this journal instead of reading
    ``ops.cursors`` again after every step (every cursor is written by :func:`save`, and the
    run lock keeps other processes out while a run writes).

    Example:
        >>> mark = saved_mark(); save(spark, table, CursorState("a", "2")); saved_since(table, mark)  # doctest: +SKIP
        {'a': '2'}
    """
    return {name: value for path, name, value in _SAVED[mark:] if path == state_table.path}


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
        return replace(committed, attributes=state.attributes if state else {})
    later = committed if (trusted.table_version or -1) < (committed.table_version or -1) else trusted
    if later is committed:
        log.warning(
            "cursor %s: recovered %s from commit %s of the table (the state table lagged at version %s: "
            "a run stopped between its data commit and its state write)",
            committed.name, committed.value, committed.table_version, trusted.table_version,
        )
        return replace(committed, attributes=trusted.attributes)
    return trusted
