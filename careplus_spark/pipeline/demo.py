"""``careplus demo``: generated data through the whole pipeline, with a summary at the end."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from careplus_spark.exposure.manifests import exposed_tables
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline.entry import open_lakehouse
from careplus_spark.pipeline.generate import run_generate
from careplus_spark.pipeline.gold_report import gold_report
from careplus_spark.pipeline.report import format_table, table_summary
from careplus_spark.pipeline.status import lakehouse_tables
from careplus_spark.pipeline.steps import run_steps
from careplus_spark.platform.config import AppConfig, is_local_path


def _wipe(cfg: AppConfig, say: Callable[[str], None]) -> None:
    targets = [cfg.lakehouse.root, cfg.sources.logs.path]
    if cfg.sources.tickets.url.startswith("jdbc:sqlite:"):
        targets.append(cfg.sources.tickets.url[len("jdbc:sqlite:") :])
    for target in targets:
        if not is_local_path(target):
            continue
        path = Path(target.removeprefix("file:"))
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        say(f"removed {path}")


def run_demo(cfg: AppConfig, fresh: bool, say: Callable[[str], None]) -> int:
    """Generates the configured days of data and runs every pipeline step on them."""
    total = time.monotonic()
    if fresh:
        _wipe(cfg, say)
    say(f"CarePlus demo ({cfg.env}): lakehouse {cfg.lakehouse.root}")
    started = time.monotonic()
    say("[generate] tickets -> " + cfg.sources.tickets.url + ", logs -> " + cfg.sources.logs.path)
    stats = run_generate(cfg, progress=lambda m: say(f"[generate] {m}"))
    timings = [("generate", time.monotonic() - started)]
    say("[spark] starting Spark ...")
    started = time.monotonic()
    spark = open_lakehouse(cfg, app_name="careplus-demo")
    timings.append(("spark start", time.monotonic() - started))
    ctx = RunContext(cfg)
    results = run_steps(spark, ctx, [], progress=say)
    timings.extend((r.step, r.seconds) for r in results)
    _summary(say, spark, cfg, stats, results, timings, lakehouse_tables(cfg))
    for block in gold_report(spark, cfg):
        say("")
        say(block)
    say("")
    say(exposure_note(cfg))
    say("")
    say(f"demo finished in {time.monotonic() - total:.1f} s")
    return 0


def exposure_note(cfg: AppConfig) -> str:
    """Where Athena / Redshift Spectrum find the gold tables, and the commands that print their DDL."""
    names = ", ".join(t.name for t in exposed_tables(cfg))
    return (
        "Athena / Redshift Spectrum: every gold table keeps a current symlink manifest in\n"
        f"  {cfg.lakehouse.root}/gold/<table>/_symlink_format_manifest/  ({names})\n"
        "DDL from the live schemas (Athena reads S3: run with lakehouse.root=s3a://..., see the README):\n"
        "  careplus ddl --target athena --location-prefix s3://BUCKET/PREFIX      # or spectrum, athena-delta\n"
        "  careplus ddl --target athena --out ddl/                                # one file per table and view"
    )


def _summary(say, spark, cfg, stats, results: list[StepResult], timings, refs) -> None:  # type: ignore[no-untyped-def]
    say("")
    say(
        f"generated: {stats.tickets_inserted} tickets (+{stats.tickets_updated} updates, "
        f"-{stats.tickets_deleted} deletions), {stats.log_files} log files, {stats.log_events} blocks "
        f"({stats.malformed_blocks} malformed, {stats.duplicate_events} duplicates)"
    )
    say("")
    say(
        format_table(
            ["step", "read", "written", "updated", "quarantined", "unchanged", "seconds"],
            [
                (r.step, r.rows_read, r.rows_written, r.rows_updated, r.rows_quarantined, r.rows_skipped,
                 round(r.seconds, 1))
                for r in results
            ],
        )
    )
    say("")
    say(format_table(["table", "rows", "version"], table_summary(spark, refs)))
    say("")
    say(format_table(["phase", "seconds"], [(name, round(seconds, 1)) for name, seconds in timings]))
