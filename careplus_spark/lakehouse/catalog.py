"""Every table of the lakehouse, declared once.

A :class:`Table` says where a table lives (database, name), how rows are identified
(``keys``), how it is laid out (``partition_by``), whether it records a change data feed
(read by the next layer's incremental step), whether query engines outside Spark read it
(``exposed``: symlink manifests, DDL, Glue catalog), whether a MERGE marks replaced rows in
deletion vectors instead of rewriting their files (``deletion_vectors``: never on an exposed
table, a manifest cannot carry them), and where the code that defines its
columns lives (``schema``, a ``module:attribute`` reference that a test resolves).

A gold table also carries its :class:`Model`: the step that refreshes it, the column
that bounds a refresh (``scope``) and its inputs. :mod:`careplus_spark.gold.refresh`
builds its models from these entries, the pipeline its gold steps, and status, exposure
and maintenance iterate :data:`TABLES` instead of spelling names.

Adding a gold model is adding an entry to :data:`TABLES` (after its inputs), its
transform in :mod:`careplus_spark.gold.models` (``@gold_model("<name>")``) and, to check
its rows, ``quality/rules/gold.<name>.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from careplus_spark.lakehouse import registry
from careplus_spark.lakehouse.delta import CHANGE_FEED, DELETION_VECTORS, SYMLINK_MANIFEST
from careplus_spark.lakehouse.tables import TableRef

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: The databases (folders under ``lakehouse.root``), in layer order.
DATABASES: tuple[str, ...] = ("bronze", "silver", "gold", "ops")

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Input:
    """An input table of a gold model and its column that maps onto the model's scope."""

    table: str  # "<database>.<name>"
    scope_from: str


@dataclass(frozen=True)
class Model:
    """How a gold table is refreshed: by which step, bounded by which column, from what."""

    step: str
    scope: str
    inputs: tuple[Input, ...]


@dataclass(frozen=True)
class Table:
    """One table of the lakehouse.

    Attributes:
        database: ``bronze``, ``silver``, ``gold`` or ``ops``.
        name: the table's name in its database (and its folder).
        keys: the columns that identify a row (MERGE condition, quality rules).
        schema: ``module:attribute`` of the code that defines the table's columns.
        partition_by: partition columns.
        change_feed: the table records a Delta change data feed for incremental readers.
        exposed: query engines outside Spark read it (Athena, Redshift Spectrum).
        deletion_vectors: updates and deletes mark the old rows in deletion vectors and
            write only the new ones, instead of rewriting every file a MERGE touches: a
            day's ticket updates reach files of every day, so without them the cost of a
            daily MERGE follows the table's size (issue 15). Not on exposed tables.
        model: for a gold table, how it is refreshed.
    """

    database: str
    name: str
    keys: tuple[str, ...]
    schema: str
    partition_by: tuple[str, ...] = ()
    change_feed: bool = False
    exposed: bool = False
    model: Model | None = None
    deletion_vectors: bool = False

    def __post_init__(self) -> None:
        for part in (self.database, self.name):
            if not _IDENTIFIER.fullmatch(part):
                raise ValueError(f"catalog: invalid table identifier {part!r}")
        if self.exposed and self.deletion_vectors:
            raise ValueError(f"catalog: {self.qualified} is exposed: symlink manifests cannot carry deletion vectors")

    @property
    def qualified(self) -> str:
        return f"{self.database}.{self.name}"

    def ref(self, root: str) -> TableRef:
        """The table in the lakehouse at ``root``."""
        return TableRef(self.database, self.name, root)

    @property
    def properties(self) -> dict[str, str]:
        """Delta table properties the catalog prescribes (on creation): change feed, symlink manifests,
        deletion vectors."""
        properties = {CHANGE_FEED: "true"} if self.change_feed else {}
        if self.exposed:
            properties[SYMLINK_MANIFEST] = "true"
        if self.deletion_vectors:
            properties[DELETION_VECTORS] = "true"
        return properties


def _gold(name: str, keys: tuple[str, ...], model: Model, partition_by: tuple[str, ...] = ()) -> Table:
    return Table("gold", name, keys, f"careplus_spark.gold.models:{name}", partition_by, change_feed=True,
                 exposed=True, model=model)


BRONZE_TICKETS = Table("bronze", "tickets", ("ticket_id",), "careplus_spark.bronze.tickets:BRONZE_COLUMNS",
                       change_feed=True, deletion_vectors=True)
BRONZE_LOGS = Table("bronze", "logs", ("_source_file", "_offset"), "careplus_spark.bronze.logs:to_bronze",
                    ("log_date",), change_feed=True)
BRONZE_LOGS_QUARANTINE = Table("bronze", "logs_quarantine", ("_source_file", "_offset"),
                               "careplus_spark.bronze.logs:QUARANTINE_COLUMNS")
SILVER_TICKETS = Table("silver", "tickets", ("ticket_id",), "careplus_spark.silver.tickets:silver_ops",
                       change_feed=True, deletion_vectors=True)
SILVER_TICKETS_QUARANTINE = Table("silver", "tickets_quarantine", ("ticket_id",),
                                  "careplus_spark.silver.tickets:QUARANTINE_COLUMNS")
SILVER_LOGS = Table("silver", "logs", ("event_id", "log_date"), "careplus_spark.silver.logs:distinct_events",
                    ("log_date",), change_feed=True)
SILVER_LOGS_QUARANTINE = Table("silver", "logs_quarantine", ("_source_file", "_offset"),
                               "careplus_spark.silver.logs:QUARANTINE_COLUMNS")
#: The ticket facts are partitioned by ``is_open`` (never NULL): a day's updates are mostly
#: resolutions of open tickets, so a MERGE rewrites the open partition (the open tickets,
#: a number that does not grow with the history) and appends to the resolved one, whose
#: files it leaves alone; unpartitioned, the updates reached every file (issue 15).
TICKETS_LAYOUT = ("is_open",)
FCT_TICKETS = _gold("fct_tickets", ("ticket_id",),
                    Model("gold_tickets", "ticket_id", (Input("silver.tickets", "ticket_id"),)),
                    partition_by=TICKETS_LAYOUT)
FCT_LOGS = _gold("fct_logs", ("event_id", "log_date"),
                 Model("gold_logs", "log_date", (Input("silver.logs", "log_date"),)), partition_by=("log_date",))
FCT_TICKET_LOG_SUMMARY = _gold(
    "fct_ticket_log_summary", ("ticket_id",),
    Model("gold_summary", "ticket_id", (Input("gold.fct_tickets", "ticket_id"), Input("gold.fct_logs", "ticket_id"))),
    partition_by=TICKETS_LAYOUT,
)
KPI_TICKETS_DAILY = _gold("kpi_tickets_daily", ("created_date", "priority", "channel"),
                          Model("gold_kpis", "created_date", (Input("gold.fct_tickets", "created_date"),)))
KPI_AGENTS_DAILY = _gold("kpi_agents_daily", ("created_date", "agent"),
                         Model("gold_kpis", "created_date", (Input("gold.fct_tickets", "created_date"),)))
KPI_SERVICE_HOURLY = _gold("kpi_service_hourly", ("log_date", "log_hour", "service"),
                           Model("gold_kpis", "log_date", (Input("gold.fct_logs", "log_date"),)))
GOLD_QUARANTINE = Table("gold", "quarantine", ("table", "row_key", "row_hash"),
                        "careplus_spark.quality.store:QUARANTINE_SCHEMA")
CURSORS = Table("ops", "cursors", ("name",), "careplus_spark.lakehouse.state:CursorState")
RUNS = Table("ops", "runs", ("run_id", "job"), "careplus_spark.pipeline.ledger:RUNS_SCHEMA")
LOG_FILES = Table("ops", "log_files", ("path",), "careplus_spark.sources.file_ledger:LEDGER_SCHEMA")
DQ_RESULTS = Table("ops", "dq_results", ("run_id", "table", "rule"), "careplus_spark.quality.store:RESULTS_SCHEMA")

#: Every table, in layer order; gold models after their inputs.
TABLES: tuple[Table, ...] = (
    BRONZE_TICKETS,
    BRONZE_LOGS,
    BRONZE_LOGS_QUARANTINE,
    SILVER_TICKETS,
    SILVER_TICKETS_QUARANTINE,
    SILVER_LOGS,
    SILVER_LOGS_QUARANTINE,
    FCT_TICKETS,
    FCT_LOGS,
    FCT_TICKET_LOG_SUMMARY,
    KPI_TICKETS_DAILY,
    KPI_AGENTS_DAILY,
    KPI_SERVICE_HOURLY,
    GOLD_QUARANTINE,
    CURSORS,
    RUNS,
    LOG_FILES,
    DQ_RESULTS,
)

_BY_NAME = {t.qualified: t for t in TABLES}


def table(qualified: str) -> Table:
    """The catalog entry of ``<database>.<name>``.

    Raises:
        KeyError: no such table in the catalog (the known ones are listed).
    """
    try:
        return _BY_NAME[qualified]
    except KeyError:
        raise KeyError(f"{qualified!r} is not in the lakehouse catalog; known: {sorted(_BY_NAME)}") from None


def models() -> tuple[Table, ...]:
    """The gold tables that are refreshed from inputs, in dependency order."""
    return tuple(t for t in TABLES if t.model is not None)


def exposed() -> tuple[Table, ...]:
    """The tables query engines outside Spark read."""
    return tuple(t for t in TABLES if t.exposed)


def check(entries: Sequence[Table]) -> None:
    """Checks a catalog's consistency: unique names, known databases, inputs declared before use.

    Raises:
        ValueError: naming the entry at fault.
    """
    seen: set[str] = set()
    for entry in entries:
        if entry.qualified in seen:
            raise ValueError(f"catalog: {entry.qualified} is declared twice")
        if entry.database not in DATABASES:
            raise ValueError(f"catalog: {entry.qualified}: unknown database {entry.database!r}")
        for source in entry.model.inputs if entry.model else ():
            if source.table not in seen:
                raise ValueError(f"catalog: {entry.qualified} reads {source.table}, which is not declared before it")
        if entry.model is not None and entry.model.scope not in entry.keys:
            raise ValueError(f"catalog: {entry.qualified}: scope {entry.model.scope!r} is not one of its keys")
        seen.add(entry.qualified)


check(TABLES)


def attach(spark: SparkSession, root: str, background: bool = False) -> list[str]:
    """Creates the lakehouse databases in Spark's catalog and registers the tables under ``root``.

    A new metastore (another Spark line, a fresh machine, the Glue catalog) thus sees the
    lakehouse's tables by name without waiting for a run that writes them. With
    ``background``, the work runs on a thread of its own (:func:`registry.in_background`:
    whatever needs names waits for it) and nothing is returned.

    Returns:
        The qualified names registered by this call.
    """

    def work() -> list[str]:
        for database in DATABASES:
            registry.create_database(spark, database, f"{root}/{database}")
        return registry.register_existing(spark, root, DATABASES)

    if background:
        registry.in_background(work)
        return []
    registry.wait_attached()
    return work()
