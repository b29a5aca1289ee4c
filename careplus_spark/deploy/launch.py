"""What every deployed job is launched with, on Glue and on EMR alike.

The job's own configuration (``--env`` plus the deploy ``settings``) is loaded here, at deploy
time, with no environment variables (a Glue job or an EMR step has none of the deployer's), so a
job that could not start is refused before anything is uploaded. The static Spark confs (Delta's
extension and catalog, the Glue Data Catalog client) come from the one session builder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from careplus_spark.deploy.artifacts import Manifest
from careplus_spark.errors import ConfigError
from careplus_spark.platform.config import AppConfig, load_config
from careplus_spark.platform.session import spark_conf

#: Spark confs read only when the session starts: they must be on the launch command.
STATIC_CONFS = (
    "spark.sql.extensions",
    "spark.sql.catalog.spark_catalog",
    "spark.sql.catalogImplementation",
    "spark.hadoop.hive.metastore.client.factory.class",
    "spark.databricks.delta.properties.defaults.enableDeletionVectors",
    # lakehouse.log_store: s3-dynamodb; Delta reads the log store class per scheme from the SparkContext's conf
    "spark.delta.logStore.s3.impl",
    "spark.delta.logStore.s3a.impl",
    "spark.io.delta.storage.S3DynamoDBLogStore.ddb.tableName",
    "spark.io.delta.storage.S3DynamoDBLogStore.ddb.region",
)
_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")


def overrides(settings: Mapping[str, str]) -> list[str]:
    """``key=value`` strings of a ``settings`` mapping, sorted by key (what ``--set`` takes)."""
    return [f"{key}={value}" for key, value in sorted(settings.items())]


def job_config(cfg: AppConfig, env: str, settings: Mapping[str, str], setting: str, platform: str) -> AppConfig:
    """The configuration the deployed job will load: ``conf/<env>.yaml`` + ``settings``, no environment.

    Raises:
        ConfigError: it would not load, or it is not for ``platform`` (names ``setting``).
    """
    conf_dir = Path(cfg.files[0]).parent if cfg.files else None
    try:
        job = load_config(env, overrides(settings), conf_dir=conf_dir, environ={})
    except ConfigError as exc:
        raise ConfigError(f"the {platform} job would not start with --env {env} and {setting}.settings "
                          f"(it sees no environment variables): {exc}; add the missing keys to "
                          f"{setting}.settings") from None
    if job.spark.platform != platform:
        raise ConfigError(f"{setting}.env={env!r} sets spark.platform={job.spark.platform!r}; a {platform} job "
                          f"needs an environment with spark.platform={platform} (conf/{platform}.yaml)")
    return job


def job_config_or_preview(cfg: AppConfig, env: str, settings: Mapping[str, str], setting: str, platform: str,
                          dry_run: bool) -> AppConfig:
    """:func:`job_config`; in a dry run that cannot load it (a fresh checkout), the deployer's own
    configuration moved to ``platform`` and the Glue Data Catalog, to show the definitions it implies.

    Raises:
        ConfigError: as :func:`job_config`, unless ``dry_run``.
    """
    try:
        return job_config(cfg, env, settings, setting, platform)
    except ConfigError:
        if not dry_run:
            raise
        lakehouse = replace(cfg.lakehouse, catalog=replace(cfg.lakehouse.catalog, kind="glue"))
        return replace(cfg, spark=replace(cfg.spark, platform=platform), lakehouse=lakehouse)  # type: ignore[arg-type]


def launch_confs(job: AppConfig) -> dict[str, str]:
    """The static Spark confs of the job's configuration, in a stable order."""
    conf = spark_conf(job, include_secrets=False)
    return {key: conf[key] for key in STATIC_CONFS if key in conf}


def check_jobs(jobs: Sequence[str], manifest: Manifest, setting: str) -> None:
    """Every job named in the config is a script of the package.

    Raises:
        ConfigError: an unknown job (names ``setting`` and the known ones) or none at all.
    """
    known = manifest.jobs()
    unknown = [j for j in jobs if j not in known]
    if unknown or not jobs:
        raise ConfigError(f"{setting}: {unknown or 'no job'} not in the package; known jobs: {sorted(known)}")


def check_name(name: str, setting: str) -> str:
    """A Glue job / trigger or EMR step name made from config.

    Raises:
        ConfigError: not 1-255 letters, digits, ``_ . -`` (names ``setting``).
    """
    if not _JOB_NAME.fullmatch(name):
        raise ConfigError(f"{setting}: {name!r} is not a valid job name (letters, digits, _ . -; at most 255)")
    return name
