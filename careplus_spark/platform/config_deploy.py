"""Configuration sections of what leaves the lakehouse: exposure to Athena/Spectrum
(and the Glue Data Catalog) and deployment to AWS Glue and EMR.

Part of :mod:`careplus_spark.platform.config` (``exposure.*`` and ``deploy.*``), validated by
the same :func:`careplus_spark.platform.typed.build`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from careplus_spark.platform.config_checks import (
    JOB_PREFIX,
    NAME_PREFIX,
    above,
    at_least,
    between,
    checks,
    each,
    identifier,
    matches,
    table_name,
)

_SCHEDULE_NAME = re.compile(r"[0-9A-Za-z_.-]{1,64}")


@dataclass(frozen=True)
class GlueCatalogSyncConfig:
    """The AWS Glue Data Catalog that ``careplus expose`` registers exposed tables in.

    Databases are named ``<database_prefix><layer>`` (``careplus_gold``). ``region`` empty
    means ``s3.region``; ``endpoint`` empty means AWS itself (set it for an emulator).
    Credentials come from boto3's usual chain (environment, profile, instance role).
    """

    database_prefix: str = field(
        default="careplus_", metadata=checks(matches(NAME_PREFIX, "a name prefix: letters, digits and _"))
    )
    region: str = ""
    endpoint: str = ""


@dataclass(frozen=True)
class ExposureConfig:
    """What query engines outside Spark (Athena, Redshift Spectrum) read, and where.

    Every gold table is exposed (symlink manifests kept current); ``tables`` adds others by
    qualified name (``silver.tickets``). ``location_prefix`` is how those engines address
    ``lakehouse.root`` (``s3://bucket/prefix``; empty: the root with ``s3a://`` read as
    ``s3://``). ``catalog: glue`` registers the tables in the Glue Data Catalog after every
    ``careplus run`` and on ``careplus expose``.
    """

    tables: tuple[str, ...] = field(default=(), metadata=checks(each(table_name())))
    catalog: Literal["none", "glue"] = "none"
    location_prefix: str = ""
    glue: GlueCatalogSyncConfig = field(default_factory=GlueCatalogSyncConfig)
    spectrum_schema: str = field(default="careplus", metadata=checks(identifier()))
    spectrum_iam_role: str = ""


@dataclass(frozen=True)
class GlueJobConfig:
    """How ``careplus deploy glue`` defines the AWS Glue job(s) (see :mod:`careplus_spark.deploy.glue`).

    One job per entry of ``jobs`` (a name of ``jobs/``: ``run_pipeline``, ``ingest_logs`` ...),
    named ``<job_prefix><job>`` with ``_`` as ``-``. ``settings`` are the configuration overrides
    the job runs with (``--set`` for each), e.g. ``lakehouse.root``; ``arguments`` extra Glue job
    arguments. ``schedule`` (a Glue cron expression) adds a scheduled trigger per job.
    """

    env: str = "glue"
    spark_line: Literal["4.1", "3.5"] = "4.1"
    jobs: tuple[str, ...] = ("run_pipeline",)
    job_prefix: str = field(
        default="careplus-", metadata=checks(matches(JOB_PREFIX, "a job name prefix: letters, digits and _ . -"))
    )
    role: str = ""
    worker_type: str = "G.1X"
    number_of_workers: int = field(default=2, metadata=checks(at_least(1)))
    timeout_minutes: int = field(default=120, metadata=checks(at_least(1)))
    max_retries: int = field(default=0, metadata=checks(between(0, 10)))  # Glue's limits
    max_concurrent_runs: int = field(default=1, metadata=checks(at_least(1)))
    connections: tuple[str, ...] = ()
    schedule: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    arguments: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EmrConfig:
    """How ``careplus deploy emr`` submits jobs: steps on a cluster or EMR Serverless job runs.

    ``release_label`` picks the Spark line when the cluster cannot be asked (``--dry-run``);
    otherwise the cluster's (or application's) own release label is used. ``schedule`` (an
    EventBridge Scheduler expression, e.g. ``cron(0 2 * * ? *)``) with ``schedule_role`` (the role
    the scheduler assumes to add the steps) lets ``careplus deploy emr --schedule`` create the
    schedule ``schedule_name`` that adds the steps to the cluster, instead of adding them now.
    """

    env: str = "emr"
    cluster_id: str = ""
    serverless_application_id: str = ""
    serverless_execution_role: str = ""
    release_label: str = "emr-7.13.0"
    jobs: tuple[str, ...] = ("run_pipeline",)
    deploy_mode: Literal["cluster", "client"] = "cluster"
    action_on_failure: Literal["CONTINUE", "CANCEL_AND_WAIT", "TERMINATE_CLUSTER"] = "CANCEL_AND_WAIT"
    delta_jars: tuple[str, ...] = (
        "/usr/share/aws/delta/lib/delta-spark.jar",
        "/usr/share/aws/delta/lib/delta-storage.jar",
    )
    settings: dict[str, str] = field(default_factory=dict)
    wait_timeout_minutes: float = field(default=180.0, metadata=checks(above(0)))
    poll_seconds: float = field(default=30.0, metadata=checks(above(0)))
    schedule: str = ""
    schedule_name: str = field(default="careplus-emr-steps",
                               metadata=checks(matches(_SCHEDULE_NAME, "a schedule name: 1-64 letters, digits, . - _")))
    schedule_role: str = ""


@dataclass(frozen=True)
class DeployConfig:
    """Where ``careplus deploy`` puts the artefacts of ``careplus package`` and which AWS it talks to.

    ``artifacts_uri`` is an ``s3://bucket/prefix``; every upload lands under a folder named after
    the package version and the manifest's digest, so a deploy never overwrites what a running job
    uses. ``region`` empty means ``s3.region``; ``endpoint`` empty means AWS itself (an emulator's
    URL in tests). Credentials come from boto3's usual chain.
    """

    artifacts_uri: str = ""
    region: str = ""
    endpoint: str = ""
    dist_dir: str = "dist"
    glue: GlueJobConfig = field(default_factory=GlueJobConfig)
    emr: EmrConfig = field(default_factory=EmrConfig)
