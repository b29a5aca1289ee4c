"""``careplus restore TABLE --to-version N | --to-timestamp T``: undo a bad change to a table.

Delta's RESTORE brings the table back to an earlier version in one new commit (the versions in
between stay in the history, and VACUUM's retention bounds how far back a restore can go). The
state that follows the table is set to match, so that the next run recomputes what changed:

- the restored table's own watermarks (``<table><-<input>``) and those of its consumers
  (``<consumer><-<table>``) are reset: the next run recomputes the table from its inputs'
  snapshots, and its consumers from the restored table (gold refreshes MERGE by key and delete
  what is gone, so the result equals a full refresh);
- ``bronze.tickets`` carries its extraction cursor in its commits: the cursor of the restored
  version goes into the RESTORE commit and ``ops.cursors``, so the next ingest re-reads the
  source from there;
- the manifests of an exposed table are written anew.

Tables whose state lives elsewhere are refused with what to do instead: ``bronze.logs`` and its
quarantine follow the file ledger (re-read files with ``--reprocess`` or ``--since``), the
quarantine tables follow their steps' inputs, the ``ops`` tables are the bookkeeping itself.
The step is recorded in ``ops.runs`` as ``restore`` and holds the run lock.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from careplus_spark.bronze.ticket_cursor import cursor_name
from careplus_spark.errors import ConfigError
from careplus_spark.exposure import manifests
from careplus_spark.lakehouse import catalog, delta, state, tables
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline.ledger import cursor_values

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STEP = "restore"

_REFUSED = {
    "bronze.logs": "it follows the file ledger ops.log_files: re-read log files with `careplus run ingest_logs "
                   "--reprocess PATH` or `--since DATE` instead",
    "bronze.logs_quarantine": "it follows the file ledger ops.log_files: re-read log files with `careplus run "
                              "ingest_logs --reprocess PATH` instead",
}


def restorable(qualified: str) -> catalog.Table:
    """The catalog table, when RESTORE can be followed by the state that goes with it.

    Raises:
        ConfigError: an unknown table, or one whose state lives elsewhere (with what to do instead).
    """
    try:
        table = catalog.table(qualified)
    except KeyError as exc:
        raise ConfigError(f"careplus restore: {exc.args[0]}") from None
    reason = _REFUSED.get(table.qualified)
    if reason is None and table.database == "ops":
        reason = "the ops tables are the run's bookkeeping; restore the data tables instead"
    if reason is None and table.model is None and not table.change_feed:
        reason = "it is written by its step from that step's inputs: restore the step's target table instead"
    if reason is not None:
        raise ConfigError(f"careplus restore: {table.qualified} cannot be restored alone: {reason}")
    return table


def version_at(spark: SparkSession, path: str, timestamp: dt.datetime) -> int:
    """The newest version committed at or before ``timestamp``.

    Raises:
        ConfigError: the table has no version that old.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    history = DeltaTable.forPath(spark, path).history().select("version", "timestamp")
    moment = timestamp.astimezone(dt.UTC).replace(tzinfo=None)
    row = history.where(F.col("timestamp") <= F.lit(moment)).agg(F.max("version")).first()
    if row is None or row[0] is None:
        raise ConfigError(f"careplus restore: the table at {path} has no version committed at or before "
                          f"{timestamp.isoformat()}")
    return int(row[0])


def restore(
    spark: SparkSession, ctx: RunContext, qualified: str, version: int | None = None,
    timestamp: dt.datetime | None = None,
) -> StepResult:
    """Restores ``qualified`` to ``version`` (or the version at ``timestamp``) and resets the state
    that follows it (see the module docstring)."""
    from delta.tables import DeltaTable

    table = restorable(qualified)
    ref = ctx.ref(table)
    if not tables.exists(spark, ref):
        raise ConfigError(f"careplus restore: {table.qualified} does not exist at {ref.path}")
    target = version if version is not None else version_at(spark, ref.path, timestamp)  # type: ignore[arg-type]
    latest = delta.latest_version(spark, ref.path)
    if not 0 <= target < latest:
        raise ConfigError(f"careplus restore: {table.qualified} is at version {latest}; a restore goes back to an "
                          f"earlier version (0..{latest - 1}), not {target}")
    metadata: dict[str, str] = {"run_id": ctx.run_id, "step": STEP}
    ticket_cursor = _ticket_cursor(spark, ctx, table, target)
    if ticket_cursor is not None:
        metadata = state.commit_metadata(ticket_cursor.name, ticket_cursor.value or "", **metadata)
    with delta.commit_metadata(spark, metadata):
        row = DeltaTable.forPath(spark, ref.path).restoreToVersion(target).first()
    restored = delta.latest_version(spark, ref.path)
    saved = _reset_watermarks(spark, ctx, table.qualified)
    if ticket_cursor is not None:
        info = tables.table_info(spark, ref, history=False)
        saved.append(state.CursorState(ticket_cursor.name, ticket_cursor.value, info.table_id if info else None,
                                       restored, ctx.run_id, ticket_cursor.attributes))
    state.save(spark, ctx.ref(catalog.CURSORS), *saved)
    if table.qualified in {t.qualified for t in manifests.exposed_tables(ctx.cfg)}:
        manifests.ensure(spark, ref, manifests.detail(spark, ref).properties, regenerate=True)
    counts = row.asDict() if row is not None else {}
    detail = (f"{table.qualified} restored from version {latest} to version {target} (now version {restored}): "
              f"{counts.get('num_restored_files', 0)} file(s) restored, {counts.get('num_removed_files', 0)} removed; "
              f"state reset: {', '.join(s.name for s in saved) or 'none'}")
    return StepResult(step=STEP, versions={table.qualified: restored}, detail=detail)


def _reset_watermarks(spark: SparkSession, ctx: RunContext, qualified: str) -> list[state.CursorState]:
    """Watermarks of the table and of its consumers, emptied (the next run reads snapshots)."""
    names = [n for n in cursor_values(spark, ctx.ref(catalog.CURSORS))
             if n.startswith(f"{qualified}<-") or n.endswith(f"<-{qualified}")]
    return [state.CursorState(name, None, run_id=ctx.run_id) for name in sorted(names)]


def _ticket_cursor(
    spark: SparkSession, ctx: RunContext, table: catalog.Table, version: int
) -> state.CursorState | None:
    """For ``bronze.tickets``: the extraction cursor its commit history carries as of ``version``."""
    if table != catalog.BRONZE_TICKETS:
        return None
    name = cursor_name(ctx.cfg.sources.tickets)
    info = tables.table_info(spark, ctx.ref(table))
    if info is None:
        return None
    older = delta.TableInfo(info.table_id, version, 0, {}, tuple(c for c in info.commits if c[0] <= version))
    found = state.latest_commit_cursor(older, name)
    current = state.load(spark, ctx.ref(catalog.CURSORS), name)
    attributes = current.attributes if current is not None else {}
    return state.CursorState(name, found.value if found else None, attributes=attributes)
