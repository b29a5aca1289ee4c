"""Benchmark: the cost of a year in small doses. The next daily run before and after ``careplus maintain``.

Usage::

    .venv/bin/python bench/maintenance.py                 # 30 daily runs of 200 tickets a day
    .venv/bin/python bench/maintenance.py --days 3        # smoke run (its ratio means little)

What a lakehouse run daily accumulates is files and versions, not rows: every MERGE leaves
small files in the partitions it touches, ``ops.runs`` gets two appends a step, ``ops.cursors``
and ``ops.dq_results`` a commit or more a run. So the history is built the way it happens:
``--days`` pipeline runs, one a day, each after that day's tickets (SQLite) and log files are
generated (``careplus_spark.synthetic``, its default dirty traits). Then, in the same Spark
session (``local[2]``):

1. the next day is generated; the lakehouse is copied (``before`` and ``after``: the same
   files, the same cursors; both read the same source);
2. ``careplus maintain`` runs on ``after`` (its time and its report printed); VACUUM is
   forced to a zero retention, as if the week had passed (the files the compaction replaced
   are deleted; on a real lakehouse that happens ``maintenance.retention_hours`` later);
3. the next daily run is timed on ``before``, then on ``after``, then on ``before`` and
   ``after`` again with one more day each (two samples per side; the sides alternate so
   that neither gets a warmer JVM).

Printed: live files and bytes (the snapshot) and stored ones (the folders) of every table on
both sides, per-step seconds of the timed runs, and as the last line ``ratio after/before =
X``: the timed runs' total seconds on ``after`` over ``before`` (target X <= 0.8, issue 16).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

START_DATE = dt.date(2025, 7, 1)


def make_cfg(work: Path, side: str, args: argparse.Namespace) -> object:
    from careplus_spark.platform.config import load_config

    return load_config(
        "test",
        overrides=[
            f"lakehouse.root={work / side}",
            f"lakehouse.catalog.metastore_dir={work / 'catalog'}",  # one metastore: one session
            f"sources.tickets.url=jdbc:sqlite:{work / 'source' / 'tickets.db'}",
            f"sources.logs.path={work / 'logs'}",
            "spark.master=local[2]",
            f"spark.driver_memory={args.driver_memory}",
        ],
        conf_dir=REPO / "conf",
    )


def add_day(cfg: object, args: argparse.Namespace, day: int) -> None:
    from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url

    spec = GenerateSpec(seed=args.seed, start_date=START_DATE, days=1, tickets_per_day=args.tickets_per_day,
                        log_files_per_day=2)
    tickets = cfg.sources.tickets  # type: ignore[attr-defined]
    with sink_for_url(tickets.url, "", "", tickets.table) as sink:
        generate(spec, sink, Path(cfg.sources.logs.path), first_day=day)  # type: ignore[attr-defined]


def run_day(spark, cfg, label: str) -> tuple[float, dict[str, float]]:  # type: ignore[no-untyped-def]
    from careplus_spark.lakehouse.run import RunContext
    from careplus_spark.pipeline.steps import run_steps

    started = time.monotonic()
    results = run_steps(spark, RunContext(cfg), [])
    seconds = time.monotonic() - started
    print(f"  {label}: {seconds:.1f} s", flush=True)
    return seconds, {r.step: r.seconds for r in results}


def footprints(spark, cfg) -> dict[str, tuple[object, object]]:  # type: ignore[no-untyped-def]
    from careplus_spark.lakehouse import catalog, tables
    from careplus_spark.lakehouse.maintenance import live, stored

    found = {}
    for table in catalog.TABLES:
        ref = table.ref(cfg.lakehouse.root)
        if tables.exists(spark, ref):
            found[table.qualified] = (live(spark, ref.path), stored(spark, ref.path))
    return found


def print_footprints(before: dict, after: dict) -> None:  # type: ignore[type-arg]
    print(f"{'table':28} {'live files':>16} {'live MB':>16} {'stored files':>16} {'stored MB':>16}")
    totals = [0, 0, 0, 0, 0, 0, 0, 0]
    for name, (live_b, stored_b) in before.items():
        live_a, stored_a = after[name]
        values = [live_b.files, live_a.files, live_b.bytes, live_a.bytes, stored_b.files, stored_a.files,
                  stored_b.bytes, stored_a.bytes]
        totals = [t + v for t, v in zip(totals, values, strict=True)]
        print(f"{name:28} {_pair(values[0:2])} {_pair(values[2:4], mb=True)} {_pair(values[4:6])} "
              f"{_pair(values[6:8], mb=True)}")
    print(f"{'total':28} {_pair(totals[0:2])} {_pair(totals[2:4], mb=True)} {_pair(totals[4:6])} "
          f"{_pair(totals[6:8], mb=True)}")


def _pair(values: list[int], mb: bool = False) -> str:
    if mb:
        return f"{values[0] / 1e6:7.1f} -> {values[1] / 1e6:5.1f}"
    return f"{values[0]:7d} -> {values[1]:5d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30, help="daily runs of history (default 30)")
    parser.add_argument("--tickets-per-day", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temp folder, removed)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="careplus-maintenance-"))
    try:
        return _run(work, args)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def _run(work: Path, args: argparse.Namespace) -> int:
    from careplus_spark.lakehouse.run import RunContext
    from careplus_spark.pipeline import maintain
    from careplus_spark.pipeline.entry import open_lakehouse

    before_cfg, after_cfg = make_cfg(work, "before", args), make_cfg(work, "after", args)
    started = time.monotonic()
    spark = open_lakehouse(before_cfg, app_name="careplus-bench-maintenance")
    print(f"spark start {time.monotonic() - started:.1f} s", flush=True)
    started = time.monotonic()
    for day in range(args.days):
        add_day(before_cfg, args, day)
        run_day(spark, before_cfg, f"history day {day}")
    print(f"history: {args.days} daily runs in {time.monotonic() - started:.1f} s", flush=True)

    shutil.copytree(work / "before", work / "after", symlinks=True)
    reports: list[maintain.TableReport] = []
    started = time.monotonic()
    maintain.maintain(spark, RunContext(after_cfg), maintain.Options(retention_hours=0, force=True), reports)
    print(f"careplus maintain: {time.monotonic() - started:.1f} s")
    print(maintain.format_report(reports))
    print("before vs after maintenance:")
    print_footprints(footprints(spark, before_cfg), footprints(spark, after_cfg))

    totals = {"before": 0.0, "after": 0.0}
    steps: dict[str, dict[str, float]] = {"before": {}, "after": {}}
    sides = [("before", before_cfg), ("after", after_cfg)]
    for day in (args.days, args.days + 1):
        add_day(before_cfg, args, day)
        for side, cfg in sides if day == args.days else sides[::-1]:
            seconds, per_step = run_day(spark, cfg, f"day {day} on {side}")
            totals[side] += seconds
            for step, value in per_step.items():
                steps[side][step] = steps[side].get(step, 0.0) + value
    print(f"{'step':18} {'before s':>9} {'after s':>9}")
    for step in steps["before"]:
        print(f"{step:18} {steps['before'][step]:9.1f} {steps['after'].get(step, 0.0):9.1f}")
    print(f"{'pipeline':18} {totals['before']:9.1f} {totals['after']:9.1f}")
    print(f"ratio after/before = {totals['after'] / totals['before']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
