"""The ``careplus`` command (also ``python -m careplus_spark``).

Every sub-command takes ``--env NAME`` (``conf/NAME.yaml``) and ``--set a.b=c``.
Anticipated failures print one paragraph to stderr and exit with the error's code
(2 for configuration); an unexpected one prints one paragraph too (what failed, where, the
exception, a hint, the trace file: :mod:`careplus_spark.platform.failure`) and exits with a
code chosen by its class. Nothing prints a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from careplus_spark.deploy.commands import build_package, deploy, dist_dir, render_calls
from careplus_spark.errors import CarePlusError, ConfigError
from careplus_spark.lakehouse import lock as run_lock
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.pipeline.generate import next_day_index, run_generate
from careplus_spark.pipeline.report import format_dataframe
from careplus_spark.pipeline.status import render, snapshot
from careplus_spark.platform import failure, jars, secrets, session, typed
from careplus_spark.platform.config import AppConfig, load_config
from careplus_spark.sources.log_reader import build_reader_jar

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default="local", help="configuration environment: conf/ENV.yaml (default: local)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a setting"
    )
    parser.add_argument("--conf-dir", type=Path, default=None, help="folder of base.yaml and ENV.yaml")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks, debug logs and Spark's log at INFO (nothing silenced)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="careplus", description="CarePlus Lakehouse: tickets and logs to Delta.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, handler: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p)
        p.set_defaults(handler=handler)
        return p

    setup = command("setup", "download the JVM jars into the local cache and build the log reader", _cmd_setup)
    setup.add_argument("--skip-reader", action="store_true", help="do not build the JVM log reader")
    command("jars", "print the cached jar paths (comma-separated) for spark-submit --jars", _cmd_jars)
    config = command("config", "print the resolved configuration (secrets masked)", _cmd_config)
    config.add_argument("--spark-conf", action="store_true", help="print the Spark settings instead")

    gen = command("generate", "write synthetic tickets (JDBC source) and log files", _cmd_generate)
    gen.add_argument("--seed", type=int, default=None)
    gen.add_argument("--days", type=int, default=None)
    gen.add_argument("--first-day", type=int, default=None, help="index of the first day (0 recreates the table)")
    gen.add_argument("--next-day", action="store_true", help="generate the day after the latest one on disk")

    run = command("run", "run pipeline jobs (default: the whole pipeline)", _cmd_run)
    run.add_argument("jobs", nargs="*", help="job names, e.g. ingest_tickets ingest_logs (default: all)")
    run.add_argument("--reprocess", action="append", default=[], metavar="PATH",
                     help="re-read these log files/prefixes")
    run.add_argument("--since", type=_date, default=None, metavar="YYYY-MM-DD",
                     help="re-read log files modified and tickets updated since this date")
    run.add_argument("--full-refresh", action="store_true",
                     help="rebuild silver and gold from the whole of their inputs")
    run.add_argument("--profile", action="store_true",
                     help="print each step's Spark jobs (time by kind), Delta commits and files")
    run.add_argument("--wait-lock", type=_seconds, default=None, metavar="SECONDS",
                     help="wait this long for another run to release the run lock, then exit 6 "
                     "(default: lakehouse.lock.wait_s)")

    demo = command("demo", "generate data and run the whole pipeline on the embedded default", _cmd_demo)
    demo.add_argument("--fresh", action="store_true", help="delete the local lakehouse and data first")

    sql = command("sql", "run Spark SQL against the lakehouse catalog", _cmd_sql)
    sql.add_argument("-e", "--execute", help="statement(s) to run; without it, read them from stdin")
    sql.add_argument("--limit", type=int, default=50, help="rows shown per result")

    expose = command("expose", "keep the exposed tables' manifests current, register the analyst views and "
                     "sync the Glue Data Catalog (exposure.catalog)", _cmd_expose)
    expose.add_argument("--regenerate", action="store_true", help="rewrite every exposed table's full manifest")
    expose.add_argument("--dry-run", action="store_true",
                        help="print the Glue Data Catalog calls instead of making them")
    ddl = command("ddl", "print the CREATE statements of the exposed tables and views for Athena or Redshift "
                  "Spectrum, from the live Delta schemas", _cmd_ddl)
    ddl.add_argument("--target", choices=["athena", "spectrum", "athena-delta"], default="athena")
    ddl.add_argument("--out", type=Path, default=None, metavar="DIR", help="write one file per table into DIR")
    ddl.add_argument("--location-prefix", default="", metavar="s3://BUCKET/PREFIX",
                     help="how the engines address lakehouse.root (default: exposure.location_prefix)")

    _deploy_commands(command)
    _operate_commands(command)
    status = command("status", "last runs, tables (versions, rows), cursors and the log-files ledger", _cmd_status)
    status.add_argument("--runs", type=int, default=10, metavar="N", help="runs shown (default: 10)")
    status.add_argument("--json", action="store_true", help="print it as JSON, for other tools")
    return parser


_Command = Callable[[str, str, Callable[[argparse.Namespace], int]], argparse.ArgumentParser]


def _deploy_commands(command: _Command) -> None:
    """``careplus package`` and ``careplus deploy glue|emr``."""
    pkg = command("package", "build the wheel, jobs, log reader jars and Connector/J into dist/ (with a manifest)",
                  _cmd_package)
    pkg.add_argument("--out", type=Path, default=None, metavar="DIR", help="target folder (default: deploy.dist_dir)")
    pkg.add_argument("--source", type=Path, default=None, metavar="DIR", help="the source checkout (default: this one)")
    deploy = command("deploy", "upload the package in dist/ and create or update the AWS Glue jobs, or submit the "
                     "jobs to EMR (steps) or EMR Serverless", _cmd_deploy)
    deploy.add_argument("platform", choices=["glue", "emr"])
    deploy.add_argument("--job", dest="jobs", action="append", default=[], metavar="JOB",
                        help="emr: a job to submit (repeat for several, run in order; default: deploy.emr.jobs)")
    deploy.add_argument("--dry-run", action="store_true", help="print the API calls instead of making them")
    deploy.add_argument("--out", type=Path, default=None, metavar="DIR", help="the package folder (default: dist/)")
    deploy.add_argument("--serverless", action="store_true", help="emr: start EMR Serverless job runs")
    deploy.add_argument("--wait", action="store_true", help="emr: follow each step/job run; fail if one fails")
    deploy.add_argument("--schedule", action="store_true", help="emr: create or update the EventBridge schedule "
                        "(deploy.emr.schedule) that adds the steps, instead of adding them now")


def _operate_commands(command: _Command) -> None:
    """``careplus maintain`` and ``careplus restore``."""
    maintain = command("maintain", "OPTIMIZE what recent runs changed, VACUUM, rewrite manifests; print files and "
                       "bytes before and after (README: Operating)", _cmd_maintain)
    maintain.add_argument("tables", nargs="*", metavar="TABLE", help="e.g. gold.fct_tickets (default: every table)")
    maintain.add_argument("--full", action="store_true", help="consider whole tables, not only what changed")
    maintain.add_argument("--retention-hours", type=_hours, default=None, metavar="HOURS",
                          help="VACUUM retention (default: maintenance.retention_hours; below 168 needs --force)")
    maintain.add_argument("--no-vacuum", action="store_true", help="compact only")
    maintain.add_argument("--force", action="store_true", help="allow a VACUUM retention below 168 hours")


    restore = command("restore", "bring a table back to an earlier version; the next run recomputes what follows "
                      "it (README: Operating)", _cmd_restore)
    restore.add_argument("table", metavar="TABLE", help="e.g. gold.fct_tickets, silver.tickets, bronze.tickets")
    to = restore.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-version", type=int, default=None, metavar="N")
    to.add_argument("--to-timestamp", type=_instant, default=None, metavar="TIME",
                    help="ISO time, e.g. 2025-07-02T02:00:00Z (UTC when no offset is given)")


def _instant(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO time such as 2025-07-02T02:00:00Z, found {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _amount(unit: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text) if text.replace(".", "", 1).isdigit() else -1.0
        if not 0 <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"expected a number of {unit} >= 0, found {text!r}")
        return value
    return parse


_seconds, _hours = _amount("seconds"), _amount("hours")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, found {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("py4j").setLevel(logging.WARNING)
    secrets.install_log_redaction()
    try:
        return int(args.handler(args))
    except CarePlusError as exc:
        if args.debug:
            raise
        print(f"careplus: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("careplus: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - answered in one paragraph, the trace in a file
        return _unexpected(args, exc)


def _unexpected(args: argparse.Namespace, exc: Exception) -> int:
    """One paragraph on stderr (what, where, the exception, a hint, the trace file); the trace with --debug.

    The exit code comes from the exception's class (:mod:`careplus_spark.platform.failure_rules`), 1 if unknown.
    """
    try:
        cfg: AppConfig | None = _config(args)
    except Exception:  # noqa: BLE001 - the trace still goes somewhere (the home folder)
        cfg = None
    found, text = failure.report(exc, f"careplus {args.command}", cfg, args.command)
    if args.debug:
        print(text, file=sys.stderr)
    print(found.paragraph(), file=sys.stderr)
    return found.exit_code


def _config(args: argparse.Namespace) -> AppConfig:
    return load_config(args.env, _overrides(args), args.conf_dir)


def _overrides(args: argparse.Namespace) -> list[str]:
    """``--set`` values; with ``--debug`` Spark logs at INFO with nothing silenced, unless set otherwise."""
    overrides = list(args.overrides)
    if args.debug and not any(o.split("=", 1)[0].strip() == "spark.log_level" for o in overrides):
        overrides.insert(0, "spark.log_level=INFO")
    return overrides


def _say(message: str) -> None:
    print(message, flush=True)


def _cmd_setup(args: argparse.Namespace) -> int:
    cfg = _config(args)
    paths = jars.fetch_jars(session.jars_dir(cfg), progress=_say, log_store=cfg.lakehouse.log_store)
    _say(f"jars ready in {session.jars_dir(cfg)} ({len(paths)} files)")
    if not args.skip_reader:
        _say(f"log reader: {build_reader_jar(jars.spark_line())}")
    return 0


def _cmd_jars(args: argparse.Namespace) -> int:
    print(",".join(session.jar_list(session.spark_conf(_config(args), include_secrets=False))))
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if args.spark_conf:
        settings = secrets.mask_settings(session.spark_conf(cfg, include_secrets=False))
        for key, value in sorted(settings.items()):
            print(secrets.redact(f"{key}={value}"))
    else:
        tree = secrets.redact_tree(typed.plain(cfg))  # secrets masked by name, then anything secret-looking
        print(yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, width=110), end="")
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    cfg = _config(args)
    first = next_day_index(cfg) if args.next_day else (args.first_day or 0)
    days = args.days if args.days is not None else (1 if args.next_day else None)
    stats = run_generate(cfg, seed=args.seed, days=days, first_day=first, progress=_say)
    _say(
        f"generated: {stats.tickets_inserted} tickets (+{stats.tickets_updated} updates, "
        f"-{stats.tickets_deleted} deletions), {stats.log_files} log files, {stats.log_events} blocks"
    )
    return 0


def _session(cfg: AppConfig, name: str, catalog_in_background: bool = False) -> SparkSession:
    from careplus_spark.pipeline.entry import open_lakehouse  # lazy: imports Spark (--help stays fast)

    return open_lakehouse(cfg, app_name=f"careplus-{name}", catalog_in_background=catalog_in_background)


def _cmd_run(args: argparse.Namespace) -> int:
    from careplus_spark.pipeline.steps import check_config, resolve, run_steps  # lazy: imports Spark

    cfg = _config(args)
    resolve(args.jobs)  # unknown job names and alarm rules fail before Spark starts
    check_config(cfg)
    ctx = RunContext(cfg, reprocess=tuple(args.reprocess), since=args.since, full_refresh=args.full_refresh,
                     profile=args.profile)
    # the run lock before Spark starts: a second run writes nothing (nor opens the metastore)
    with run_lock.hold(cfg, ctx.run_id, wait_s=args.wait_lock, say=_say):
        spark = _session(cfg, "run", catalog_in_background=True)
        _say(f"run {ctx.run_id} ({cfg.env})")
        run_steps(spark, ctx, args.jobs, progress=_say)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from careplus_spark.pipeline.demo import run_demo  # lazy: imports Spark (--help stays fast)

    return run_demo(_config(args), fresh=args.fresh, say=_say)


def _cmd_sql(args: argparse.Namespace) -> int:
    cfg = _config(args)
    text = args.execute if args.execute is not None else sys.stdin.read()
    statements = [s.strip() for s in text.split(";") if s.strip()]
    spark = _session(cfg, "sql")
    for statement in statements:
        started = time.monotonic()
        df = spark.sql(statement)
        if df.columns:
            print(format_dataframe(df, args.limit))
        print(f"({time.monotonic() - started:.1f} s)")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    if args.runs < 1:
        raise ConfigError(f"--runs must be at least 1, found {args.runs}")
    cfg = _config(args)
    spark = _session(cfg, "status")
    if args.json:
        print(json.dumps(snapshot(spark, cfg, runs=args.runs), indent=2, default=str))
    else:
        print(render(spark, cfg, runs=args.runs))
    return 0


def _cmd_package(args: argparse.Namespace) -> int:
    manifest = build_package(_config(args), args.out, args.source, progress=_say)
    _say(f"package {manifest.release} (commit {manifest.commit}) in {dist_dir(_config(args), args.out)}:")
    for artefact in manifest.artefacts:
        _say(f"  {artefact.path}  {artefact.size:>9} B  sha256 {artefact.sha256[:16]}")
    return 0


def _cmd_deploy(args: argparse.Namespace) -> int:
    report = deploy(_config(args), args.platform, out=args.out, dry_run=args.dry_run, jobs=args.jobs,
                    serverless=args.serverless, wait=args.wait, schedule=args.schedule)
    if args.dry_run:
        print(render_calls(report.calls))
    for line in report.lines():
        _say(line)
    return 0


def _cmd_expose(args: argparse.Namespace) -> int:
    from careplus_spark.exposure.expose import STEP, expose  # lazy: imports Spark (--help stays fast)
    from careplus_spark.pipeline.ledger import RunLedger  # lazy: imports Spark (--help stays fast)

    cfg = _config(args)
    ctx = RunContext(cfg)
    with run_lock.hold(cfg, ctx.run_id, say=_say):  # before Spark starts, as for careplus run
        spark = _session(cfg, "expose")
        result = RunLedger(spark, ctx).run(
            STEP, lambda s, c: expose(s, c, regenerate=args.regenerate, dry_run=args.dry_run)
        )
    _say(result.detail)
    return 0


def _cmd_maintain(args: argparse.Namespace) -> int:
    from careplus_spark.pipeline import maintain, operate  # lazy: imports Spark (--help stays fast)

    options = maintain.Options(tuple(args.tables), args.retention_hours, False if args.no_vacuum else None,
                               args.full, args.force)
    result, report = operate.run_maintain(_config(args), options, _say)
    print(report)
    _say(result.detail)
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from careplus_spark.pipeline import operate  # lazy: imports Spark (--help stays fast)

    _say(operate.run_restore(_config(args), args.table, args.to_version, args.to_timestamp, _say).detail)
    return 0


def _cmd_ddl(args: argparse.Namespace) -> int:
    from careplus_spark.exposure.expose import ddl_files  # lazy: imports Spark (--help stays fast)

    cfg = _config(args)
    spark = _session(cfg, "ddl")
    files = ddl_files(spark, cfg, args.target, args.location_prefix)
    if not files:
        raise ConfigError("no exposed table exists yet: run the pipeline first (careplus run)")
    if args.out is None:
        print("\n\n".join(f"-- {name}\n{text.rstrip()}" for name, text in files.items()))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text.rstrip() + "\n", encoding="utf-8")
    _say(f"{len(files)} file(s) in {args.out}")
    return 0

