"""Benchmark: the fixed cost of the pipeline's steps on a small day, against Spark's own start.

Usage::

    .venv/bin/python bench/step_overhead.py             # the demo's data (300 tickets, ~870 log blocks)
    .venv/bin/python bench/step_overhead.py --next-day  # also a second, incremental day

The claim measured (issue 15): a run costs what its data costs. On a day this small, every
second of a step is overhead (Spark jobs, Delta commits, bookkeeping), so the whole pipeline
should cost little more than starting Spark. In one process:

1. the demo's data is generated (``careplus generate`` with ``conf/local.yaml``: SQLite
   tickets, plain log files) into a fresh work dir;
2. the SparkSession is built and the lakehouse attached: ``spark start``, timed;
3. the whole pipeline runs once on an empty lakehouse (``run_steps(spark, RunContext(cfg,
   profile=True), [])``, the run ``careplus demo`` makes), each step profiled
   (:mod:`careplus_spark.pipeline.profile`: Spark jobs with their time by kind, Delta commits,
   files);
4. with ``--next-day``: a day of new tickets and log files is generated and the pipeline runs
   again (the daily incremental run), profiled the same way.

Printed: per step wall seconds, Spark jobs, Delta commits and the profile line; the totals;
and, as the last line, ``ratio pipeline/spark_start = X`` (the first run's steps, after the
start, over the start itself; target X <= 2.5). Run it on an idle machine: on 2 shared cores
every figure grows, the start less than the steps.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from careplus_spark.lakehouse.run import RunContext, StepResult  # noqa: E402
from careplus_spark.pipeline.entry import open_lakehouse  # noqa: E402
from careplus_spark.pipeline.generate import run_generate  # noqa: E402
from careplus_spark.pipeline.steps import run_steps  # noqa: E402
from careplus_spark.platform.config import AppConfig, load_config  # noqa: E402


def _config(work: Path, overrides: list[str]) -> AppConfig:
    return load_config("local", [
        f"lakehouse.root={work / 'lakehouse'}",
        f"sources.logs.path={work / 'logs'}",
        f"sources.tickets.url=jdbc:sqlite:{work / 'tickets.db'}",
        *overrides,
    ])


def _run(spark: object, cfg: AppConfig, title: str) -> tuple[float, list[StepResult]]:
    print(f"\n== {title} ==")
    lines: list[str] = []
    ctx = RunContext(cfg, profile=True)
    started = time.monotonic()
    results = run_steps(spark, ctx, [], progress=lines.append)  # type: ignore[arg-type]
    total = time.monotonic() - started
    profiles = {line.split(":", 1)[0]: line.split("profile: ", 1)[1] for line in lines if ": profile: " in line}
    print(f"{'step':<16} {'wall s':>7}  profile")
    for index, result in enumerate(results, start=1):
        prefix = f"[{index}/{len(results)}] {result.step}"
        print(f"{result.step:<16} {result.seconds:7.2f}  {profiles.get(prefix, '')}")
    print(f"{'total':<16} {total:7.2f}")
    return total, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--next-day", action="store_true", help="also time a second, incremental day")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="careplus-step-overhead-"))
    try:
        cfg = _config(work, args.overrides)
        started = time.monotonic()
        run_generate(cfg, progress=lambda _m: None)
        print(f"generate {time.monotonic() - started:.1f} s (work dir {work})")
        started = time.monotonic()
        spark = open_lakehouse(cfg, app_name="careplus-bench-step-overhead")
        spark_start = time.monotonic() - started
        print(f"spark start {spark_start:.2f} s")
        first, _ = _run(spark, cfg, "first run (empty lakehouse, the demo's day)")
        if args.next_day:
            run_generate(cfg, days=1, first_day=cfg.generate.days, progress=lambda _m: None)
            _run(spark, cfg, "next day (incremental)")
        print(f"\nratio pipeline/spark_start = {first / spark_start:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
