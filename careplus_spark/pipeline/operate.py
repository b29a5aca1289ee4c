"""The operating commands as the CLI runs them: the run lock before Spark starts, one session,
the step recorded in the run ledger (``careplus maintain``, ``careplus restore``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from careplus_spark.lakehouse import lock as run_lock
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline import maintain, restore
from careplus_spark.pipeline.entry import open_lakehouse
from careplus_spark.pipeline.ledger import RunLedger
from careplus_spark.platform.config import AppConfig

Say = Callable[[str], None]


def run_maintain(cfg: AppConfig, options: maintain.Options, say: Say) -> tuple[StepResult, str]:
    """``careplus maintain``: checks the options before Spark starts; returns the result and the report.

    Raises:
        ConfigError: an unknown table, or a VACUUM retention below 168 h without ``force``.
    """
    maintain.selected_tables(options.tables)
    if options.vacuum is not False and cfg.maintenance.vacuum:
        hours = cfg.maintenance.retention_hours if options.retention_hours is None else options.retention_hours
        maintain.check_retention(hours, options.force)
    ctx = RunContext(cfg)
    reports: list[maintain.TableReport] = []
    with run_lock.hold(cfg, ctx.run_id, say=say):  # before Spark starts, as for careplus run
        spark = open_lakehouse(cfg, app_name="careplus-maintain")
        result = RunLedger(spark, ctx).run(maintain.STEP, lambda s, c: maintain.maintain(s, c, options, reports))
    return result, maintain.format_report(reports)


def run_restore(
    cfg: AppConfig, table: str, version: int | None, timestamp: dt.datetime | None, say: Say
) -> StepResult:
    """``careplus restore``: a table that cannot be restored fails before Spark starts.

    Raises:
        ConfigError: an unknown table, one that cannot be restored alone, or no such version.
    """
    restore.restorable(table)
    ctx = RunContext(cfg)
    with run_lock.hold(cfg, ctx.run_id, say=say):  # before Spark starts, as for careplus run
        spark = open_lakehouse(cfg, app_name="careplus-restore")
        return RunLedger(spark, ctx).run(restore.STEP, lambda s, c: restore.restore(s, c, table, version, timestamp))
