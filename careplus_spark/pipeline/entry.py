"""The shared body of the thin ``jobs/*.py`` entry points (spark-submit, EMR steps, AWS Glue).

Arguments:

- ``--env NAME``: the configuration environment (``conf/NAME.yaml``), default ``local``;
- ``--set key=value``, any number of times (spark-submit, EMR): one configuration override each;
- ``--settings JSON``: a JSON object of overrides, ``{"lakehouse.root": "s3://b/lake", ...}``.
  Glue passes each job argument name once, so a Glue job carries all its overrides in this
  one argument. A string value reads like the value of ``--set`` (a YAML scalar); numbers,
  booleans, null, lists and objects keep their JSON type. ``--settings`` is applied first,
  then each ``--set``;
- ``--full-refresh``: rebuild silver and gold from the whole of their inputs.

Glue runs the script as ``script.py --JOB_ID j_1 --JOB_RUN_ID jr_1 --JOB_NAME name
--job-bookmark-option ... --TempDir s3://... --enable-glue-datacatalog true --env glue
--settings '{...}'``: arguments this parser does not know are ignored, abbreviations are not
accepted (so no ``--e...`` argument of Glue's can be taken for ``--env``), and the run's first
log line names the Glue job and run (``--JOB_NAME``, ``--JOB_RUN_ID``) when they are given.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from careplus_spark.errors import CarePlusError, ConfigError
from careplus_spark.lakehouse import catalog
from careplus_spark.lakehouse import lock as run_lock
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.pipeline.steps import check_config, resolve, run_steps
from careplus_spark.platform import failure, secrets
from careplus_spark.platform.config import AppConfig, load_config
from careplus_spark.platform.session import build_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("careplus.job")

_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def parse_job_args(argv: Sequence[str]) -> argparse.Namespace:
    """The job's arguments from a spark-submit, EMR or Glue argument list (see the module doc).

    Example:
        >>> args = parse_job_args(["--JOB_RUN_ID", "jr_1", "--env", "glue", "--settings", '{"a.b": 1}', "--set", "c=d"])
        >>> args.env, args.overrides, args.glue_job_run_id
        ('glue', ['a.b=1', 'c=d'], 'jr_1')

    Returns:
        ``env``, ``overrides`` (``key=value`` strings: ``--settings`` first, then ``--set``),
        ``full_refresh``, ``glue_job_name`` and ``glue_job_run_id`` (None when not given).

    Raises:
        ConfigError: ``--settings`` is not a JSON object of dotted keys.
    """
    parser = argparse.ArgumentParser(prog="jobs/<job>.py", add_help=True, allow_abbrev=False)
    parser.add_argument("--env", default="local", help="configuration environment (conf/ENV.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--settings", default=None, metavar="JSON", help='overrides as {"dotted.key": value}')
    parser.add_argument("--full-refresh", action="store_true", help="rebuild silver and gold from their inputs")
    parser.add_argument("--JOB_NAME", dest="glue_job_name", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--JOB_RUN_ID", dest="glue_job_run_id", default=None, help=argparse.SUPPRESS)
    args, _unknown = parser.parse_known_args(list(argv))
    args.overrides = [*settings_overrides(args.settings), *args.overrides]
    return args


def settings_overrides(text: str | None) -> list[str]:
    """The ``key=value`` overrides of a ``--settings`` JSON object, in its order.

    Example:
        >>> settings_overrides('{"lakehouse.root": "s3://b/lake", "sources.tickets.num_partitions": 4}')
        ['lakehouse.root=s3://b/lake', 'sources.tickets.num_partitions=4']

    Raises:
        ConfigError: not JSON, not an object, or a key that is not a dotted configuration key.
    """
    if text is None:
        return []
    try:
        settings: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"--settings is not valid JSON ({exc.msg} at character {exc.pos}): expected an object such as "
            '\'{"lakehouse.root": "s3://bucket/lakehouse"}\''
        ) from None
    if not isinstance(settings, dict):
        found = _JSON_TYPES.get(type(settings), "value")
        raise ConfigError(f'--settings must be a JSON object of {{"dotted.key": value}}, found a JSON {found}')
    overrides = []
    for key, value in settings.items():
        if not key.strip() or not all(part.strip() for part in key.split(".")):
            raise ConfigError(f"--settings key {key!r} is not a dotted configuration key such as lakehouse.root")
        overrides.append(f"{key}={value if isinstance(value, str) else json.dumps(value)}")
    return overrides


def open_lakehouse(cfg: AppConfig, app_name: str | None = None, catalog_in_background: bool = False) -> SparkSession:
    """The SparkSession of a configuration with the lakehouse's databases and tables in its catalog.

    ``catalog_in_background``: the metastore starts (3-5 s) while the caller goes on; for a
    run, whose steps read and write by path (what needs names waits for it).

    Example:
        >>> spark = open_lakehouse(load_config("local"), app_name="careplus-run")  # doctest: +SKIP
    """
    spark = build_session(cfg, app_name=app_name)
    catalog.attach(spark, cfg.lakehouse.root, background=catalog_in_background)
    return spark


def run_job(jobs: Sequence[str], argv: Sequence[str] | None = None) -> int:
    """Loads the config, builds the session, runs the jobs; returns the exit code.

    The first log line names the run, its jobs and environment, and the Glue job and run
    when Glue started it: ``run 20250701T020000Z-1a2b3c4d: ingest_tickets (glue; Glue job
    careplus-ingest-tickets, run jr_abc)``. An unexpected exception is logged as one paragraph
    (:mod:`careplus_spark.platform.failure`; the trace goes to a file it names) and exits with
    the code its class maps to.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    secrets.install_log_redaction()
    cfg: AppConfig | None = None
    try:
        args = parse_job_args(sys.argv[1:] if argv is None else argv)
        cfg = load_config(args.env, args.overrides)
        resolve(jobs)
        check_config(cfg)  # before Spark starts
        ctx = RunContext(cfg, full_refresh=args.full_refresh)
        log.info("run %s: %s (%s%s)", ctx.run_id, ", ".join(jobs) or "all", cfg.env, _platform_run(args))
        with run_lock.hold(cfg, ctx.run_id, say=log.info):  # before Spark starts: a second run writes nothing
            spark = open_lakehouse(cfg, app_name=f"careplus-{'-'.join(jobs) or 'pipeline'}", catalog_in_background=True)
            run_steps(spark, ctx, jobs, progress=log.info)
    except CarePlusError as exc:
        log.error("%s", exc)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - answered in one paragraph, the trace in a file
        name = "-".join(jobs) or "pipeline"
        found, _text = failure.report(exc, f"job {name}", cfg, name)
        log.error("%s", found.paragraph())
        return found.exit_code
    return 0


def _platform_run(args: argparse.Namespace) -> str:
    """``; Glue job NAME, run ID`` for the first log line, empty when Glue did not start the job."""
    parts = []
    if args.glue_job_name:
        parts.append(f"Glue job {args.glue_job_name}")
    if args.glue_job_run_id:
        parts.append(f"run {args.glue_job_run_id}")
    return "; " + ", ".join(parts) if parts else ""
