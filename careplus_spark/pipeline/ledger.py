"""The run ledger ``ops.runs``: rows per (run, step) with status, counts, versions and cursors.

Every step that :func:`careplus_spark.pipeline.steps.run_steps` runs is recorded twice, by
two appends: a ``running`` row before it starts (so a crash leaves a visible ``running``
row), then a final row, ``succeeded`` (with the step's counts, the Delta versions it wrote
and its detail) or ``failed`` (with the error, then the exception is re-raised). A step's
state is its newest row (:func:`latest`: a final row wins). A step that did nothing is
``succeeded`` with zero counts and its detail.

Cursor changes are found without the steps' help: ``ops.cursors`` (a tiny table) is read
once, before a run's first step, and every cursor a step saves is noted by
:func:`careplus_spark.lakehouse.state.save`; the values that changed are stored as
``cursor_before`` and ``cursor_after``.

Writes stay cheap: appends only (no join), of rows made of literals planned by the JVM
(no Python worker).

A step runs only while its run holds the run lock (:mod:`careplus_spark.lakehouse.lock`). A run
that holds it knows that no other run is alive, so :func:`mark_abandoned` gives the steps of
other runs still ``running`` (killed, or died with their host) a ``failed`` row with the error
``abandoned: ...``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from careplus_spark.lakehouse import catalog, tables
from careplus_spark.lakehouse import lock as run_lock
from careplus_spark.lakehouse import state as cursor_state
from careplus_spark.lakehouse.rows import literal_rows, parse_schema
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline.monitor import Monitor
from careplus_spark.pipeline.profile import Profiler
from careplus_spark.platform.secrets import redact

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
#: The error of a step whose run died while it was running (found by a later run holding the lock).
ABANDONED = "abandoned"
#: The status of a row that records a problem that did not fail the run (a monitoring message not sent).
WARNING = "warning"

RUNS_SCHEMA = (
    "run_id string, job string, env string, started_at timestamp, ended_at timestamp, status string, "
    "rows_read bigint, rows_written bigint, rows_updated bigint, rows_quarantined bigint, rows_skipped bigint, "
    "versions map<string,bigint>, cursor_before map<string,string>, cursor_after map<string,string>, "
    "error string, detail string, seconds double"
)


#: Longest error text kept (after redaction), in lines and characters.
ERROR_LINES = 12
ERROR_CHARS = 2000
_WRITE_ATTEMPTS = 5
_SCHEMA = parse_schema(RUNS_SCHEMA)
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


def write(spark: SparkSession, table: tables.TableRef, entry: LedgerEntry) -> None:
    """Appends ``entry`` to the ledger; creates the table on first use.

    One append of one literal row (~0.3 s; replacing the step's ``running`` row instead, by a
    MERGE or a ``replaceWhere``, took 1.5-4 s). Retries a few times when a concurrent run
    commits at the same moment.

    Example:
        >>> write(spark, runs_table(ctx), LedgerEntry("r1", "ingest_logs", "local", now))  # doctest: +SKIP
    """
    from delta.exceptions import DeltaConcurrentModificationException

    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        try:
            source = literal_rows(spark, [dataclasses.asdict(entry)], _SCHEMA)
            if not tables.exists(spark, table):  # from the DDL: every column nullable (a literal is not)
                empty = spark.createDataFrame([], RUNS_SCHEMA)
                tables.create_if_missing(spark, table, empty)
            source.write.format("delta").mode("append").save(table.path)
            return
        except DeltaConcurrentModificationException:
            if attempt == _WRITE_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)


def latest(runs: DataFrame) -> DataFrame:
    """Each step's state: the newest row per ``(run_id, job)`` of the ledger's rows ``runs``.

    A final row (``succeeded`` or ``failed``) wins over the step's ``running`` row.

    Example:
        >>> latest(spark.read.format("delta").load(runs_table(ctx).path)).where("status = 'failed'")  # doctest: +SKIP
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("run_id", "job").orderBy(
        (F.col("status") == F.lit(RUNNING)).asc(), F.col("ended_at").desc_nulls_last()
    )
    return runs.withColumn("_newest", F.row_number().over(order)).where(F.col("_newest") == 1).drop("_newest")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def mark_abandoned(spark: SparkSession, ctx: RunContext) -> dict[str, int]:
    """Gives the steps of every other run still ``running`` a ``failed`` row, error ``abandoned: ...``.

    Call it only while ``ctx``'s run holds the run lock: then no other run is alive, and a step
    whose newest row is ``running`` belongs to a run that died (killed, or lost with its host)
    before it could record its end. One append of all the ``failed`` rows.

    Example:
        >>> mark_abandoned(spark, ctx)  # doctest: +SKIP
        {'20250701T020000Z-1a2b3c4d': 1}

    Returns:
        The steps marked, by run id (empty when there were none).
    """
    from pyspark.sql import functions as F

    table = runs_table(ctx)
    if not tables.exists(spark, table):
        return {}
    stale = (F.col("status") == F.lit(RUNNING)) & (F.col("run_id") != F.lit(ctx.run_id))
    rows = latest(spark.read.format("delta").load(table.path)).where(stale).select("run_id", "job", "env",
                                                                                  "started_at").collect()
    if not rows:
        return {}
    error = (f"{ABANDONED}: the run ended without recording this step (killed, or lost with its host); "
             f"found running by run {ctx.run_id} once it held the run lock")
    now = _now()
    entries = [
        dataclasses.asdict(LedgerEntry(r["run_id"], r["job"], r["env"], r["started_at"], ended_at=now,
                                       status=FAILED, error=error))
        for r in rows
    ]
    literal_rows(spark, entries, _SCHEMA).write.format("delta").mode("append").save(table.path)
    return dict(collections.Counter(str(r["run_id"]) for r in rows))


class RunLedger:
    """Records the steps of one run in ``ops.runs``.

    Example:
        >>> ledger = RunLedger(spark, ctx)  # doctest: +SKIP
        >>> result = ledger.run("ingest_logs", bronze_logs.ingest)  # doctest: +SKIP
    """

    def __init__(
        self, spark: SparkSession, ctx: RunContext, profiler: Profiler | None = None, monitor: Monitor | None = None
    ) -> None:
        self.spark = spark
        self.ctx = ctx
        self.profiler = profiler
        self.monitor = monitor
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
        mark = cursor_state.saved_mark()
        entry = LedgerEntry(self.ctx.run_id, job, self.ctx.cfg.env, started_at=_now())
        try:
            with self.profiler.step(job) if self.profiler else contextlib.nullcontext():
                write(self.spark, self.table, entry)
                result = step(self.spark, self.ctx)
        except BaseException as exc:
            self._record_failure(entry, exc, before, mark, time.monotonic() - started)
            raise
        after = {**before, **cursor_state.saved_since(self._cursors_table, mark)}
        seconds = time.monotonic() - started
        if self.profiler:
            result = dataclasses.replace(result, detail=f"{result.detail}; profile: {self.profiler.last()}")
        warning = self.monitor.step(job, result, seconds, failed=False) if self.monitor else None
        result = dataclasses.replace(result, seconds=seconds,
                                     detail=f"{result.detail}; warning: {warning}" if warning else result.detail)
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
        self, entry: LedgerEntry, exc: BaseException, before: Mapping[str, str | None], mark: int, seconds: float
    ) -> None:
        """Writes the ``failed`` row; a ledger problem is logged, never raised over the step's error."""
        try:
            after = {**before, **cursor_state.saved_since(self._cursors_table, mark)}
            self._cursors = after
            changed_before, changed_after = cursor_changes(before, after)
            warning = self.monitor.step(entry.job, None, seconds, failed=True) if self.monitor else None
            failed = dataclasses.replace(
                entry, ended_at=_now(), status=FAILED, error=error_text(exc), seconds=seconds,
                cursor_before=changed_before, cursor_after=changed_after,
                detail=f"warning: {warning}" if warning else "",
            )
            write(self.spark, self.table, failed)
        except Exception as ledger_exc:  # noqa: BLE001 - the step's own error is the one to raise
            log.error("run %s: could not record the failure of %s in %s: %s", entry.run_id, entry.job,
                      self.table.qualified, error_text(ledger_exc, max_lines=2))

    def warn(self, job: str, warnings: list[str]) -> None:
        """Records problems that did not fail the run (monitoring not sent) as a ``warning`` row of ``job``;
        a ledger problem is logged, never raised."""
        if not warnings:
            return
        now = _now()
        entry = LedgerEntry(self.ctx.run_id, job, self.ctx.cfg.env, started_at=now, ended_at=now, status=WARNING,
                            detail="; ".join(warnings))
        try:
            write(self.spark, self.table, entry)
        except Exception as exc:  # noqa: BLE001 - a warning must not fail the run either
            log.error("run %s: could not record warnings in %s: %s", self.ctx.run_id, self.table.qualified,
                      error_text(exc, max_lines=2))
