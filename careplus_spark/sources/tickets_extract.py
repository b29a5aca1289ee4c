"""Incremental, parallel extraction of the tickets table over JDBC.

How a run reads the source:

1. **Window.** With no cursor (first run, or a bronze table that was recreated) the
   window is the whole table. Otherwise it starts at ``cursor - lookback_minutes``,
   *inclusive*: rows sharing the boundary timestamp and rows committed late with an
   older cursor value inside the overlap are read again, and the bronze MERGE (row
   hash compare) makes the re-read rows a no-op. One planning query
   (``COUNT``, ``MIN``, ``MAX`` of the cursor within the window) fixes the window's
   upper end, in the source's own text form (``CAST(MAX(c) AS CHAR)``), so no time-zone
   conversion ever touches the cursor. Rows committed after the planning query wait for
   the next run (their cursor is past the window's end); the next window starts below it.
2. **Push-down.** The window is a ``WHERE`` in a ``dbtable`` sub-query with an alias,
   so MySQL evaluates it on its ``updated_at`` index; Spark prunes the columns. That SQL
   text is safe by construction (:mod:`careplus_spark.sources.sql_literals`): names are
   checked and quoted, cursors re-formatted from parsed timestamps, keys hex literals.
3. **Partitions.** One JDBC query per predicate (``predicates=[...]``), each a range of
   the key (``partition_by: key``: boundaries are read with ``ORDER BY key LIMIT 1
   OFFSET m``, on the primary key) or of the cursor (``cursor``: equal time slices of
   the window). ``auto`` uses key ranges for a full load (clustered primary-key range
   scans) and cursor ranges for windows. Windows smaller than ``partition_min_rows``
   per partition use fewer partitions; one partition needs no boundary query at all.
4. **De-duplication.** Key ranges are disjoint and each is one consistent statement,
   so a key appears once. Cursor ranges can see a row twice (updated between two
   partitions' queries): :func:`latest_per_key` keeps the latest version per key
   (cursor descending, then the row hash as a deterministic tie-breaker).

Delete reconciliation (:mod:`careplus_spark.bronze.reconcile`) reads the key column alone
(:mod:`careplus_spark.sources.tickets_keys`), in the same key ranges as a full load.

Connector/J defaults added for MySQL URLs (each overridable in ``sources.tickets.options``):
``zeroDateTimeBehavior=CONVERT_TO_NULL``; rows are read as a streaming result set (see
:func:`careplus_spark.sources.jdbc.fetch_size`: never buffered whole, no server-side
temporary table); ``useCursorFetch=true`` switches to a cursor fetch of ``fetch_size`` rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from careplus_spark.errors import DataError, SchemaError
from careplus_spark.platform.config import TicketsSourceConfig
from careplus_spark.sources.jdbc import dialect, jdbc_options, query_rows, require_driver, safe_url, with_retries
from careplus_spark.sources.sql_literals import cursor_literal, format_cursor, literal, parse_cursor, quote
from careplus_spark.sources.tickets_schema import TICKET_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

#: The columns of ``support_tickets`` that the pipeline requires (SPEC 2.1).
REQUIRED_COLUMNS = TICKET_COLUMNS

MYSQL_DEFAULT_OPTIONS = {"zeroDateTimeBehavior": "CONVERT_TO_NULL"}
_WINDOW_ALIAS = "w"


class SchemaDriftError(SchemaError):
    """The source has columns that bronze does not, and ``schema_drift`` is ``fail``."""

    def __init__(self, what: str, new: Sequence[str], present: Sequence[str]) -> None:
        self.missing: list[str] = []
        self.new = sorted(new)
        self.present = list(present)
        Exception.__init__(
            self,
            f"{what}: new source column(s) {self.new} are not in bronze.tickets and "
            f"sources.tickets.schema_drift is 'fail'; set it to 'add' or 'ignore' to go on; "
            f"columns present: {sorted(self.present)}",
        )


@dataclass(frozen=True)
class ExtractWindow:
    """The rows one run reads: cursor values in ``[lower, upper]`` (source text form).

    Attributes:
        lower: inclusive lower end; None reads from the beginning (a full load).
        upper: inclusive upper end (the largest cursor value at planning time); None
            when the window is empty.
        rows: rows in the window at planning time.
        first: the smallest cursor value in the window (used for cursor partitions).
    """

    lower: str | None
    upper: str | None
    rows: int
    first: str | None = None

    @property
    def full(self) -> bool:
        return self.lower is None


@dataclass(frozen=True)
class ReadPlan:
    """How the window is read: the ``dbtable`` sub-query and one predicate per partition."""

    dbtable: str
    predicates: tuple[str, ...]
    mode: str

    @property
    def disjoint_keys(self) -> bool:
        """True when no key can appear in two partitions (no de-duplication needed)."""
        return self.mode != "cursor" or len(self.predicates) == 1


def source_options(source: TicketsSourceConfig) -> TicketsSourceConfig:
    """``source`` with the Connector/J defaults of this module under its own options."""
    if dialect(source.url) not in ("mysql", "mariadb"):
        return source
    return replace(source, options={**MYSQL_DEFAULT_OPTIONS, **dict(source.options)})


def window_start(cursor: str | None, lookback_minutes: int) -> str | None:
    """The inclusive lower end of the next window: the cursor minus the look-back."""
    if cursor is None:
        return None
    return format_cursor(parse_cursor(cursor) - dt.timedelta(minutes=lookback_minutes), cursor)


def window_start_since(lower: str | None, since: dt.date | None) -> str | None:
    """``lower``, or the start of ``since`` when that is earlier (``careplus run ingest_tickets --since``
    re-extracts the rows updated since a date); None (a full load) stays None.

    Example:
        >>> window_start_since("2025-07-03 10:00:00", dt.date(2025, 7, 1))
        '2025-07-01 00:00:00'
        >>> window_start_since("2025-07-03 10:00:00", dt.date(2025, 7, 5))
        '2025-07-03 10:00:00'
    """
    if lower is None or since is None:
        return lower
    start = dt.datetime.combine(since, dt.time())
    return format_cursor(start, lower) if start < parse_cursor(lower) else lower


def window_condition(column: str, window: ExtractWindow, kind: str) -> str:
    """The window as SQL over ``column``; NULL cursors belong to full loads only."""
    col = quote(column)
    if window.upper is None:
        raise DataError("an empty window (no upper end) has no condition")
    upper = f"{col} <= {cursor_literal(window.upper)}"
    if window.lower is None:
        return f"({upper} OR {col} IS NULL)"
    return f"{col} >= {cursor_literal(window.lower)} AND {upper}"


def jdbc_query(spark: SparkSession, source: TicketsSourceConfig, sql: str) -> list[dict[str, str | None]]:
    """Runs a small query on the source (one driver-side connection, retried); values as text.

    Example:
        >>> jdbc_query(spark, cfg.sources.tickets, "SELECT COUNT(*) AS n FROM support_tickets")  # doctest: +SKIP
        [{'n': '300'}]

    Raises:
        AuthenticationError: wrong credentials (at once).
        SourceUnavailableError: the source stayed unreachable through every retry.
    """
    options = jdbc_options(source, query=sql)
    if source.password.is_set():
        options["password"] = source.password.reveal()
    return with_retries(
        lambda: query_rows(spark, options),
        f"JDBC source {safe_url(source.url)}",
        attempts=source.retries,
        backoff_s=source.retry_backoff_s,
    )


def plan_window(spark: SparkSession, source: TicketsSourceConfig, lower: str | None) -> ExtractWindow:
    """Counts the rows at or past ``lower`` and fixes the window's upper end.

    Example:
        >>> plan_window(spark, cfg.sources.tickets, "2025-07-01 09:00:00.000000")  # doctest: +SKIP
        ExtractWindow(lower='2025-07-01 09:00:00.000000', upper='2025-07-02 23:58:01.120000', rows=57, ...)
    """
    col = quote(source.cursor_column)
    where = f" WHERE {col} >= {cursor_literal(lower)}" if lower is not None else ""
    sql = (
        f"SELECT COUNT(*) AS n, CAST(MIN({col}) AS CHAR) AS lo, CAST(MAX({col}) AS CHAR) AS hi "
        f"FROM {quote(source.table)}{where}"
    )
    row = jdbc_query(spark, source, sql)[0]
    rows = int(row["n"] or 0)
    if row["hi"] is None:
        return ExtractWindow(lower, None, rows if lower is not None else 0)
    return ExtractWindow(lower, str(row["hi"]), rows, str(row["lo"]))


def partition_count(rows: int, num_partitions: int, min_rows: int) -> int:
    """Partitions for ``rows`` rows: at most ``num_partitions``, at least ``min_rows`` each."""
    if rows <= 0:
        return 1
    return max(1, min(num_partitions, rows // max(1, min_rows)))


def plan_read(spark: SparkSession, source: TicketsSourceConfig, window: ExtractWindow) -> ReadPlan:
    """The sub-query and partition predicates that read ``window``."""
    kind = dialect(source.url)
    condition = window_condition(source.cursor_column, window, kind)
    dbtable = f"(SELECT * FROM {quote(source.table)} WHERE {condition}) {_WINDOW_ALIAS}"
    count = partition_count(window.rows, source.num_partitions, source.partition_min_rows)
    mode = source.partition_by
    if mode == "auto":
        mode = "key" if window.full else "cursor"
    if count == 1 or mode == "none":
        return ReadPlan(dbtable, ("1=1",), "none")
    if mode == "key":
        bounds = key_boundaries(spark, source, window.rows, count)
        return ReadPlan(dbtable, range_predicates(source.key_column, bounds, kind), "key")
    if window.first is None or window.upper is None:
        return ReadPlan(dbtable, ("1=1",), "none")
    bounds = cursor_boundaries(window.first, window.upper, count)
    return ReadPlan(dbtable, range_predicates(source.cursor_column, bounds, kind, cursor=True), "cursor")


def key_boundaries(spark: SparkSession, source: TicketsSourceConfig, rows: int, count: int) -> list[Any]:
    """``count - 1`` keys splitting the table into key ranges of about equal size (one query).

    The boundaries are taken over the whole table (a primary-key walk, without the
    window's condition, which would make MySQL filter every row): they only balance the
    partitions; the window itself is applied by every partition's query.
    """
    key = quote(source.key_column)
    parts = [
        f"SELECT {key} AS k FROM (SELECT {key} FROM {quote(source.table)} "
        f"ORDER BY {key} LIMIT 1 OFFSET {rows * i // count}) b{i}"
        for i in range(1, count)
    ]
    found = jdbc_query(spark, source, " UNION ALL ".join(parts))
    return sorted({r["k"] for r in found if r["k"] is not None})


def cursor_boundaries(first: str, last: str, count: int) -> list[str]:
    """``count - 1`` cursor values splitting ``[first, last]`` into equal time slices."""
    start, end = parse_cursor(first), parse_cursor(last)
    step = (end - start) / count
    if step <= dt.timedelta(0):
        return []
    values = [format_cursor(start + step * i, first) for i in range(1, count)]
    return sorted(set(values))


def range_predicates(column: str, bounds: Sequence[Any], kind: str, *, cursor: bool = False) -> tuple[str, ...]:
    """Predicates covering every value of ``column`` exactly once (NULLs in the first).

    Each boundary is one literal (:func:`literal`, or :func:`cursor_literal` for a cursor
    column) used on both sides of its split, so the ranges are disjoint and cover every
    value whatever the column's collation.

    Example:
        >>> for predicate in range_predicates("k", ["b", "m"], "mysql"):
        ...     print(predicate)
        `k` < _utf8mb4 X'62' OR `k` IS NULL
        `k` >= _utf8mb4 X'62' AND `k` < _utf8mb4 X'6d'
        `k` >= _utf8mb4 X'6d'
    """
    if not bounds:
        return ("1=1",)
    col = quote(column)
    lits = [cursor_literal(str(b)) if cursor else literal(b, kind) for b in bounds]
    predicates = [f"{col} < {lits[0]} OR {col} IS NULL"]
    predicates += [f"{col} >= {lo} AND {col} < {hi}" for lo, hi in itertools.pairwise(lits)]
    predicates.append(f"{col} >= {lits[-1]}")
    return tuple(predicates)


def open_window(spark: SparkSession, source: TicketsSourceConfig, plan: ReadPlan) -> DataFrame:
    """A lazy DataFrame over the planned partitions (only the schema is read here).

    The password joins the options only now and is never logged.

    Example:
        >>> df = open_window(spark, source, plan_read(spark, source, window))  # doctest: +SKIP
        >>> df.rdd.getNumPartitions()  # doctest: +SKIP
        2
    """
    options = jdbc_options(source, dbtable=plan.dbtable)
    require_driver(spark, options)
    url = options.pop("url")
    options.pop("dbtable")
    properties = {"password": source.password.reveal()} if source.password.is_set() else {}
    log.info(
        "reading %s#%s: %d partition(s) by %s: %s",
        safe_url(source.url), source.table, len(plan.predicates), plan.mode, plan.dbtable,
    )
    return with_retries(
        lambda: spark.read.options(**options).jdbc(
            url, plan.dbtable, predicates=list(plan.predicates), properties=properties
        ),
        f"JDBC source {safe_url(source.url)}",
        attempts=source.retries,
        backoff_s=source.retry_backoff_s,
    )


def source_columns(spark: SparkSession, source: TicketsSourceConfig) -> list[str]:
    """The source table's column names (a schema-only query, retried).

    Example:
        >>> source_columns(spark, cfg.sources.tickets)  # doctest: +SKIP
        ['ticket_id', 'created_at', 'updated_at', ...]
    """
    options = jdbc_options(source, dbtable=quote(source.table))
    require_driver(spark, options)
    if source.password.is_set():
        options["password"] = source.password.reveal()
    return with_retries(
        lambda: spark.read.format("jdbc").options(**options).load().columns,
        f"JDBC source {safe_url(source.url)}",
        attempts=source.retries,
        backoff_s=source.retry_backoff_s,
    )


def required_columns(source: TicketsSourceConfig) -> tuple[str, ...]:
    """The required source columns, including a configured key or cursor column."""
    extra = tuple(c for c in (source.key_column, source.cursor_column) if c not in REQUIRED_COLUMNS)
    return (*REQUIRED_COLUMNS, *extra)


def check_required(columns: Sequence[str], required: Sequence[str], what: str) -> None:
    """Fails naming the missing (removed or renamed) required columns and the present ones.

    Raises:
        SchemaError: a required column is absent.
    """
    missing = [c for c in required if c not in columns]
    if missing:
        raise SchemaError(what, missing, list(columns))


def drifted_columns(
    columns: Sequence[str],
    required: Sequence[str],
    known: Sequence[str],
    policy: str,
    what: str,
) -> list[str]:
    """The optional source columns to keep, by the ``schema_drift`` policy.

    Args:
        columns: the source's columns.
        required: the required columns (always kept, not returned).
        known: optional columns bronze already has (always kept while present).
        policy: ``add`` keeps new columns, ``ignore`` drops them, ``fail`` raises.

    Raises:
        SchemaDriftError: new columns and ``policy == "fail"``.
    """
    optional = [c for c in columns if c not in required]
    new = [c for c in optional if c not in known]
    if new and policy == "fail":
        raise SchemaDriftError(what, new, list(columns))
    if new and policy == "add":
        log.warning("schema drift in %s: new column(s) %s will be added to bronze.tickets", what, new)
    elif new:
        log.warning("schema drift in %s: new column(s) %s ignored (schema_drift=ignore)", what, new)
    keep = optional if policy == "add" else [c for c in optional if c in known]
    return sorted(keep)


