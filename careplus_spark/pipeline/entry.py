"""The shared body of the thin ``jobs/*.py`` spark-submit and Glue entry points.

Arguments: ``--env NAME``, any number of ``--set key=value`` and ``--full-refresh``; unknown arguments
(Glue adds ``--JOB_ID``, ``--JOB_RUN_ID``, ``--job-bookmark-option`` ...) are ignored.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from careplus_spark.errors import CarePlusError
from careplus_spark.lakehouse import catalog
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.pipeline.steps import resolve, run_steps
from careplus_spark.platform.config import AppConfig, load_config
from careplus_spark.platform.session import build_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("careplus.job")


def parse_job_args(argv: Sequence[str]) -> argparse.Namespace:
    """``--env`` and ``--set`` from a spark-submit or Glue argument list."""
    parser = argparse.ArgumentParser(add_help=True)
    parser.add_argument("--env", default="local")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--full-refresh", action="store_true", help="rebuild gold from the whole of silver")
    args, _unknown = parser.parse_known_args(list(argv))
    return args


def open_lakehouse(cfg: AppConfig, app_name: str | None = None) -> SparkSession:
    """The SparkSession of a configuration with the lakehouse's databases and tables in its catalog.

    Example:
        >>> spark = open_lakehouse(load_config("local"), app_name="careplus-run")  # doctest: +SKIP
    """
    spark = build_session(cfg, app_name=app_name)
    catalog.attach(spark, cfg.lakehouse.root)
    return spark


def run_job(jobs: Sequence[str], argv: Sequence[str] | None = None) -> int:
    """Loads the config, builds the session, runs the jobs; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_job_args(sys.argv[1:] if argv is None else argv)
    try:
        cfg = load_config(args.env, args.overrides)
        resolve(jobs)
        spark = open_lakehouse(cfg, app_name=f"careplus-{'-'.join(jobs) or 'pipeline'}")
        ctx = RunContext(cfg, full_refresh=args.full_refresh)
        log.info("run %s: %s (%s)", ctx.run_id, ", ".join(jobs) or "all", cfg.env)
        run_steps(spark, ctx, jobs, progress=log.info)
    except CarePlusError as exc:
        log.error("%s", exc)
        return exc.exit_code
    return 0
