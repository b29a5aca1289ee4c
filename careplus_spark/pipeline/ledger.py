"""The run ledger ``ops.runs``: one row per (run, step) with status, counts, versions and cursors.

Every step that :func:`careplus_spark.pipeline.steps.run_steps` runs is recorded twice:
a ``running`` row before it starts (so a crash leaves a visible ``running`` row), then the
same row MERGEd on ``(run_id, job)`` to ``succeeded`` (with the step's counts, the Delta
versions it wrote and its detail) or ``failed`` (with the error, then the exception is
re-raised). A step that did nothing is ``succeeded`` with zero counts and its detail.

Cursor changes are found without the steps' help: ``ops.cursors`` (a tiny table) is read
before and after each step, and the values that changed are stored as ``cursor_before``
and ``cursor_after``.

Writes stay cheap: each is one MERGE of one row whose condition pins the target's
``run_id`` and ``job`` literally, so Delta's file statistics skip every file of other runs.

A step runs only while its run holds the run lock (:mod:`careplus_spark.lakehouse.lock`). A run
that holds it knows that no other run is alive, so :func:`mark_abandoned` turns the ``running``
rows of other runs (killed, or died with their host) into ``failed`` with the error
``abandoned: ...``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from careplus_spark.lakehouse import catalog, delta, tables
from careplus_spark.lakehouse import lock as run_lock
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.platform.secrets import redact

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
#: The error of a step whose run died while it was running (found by a later run holding the lock).
ABANDONED = "abandoned"

RUNS_SCHEMA = (
    "run_id string, job string, env string, started_at timestamp, ended_at timestamp, status string, "
    "rows_read bigint, rows_written bigint, rows_updated bigint, rows_quarantined bigint, rows_skipped bigint, "
    "versions map<string,bigint>, cursor_before map<string,string>, cursor_after map<string,string>, "
    "error string, detail string, seconds double"
)

#: Table properties of ``ops.runs``: many one-row commits, so small files are compacted.
RUNS_PROPERTIES = {"delta.autoOptimize.autoCompact": "true"}

#: Longest error text kept (after redaction), in lines and characters.
ERROR_LINES = 12
ERROR_CHARS = 2000
_WRITE_ATTEMPTS = 5
_STACK_FRAME = re.compile(r"^\s+(?:at |\.\.\. \d+ more|Suppressed: )")

def runs_table(ctx: RunContext) -> tables.TableRef:
    """The ledger table ``ops.runs`` of a run's lakehouse."""
    return ctx.ref(catalog.RUNS)


def error_text(exc: BaseException, max_lines: int = ERROR_LINES, max_chars: int = ERROR_CHARS) -> str:
    """The exception's class and the first lines of its message, redacted.

    JVM stack frames (``at ...``, ``... 21 more``, ``Suppressed: ...``) are left out;
    ``Caused by:`` lines stay.

    Example:
        >>> error_text(ValueError("bad value\\npassword=x\\n\\tat org.x.Y.z(Y.java:1)"))
        'ValueError: bad value\\npassword=***'
    """
    lines = [
        line.rstrip()
        for line in f"{type(exc).__name__}: {exc}".splitlines()
        if line.strip() and not _STACK_FRAME.match(line)
    ]
    text = redact("\n".join(lines[:max_lines]))
    return text if len(text) <= max_chars else text[: max_chars - 3] + "..."


def cursor_values(spark: SparkSession, state_table: tables.TableRef) -> dict[str, str | None]:
    """Every cursor of ``ops.cursors`` by name (empty before the first cursor is saved)."""
    if not tables.exists(spark, state_table):
        return {}
    rows = spark.read.format("delta").load(state_table.path).select("name", "value").collect()
    return {r["name"]: r["value"] for r in rows}


def cursor_changes(
    before: Mapping[str, str | None], after: Mapping[str, str | None]
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The cursors that differ between two readings, as (before, after) by name.

    A cursor that appeared is None before; one that disappeared is None after.

    Example:
        >>> cursor_changes({"a": "1", "b": "5"}, {"a": "2", "b": "5", "c": "0"})
        ({'a': '1', 'c': None}, {'a': '2', 'c': '0'})
    """
    names = sorted(
        n for n in set(before) | set(after) if before.get(n) != after.get(n) or (n in before) != (n in after)
    )
    return {n: before.get(n) for n in names}, {n: after.get(n) for n in names}


@dataclass(frozen=True)
class LedgerEntry:
    """One row of ``ops.runs``: a step of a run."""

    run_id: str
    job: str
    env: str
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    status: str = RUNNING
    rows_read: int = 0
    rows_written: int = 0
    rows_updated: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    versions: Mapping[str, int] = field(default_factory=dict)
    cursor_before: Mapping[str, str | None] = field(default_factory=dict)
    cursor_after: Mapping[str, str | None] = field(default_factory=dict)
    error: str | None = None
    detail: str = ""
    seconds: float | None = None

    def row(self) -> tuple[object, ...]:
        """The values in :data:`RUNS_SCHEMA` order."""
        return tuple(
            dict(v) if isinstance(v, Mapping) else v for v in (getattr(self, f.name) for f in dataclasses.fields(self))
        )


def write(spark: SparkSession, table: tables.TableRef, entry: LedgerEntry, *, new: bool = False) -> None:
    """Records ``entry`` in the ledger; creates the table on first use.

    A ``new`` entry (a step starting) is appended: it cannot match a row yet. Later states MERGE
    into the one row on ``(run_id, job)``: its file is the only candidate, so both of the MERGE's
    scans of its one-row source see the same row (a MERGE into files that data skipping all
    prunes counts 0 source rows in its first scan and 1 in its second, which Delta reports as a
    non-deterministic source). Retries a few times when a concurrent run commits at the same moment.

    Example:
        >>> write(spark, runs_table(ctx), LedgerEntry("r1", "ingest_logs", "local", now), new=True)  # doctest: +SKIP
    """
    from delta.exceptions import DeltaConcurrentModificationException

    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        try:
            (_append if new else _merge)(spark, table, entry)
            return
        except DeltaConcurrentModificationException:
            if attempt == _WRITE_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)


def _source(spark: SparkSession, table: tables.TableRef, entry: LedgerEntry) -> DataFrame:
    source = spark.createDataFrame([entry.row()], RUNS_SCHEMA)
    if not tables.exists(spark, table):
        tables.create_if_missing(spark, table, source, properties=RUNS_PROPERTIES)
    return source


def _append(spark: SparkSession, table: tables.TableRef, entry: LedgerEntry) -> None:
    _source(spark, table, entry).write.format("delta").mode("append").save(table.path)


def _merge(spark: SparkSession, table: tables.TableRef, entry: LedgerEntry) -> None:
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    source = _source(spark, table, entry)
    # the literal target predicates let Delta skip every file that holds other runs
    condition = (
        (F.col("t.run_id") == F.lit(entry.run_id))
        & (F.col("t.job") == F.lit(entry.job))
        & (F.col("t.run_id") == F.col("s.run_id"))
        & (F.col("t.job") == F.col("s.job"))
    )
    target = DeltaTable.forPath(spark, table.path).alias("t")
    merge = target.merge(source.alias("s"), condition).whenMatchedUpdateAll().whenNotMatchedInsertAll()
    delta.run_merge(spark, merge)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def mark_abandoned(spark: SparkSession, ctx: RunContext) -> dict[str, int]:
    """Marks the ``running`` rows of every other run ``failed``, error ``abandoned: ...``.

    Call it only while ``ctx``'s run holds the run lock: then no other run is alive, and a row
    still ``running`` belongs to a run that died (killed, or lost with its host) before it
    could record its end. One Delta UPDATE with column conditions, retried when a concurrent
    commit (an unlocked writer) conflicts.

    Example:
        >>> mark_abandoned(spark, ctx)  # doctest: +SKIP
        {'20250701T020000Z-1a2b3c4d': 1}

    Returns:
        The steps marked, by run id (empty when there were none).
    """
    from delta.exceptions import DeltaConcurrentModificationException
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    table = runs_table(ctx)
    if not tables.exists(spark, table):
        return {}
    stale = (F.col("status") == F.lit(RUNNING)) & (F.col("run_id") != F.lit(ctx.run_id))
    rows = spark.read.format("delta").load(table.path).where(stale).groupBy("run_id").count().collect()
    found = {str(r["run_id"]): int(r["count"]) for r in rows}
    if not found:
        return {}
    error = (f"{ABANDONED}: the run ended without recording this step (killed, or lost with its host); "
             f"found running by run {ctx.run_id} once it held the run lock")
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        try:
            DeltaTable.forPath(spark, table.path).update(
                stale & F.col("run_id").isin(sorted(found)),
                {"status": F.lit(FAILED), "error": F.lit(error), "ended_at": F.lit(_now())},
            )
            break
        except DeltaConcurrentModificationException:
            if attempt == _WRITE_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)
    return found


class RunLedger:
    """Records the steps of one run in ``ops.runs``.

    Example:
        >>> ledger = RunLedger(spark, ctx)  # doctest: +SKIP
        >>> result = ledger.run("ingest_logs", bronze_logs.ingest)  # doctest: +SKIP
    """

    def __init__(self, spark: SparkSession, ctx: RunContext) -> None:
        self.spark = spark
        self.ctx = ctx
        self.table = runs_table(ctx)
        self._cursors_table = ctx.ref(catalog.CURSORS)
        self._cursors: dict[str, str | None] | None = None

    def run(self, job: str, step: Callable[[SparkSession, RunContext], StepResult]) -> StepResult:
        """Runs ``step``, recording it as running, then as succeeded or failed.

        Holds the run lock while it runs (re-entrant: inside :func:`~careplus_spark.pipeline.steps.run_steps`
        the run's lock is already held), so no ledger row is written without it.

        Raises:
            LockHeldError: another run holds the run lock, or this run lost it (nothing recorded, step not run).
            BaseException: whatever the step raised, after the ``failed`` row is written.
        """
        with run_lock.hold(self.ctx.cfg, self.ctx.run_id) as lock:
            if lock is not None:
                lock.check(f"step {job}")
            return self._run(job, step)

    def _run(self, job: str, step: Callable[[SparkSession, RunContext], StepResult]) -> StepResult:
        started = time.monotonic()  # the step's one time: its work and its bookkeeping (progress, summary, ledger)
        before = self._cursors if self._cursors is not None else cursor_values(self.spark, self._cursors_table)
        entry = LedgerEntry(self.ctx.run_id, job, self.ctx.cfg.env, started_at=_now())
        write(self.spark, self.table, entry, new=True)
        try:
            result = step(self.spark, self.ctx)
        except BaseException as exc:
            self._record_failure(entry, exc, before, time.monotonic() - started)
            raise
        after = cursor_values(self.spark, self._cursors_table)
        seconds = time.monotonic() - started
        result = dataclasses.replace(result, seconds=seconds)
        self._cursors = after
        changed_before, changed_after = cursor_changes(before, after)
        write(
            self.spark,
            self.table,
            dataclasses.replace(
                entry,
                ended_at=_now(),
                status=SUCCEEDED,
                rows_read=result.rows_read,
                rows_written=result.rows_written,
                rows_updated=result.rows_updated,
                rows_quarantined=result.rows_quarantined,
                rows_skipped=result.rows_skipped,
                versions=dict(result.versions),
                cursor_before=changed_before,
                cursor_after=changed_after,
                detail=result.detail,
                seconds=seconds,
            ),
        )
        return result

    def _record_failure(
        self, entry: LedgerEntry, exc: BaseException, before: Mapping[str, str | None], seconds: float
    ) -> None:
        """Writes the ``failed`` row; a ledger problem is logged, never raised over the step's error."""
        try:
            after = cursor_values(self.spark, self._cursors_table)
            self._cursors = after
            changed_before, changed_after = cursor_changes(before, after)
            failed = dataclasses.replace(
                entry, ended_at=_now(), status=FAILED, error=error_text(exc), seconds=seconds,
                cursor_before=changed_before, cursor_after=changed_after,
            )
            write(self.spark, self.table, failed)
        except Exception as ledger_exc:  # noqa: BLE001 - the step's own error is the one to raise
            log.error("run %s: could not record the failure of %s in %s: %s", entry.run_id, entry.job,
                      self.table.qualified, error_text(ledger_exc, max_lines=2))
