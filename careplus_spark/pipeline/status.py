"""What the lakehouse holds and how its runs went: ``careplus status`` on one screen.

Sections: the last runs from the run ledger ``ops.runs`` (one line per step, grouped
by run, with the error of a failed step), the data-quality results of the latest run that
recorded any (``ops.dq_results``: every rule that nulled or quarantined rows, its share and
threshold, alarms first and counted in the heading), every table's version, row count and
last commit time, the incremental cursors (``ops.cursors``) and the log-files ledger
(``ops.log_files``). Every section says so when its table does not exist yet.

A step whose run died while it was running (marked by a later run, see
:func:`~careplus_spark.pipeline.ledger.mark_abandoned`) shows as ``failed: abandoned``; the
``run lock`` section says who holds the lakehouse's run lock (:mod:`careplus_spark.lakehouse.lock`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from careplus_spark.errors import CarePlusError
from careplus_spark.lakehouse import catalog, tables
from careplus_spark.lakehouse.lock import Owner, RunLock
from careplus_spark.lakehouse.lock_store import store_for
from careplus_spark.lakehouse.tables import TableRef
from careplus_spark.pipeline.ledger import ABANDONED, FAILED
from careplus_spark.pipeline.ledger import latest as latest_steps
from careplus_spark.pipeline.report import format_table, table_status
from careplus_spark.platform.config import AppConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Timestamps are formatted by Spark in the session time zone (UTC), not by Python.
_TIME = "yyyy-MM-dd HH:mm:ss"
#: Lines of a failed step's error shown under the runs table.
ERROR_LINES = 3
#: Files listed when the ledger holds files that are not ``ingested``.
FILES_LISTED = 10

RUN_HEADERS = ("run", "env", "job", "status", "started", "read", "written", "updated", "quarantined", "skipped",
               "seconds", "versions")
QUALITY_HEADERS = ("alarm", "step", "rule", "severity", "checked", "failed", "share", "threshold")
#: ``ops.dq_results`` columns that tables written before the alarms lack (read as NULL).
_LATER_RESULT_COLUMNS = ("step", "share", "threshold", "alarm")


@dataclass(frozen=True)
class QualitySummary:
    """The data-quality results of one run: the rules that nulled or quarantined rows.

    Attributes:
        run_id: the latest run that recorded results.
        rules: rules checked in that run (all of them, zero failures included).
        rows: (alarm, step, rule, severity, checked, failed, share, threshold) of the rules
            with failures, alarms first; ``rule`` is ``<database>.<table>.<rule>``.
    """

    run_id: str
    rules: int
    rows: tuple[tuple[str, str, str, str, int, int, float | None, float | None], ...]


def quality_summary(spark: SparkSession, results: TableRef) -> QualitySummary | None:
    """The results of the latest run in ``ops.dq_results``; None when there are none yet.

    A table written before the alarms existed has no ``share``/``threshold``/``alarm``
    columns: the share is computed, the others are empty.
    """
    if not tables.exists(spark, results):
        return None
    from pyspark.sql import functions as F

    df = spark.read.format("delta").load(results.path)
    df = df.select("*", *[F.lit(None).alias(c) for c in _LATER_RESULT_COLUMNS if c not in df.columns])
    latest = df.orderBy(F.desc("recorded_at"), F.desc("run_id")).select("run_id").first()
    if latest is None:
        return None
    run = df.where(F.col("run_id") == F.lit(latest["run_id"]))
    share = F.coalesce(F.col("share").cast("double"), F.col("failed") / F.col("checked"))
    rows = (
        run.where(F.col("failed") > 0)
        .select(
            F.coalesce(F.col("alarm").cast("string"), F.lit("")).alias("alarm"),
            F.coalesce(F.col("step").cast("string"), F.lit("")).alias("step"),
            F.concat_ws(".", "table", "rule").alias("rule"),
            "severity", "checked", "failed", share.alias("share"), F.col("threshold").cast("double"),
        )
        .orderBy(F.col("alarm") == F.lit(""), F.desc("share"), "rule")
        .collect()
    )
    return QualitySummary(latest["run_id"], run.count(), tuple(tuple(r) for r in rows))  # type: ignore[misc]


def format_quality(summary: QualitySummary | None) -> str:
    """The data-quality section: a heading naming the run and its alarms, then the rules with failures.

    Example:
        >>> print(format_quality(QualitySummary("r1", 9, (
        ...     ("warn", "silver_tickets", "silver.tickets.unparseable_created_at", "block", 50, 2, 0.04, 0.01),))))
        run r1: 9 rule(s) checked; 1 ALARM(S): silver.tickets.unparseable_created_at (warn)
        alarm  step            rule                                   severity  checked  failed  share  threshold
        -----  --------------  -------------------------------------  --------  -------  ------  -----  ---------
        warn   silver_tickets  silver.tickets.unparseable_created_at  block          50       2  4.00%  1.00%
    """
    if summary is None:
        return "no data-quality results yet"
    alarmed = [f"{row[2]} ({row[0]})" for row in summary.rows if row[0]]
    heading = f"run {summary.run_id}: {summary.rules} rule(s) checked; " + (
        f"{len(alarmed)} ALARM(S): {', '.join(alarmed)}" if alarmed else "no alarm"
    )
    if not summary.rows:
        return heading + "\nno rule nulled or quarantined a row"
    lines = [(*row[:6], _percent(row[6]), _percent(row[7])) for row in summary.rows]
    return heading + "\n" + format_table(QUALITY_HEADERS, lines)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.2%}"


def lakehouse_tables(cfg: AppConfig) -> list[TableRef]:
    """Every table of the lakehouse catalog, by database in layer order, then by name."""
    ordered = sorted(catalog.TABLES, key=lambda t: (catalog.DATABASES.index(t.database), t.name))
    return [t.ref(cfg.lakehouse.root) for t in ordered]


def recent_runs(spark: SparkSession, runs: TableRef, limit: int) -> list[dict[str, object]]:
    """The ledger rows of the last ``limit`` runs, newest run first, its steps in order.

    Returns:
        One dict per step (the ``ops.runs`` columns, timestamps as UTC text); empty when
        there is no ledger yet.
    """
    if not tables.exists(spark, runs):
        return []
    from pyspark.sql import functions as F

    ledger = latest_steps(spark.read.format("delta").load(runs.path))
    latest = (
        ledger.groupBy("run_id")
        .agg(F.min("started_at").alias("run_started"))
        .orderBy(F.desc("run_started"), F.desc("run_id"))
        .limit(limit)
    )
    rows = (
        ledger.join(F.broadcast(latest), "run_id")
        .orderBy(F.desc("run_started"), F.desc("run_id"), "started_at")
        .withColumn("started_at", F.date_format("started_at", _TIME))
        .withColumn("ended_at", F.date_format("ended_at", _TIME))
        .drop("run_started")
        .collect()
    )
    return [row.asDict() for row in rows]


def format_runs(steps: Sequence[Mapping[str, object]]) -> str:
    """The runs table (run id and env on the first line of each run) and the errors below it.

    Example:
        >>> print(format_runs([{"run_id": "r1", "env": "local", "job": "ingest_logs", "status": "failed",
        ...     "started_at": "2025-07-01 02:00:00", "rows_read": 0, "rows_written": 0, "rows_updated": 0,
        ...     "rows_quarantined": 0, "rows_skipped": 0, "seconds": 1.0, "versions": {},
        ...     "error": "DataError: no files"}]))  # doctest: +NORMALIZE_WHITESPACE
        run  env    job          status  started              read  written  updated  quarantined  skipped  seconds  versions
        ---  -----  -----------  ------  -------------------  ----  -------  -------  -----------  -------  -------  --------
        r1   local  ingest_logs  failed  2025-07-01 02:00:00     0        0        0            0        0     1.00
        <BLANKLINE>
        errors:
          r1 ingest_logs: DataError: no files
    """  # noqa: E501 - the doctest shows the table as printed
    if not steps:
        return "no runs yet"
    lines: list[tuple[object, ...]] = []
    errors: list[str] = []
    previous = None
    for step in steps:
        first = step["run_id"] != previous
        previous = step["run_id"]
        seconds = step.get("seconds")
        versions = step.get("versions") or {}
        lines.append((
            step["run_id"] if first else "",
            step["env"] if first else "",
            step["job"],
            _status_text(step),
            step["started_at"],
            step["rows_read"],
            step["rows_written"],
            step["rows_updated"],
            step["rows_quarantined"],
            step["rows_skipped"],
            float(seconds) if seconds is not None else 0.0,  # type: ignore[arg-type]
            ", ".join(f"{name}@{version}" for name, version in sorted(versions.items())),  # type: ignore[attr-defined]
        ))
        if step.get("error"):
            text = str(step["error"]).splitlines()[:ERROR_LINES]
            errors.append(f"  {step['run_id']} {step['job']}: " + "\n    ".join(text))
    table = format_table(RUN_HEADERS, lines)
    return table + ("\n\nerrors:\n" + "\n".join(errors) if errors else "")


def _status_text(step: Mapping[str, object]) -> str:
    """The step's status; ``failed: abandoned`` for a step of a run that died while it ran."""
    abandoned = step["status"] == FAILED and str(step.get("error") or "").startswith(ABANDONED)
    return f"{FAILED}: {ABANDONED}" if abandoned else str(step["status"])


def lock_text(cfg: AppConfig) -> str:
    """The run lock: free, released, held (by whom, since when, until when) or expired.

    Example:
        >>> lock_text(cfg)  # doctest: +SKIP
        'held by run 20250701T020000Z-1a2b3c4d (host h, pid 42, user u: careplus run) since ...'
    """
    settings = cfg.lakehouse.lock
    if not settings.enabled:
        return "disabled (lakehouse.lock.enabled: false)"
    try:
        lock = RunLock(store_for(cfg), Owner.current("status"), expiry_s=settings.expiry_s,
                       heartbeat_s=settings.heartbeat_s)
        lease = lock.current()
    except CarePlusError as exc:
        return f"unknown: {exc}"
    if lease is None:
        return f"free (no run has taken it yet; {lock.store.where})"
    if lease.state != "held":
        return f"free (released by run {lease.owner.run_id} of host {lease.owner.host})"
    if lease.free(lock.clock(), settings.expiry_s):
        return f"free: the lease of {lease.describe()} expired; the next run takes it over"
    return f"held by {lease.describe()}"


def cursor_rows(spark: SparkSession, cursors: TableRef) -> list[tuple[object, ...]]:
    """(name, value, table version, run id, recorded at) of every cursor, by name."""
    if not tables.exists(spark, cursors):
        return []
    from pyspark.sql import functions as F

    df = spark.read.format("delta").load(cursors.path)
    rows = df.select("name", "value", "table_version", "run_id", F.date_format("recorded_at", _TIME)).orderBy("name")
    return [tuple(r) for r in rows.collect()]


@dataclass(frozen=True)
class FilesSummary:
    """What the log-files ledger holds.

    Attributes:
        by_status: (status, files, blocks, parsed, quarantined) per status.
        last: (path, ingested at, run id) of the latest ingested file, None when none.
        not_ingested: (status, path, run id) of files whose status is not ``ingested``.
        with_quarantine: files that had at least one quarantined block.
    """

    by_status: tuple[tuple[str, int, int, int, int], ...]
    last: tuple[str, str, str] | None
    not_ingested: tuple[tuple[str, str, str], ...]
    with_quarantine: int


def files_summary(spark: SparkSession, ledger: TableRef) -> FilesSummary | None:
    """Counts of ``ops.log_files`` by status and its latest file; None before the first ingest."""
    if not tables.exists(spark, ledger):
        return None
    from pyspark.sql import functions as F

    df = spark.read.format("delta").load(ledger.path)
    grouped = (
        df.groupBy("status")
        .agg(F.count("*"), F.sum("blocks"), F.sum("parsed"), F.sum("quarantined"), F.count_if(F.col("quarantined") > 0))
        .orderBy("status")
        .collect()
    )
    last = df.orderBy(F.desc("ingested_at"), F.desc("path")).select(
        "path", F.date_format("ingested_at", _TIME), "run_id").first()
    others = df.where("status <> 'ingested'").orderBy("path").select("status", "path", "run_id").limit(FILES_LISTED)
    return FilesSummary(
        by_status=tuple((r[0], int(r[1]), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0)) for r in grouped),
        last=tuple(last) if last is not None else None,  # type: ignore[arg-type]
        not_ingested=tuple(tuple(r) for r in others.collect()),  # type: ignore[misc]
        with_quarantine=sum(int(r[5]) for r in grouped),
    )


def format_files(summary: FilesSummary | None) -> str:
    """The files-ledger section: a table by status, the latest file, the files not ingested."""
    if summary is None or not summary.by_status:
        return "no log files ingested yet"
    files = sum(s[1] for s in summary.by_status)
    blocks = sum(s[2] for s in summary.by_status)
    parts = [
        format_table(["status", "files", "blocks", "parsed", "quarantined"], summary.by_status),
        f"{files:,} file(s), {blocks:,} block(s); {summary.with_quarantine:,} file(s) with quarantined blocks",
    ]
    if summary.last is not None:
        path, at, run_id = summary.last
        parts.append(f"last ingested: {path} at {at} (run {run_id})")
    if summary.not_ingested:
        parts.append("not ingested:\n" + format_table(["status", "path", "run"], summary.not_ingested))
    return "\n".join(parts)


def render(spark: SparkSession, cfg: AppConfig, runs: int = 10) -> str:
    """The whole ``careplus status`` screen for a lakehouse.

    Example:
        >>> print(render(spark, cfg, runs=5))  # doctest: +SKIP
        CarePlus status (local): lakehouse ./lakehouse
        ...
    """
    root = cfg.lakehouse.root
    table_lines = table_status(spark, lakehouse_tables(cfg))
    cursors = cursor_rows(spark, catalog.CURSORS.ref(root))
    sections = [
        f"CarePlus status ({cfg.env}): lakehouse {root}",
        f"== runs (last {runs}) ==\n" + format_runs(recent_runs(spark, catalog.RUNS.ref(root), runs)),
        "== run lock ==\n" + lock_text(cfg),
        "== data quality ==\n" + format_quality(quality_summary(spark, catalog.DQ_RESULTS.ref(root))),
        "== tables ==\n" + (
            format_table(["table", "rows", "version", "last modified (UTC)"],
                         [(n, c, v, _utc_text(t)) for n, c, v, t in table_lines])
            if table_lines else "no tables yet"
        ),
        "== cursors ==\n" + (
            format_table(["name", "value", "table version", "run", "recorded at (UTC)"], cursors)
            if cursors else "no cursors yet"
        ),
        "== log files ==\n" + format_files(files_summary(spark, catalog.LOG_FILES.ref(root))),
    ]
    return "\n\n".join(sections)


def snapshot(spark: SparkSession, cfg: AppConfig, runs: int = 10) -> dict[str, object]:
    """What :func:`render` shows, as JSON-ready data (``careplus status --json``).

    Keys: ``env``, ``lakehouse``, ``runs`` (one object per step of the last ``runs`` runs, newest
    run first), ``lock``, ``quality`` (the latest run's rules with failures), ``tables`` (rows,
    version, last modified), ``cursors`` and ``log_files`` (counts by status). Times are UTC text.
    """
    root = cfg.lakehouse.root
    quality = quality_summary(spark, catalog.DQ_RESULTS.ref(root))
    files = files_summary(spark, catalog.LOG_FILES.ref(root))
    return {
        "env": cfg.env,
        "lakehouse": root,
        "runs": recent_runs(spark, catalog.RUNS.ref(root), runs),
        "lock": lock_text(cfg),
        "quality": None if quality is None else {
            "run_id": quality.run_id, "rules_checked": quality.rules,
            "failures": [dict(zip(QUALITY_HEADERS, row, strict=True)) for row in quality.rows],
        },
        "tables": [{"table": n, "rows": c, "version": v, "last_modified": _utc_text(t)}
                   for n, c, v, t in table_status(spark, lakehouse_tables(cfg))],
        "cursors": [dict(zip(("name", "value", "table_version", "run_id", "recorded_at"), row, strict=True))
                    for row in cursor_rows(spark, catalog.CURSORS.ref(root))],
        "log_files": None if files is None else {
            "by_status": [dict(zip(("status", "files", "blocks", "parsed", "quarantined"), row, strict=True))
                          for row in files.by_status],
            "with_quarantine": files.with_quarantine,
        },
    }


def _utc_text(value: object) -> str:
    """A collected timestamp as UTC text (Python gives naive local time for Spark timestamps)."""
    import datetime as dt

    if not isinstance(value, dt.datetime):
        return "" if value is None else str(value)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
