"""The ``expose`` step and ``careplus ddl``: what Athena, Redshift Spectrum and Glue are given.

:func:`expose` (the last step of ``careplus run``, and ``careplus expose``) makes every
exposed table keep current symlink manifests (:mod:`~careplus_spark.exposure.manifests`),
registers the analyst views in Spark's catalog, and, with ``exposure.catalog: glue``,
syncs the tables and their partitions into the Glue Data Catalog
(:mod:`~careplus_spark.exposure.glue`). :func:`ddl_files` renders the DDL of every exposed
table and view for one target from the live Delta schemas.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from careplus_spark.exposure import ddl, dialects, glue, manifests, views
from careplus_spark.exposure.model import ExposedTable
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.platform.config import AppConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STEP = "expose"


def describe_all(
    spark: SparkSession, cfg: AppConfig, regenerate: bool = False, describe: bool = True
) -> tuple[list[ExposedTable], list[str], int]:
    """The existing exposed tables with current manifests.

    Returns:
        (the tables as engines see them (when ``describe``), their qualified names, how many
        full manifests were written)
    """
    described, names, rewritten = [], [], 0
    for ref in manifests.exposed_refs(spark, cfg):
        found = manifests.detail(spark, ref)
        rewritten += manifests.ensure(spark, ref, found.properties, regenerate)
        names.append(ref.qualified)
        if describe:
            described.append(manifests.describe(spark, ref, cfg, found.partition_columns))
    return described, names, rewritten


def expose(
    spark: SparkSession, ctx: RunContext, *, regenerate: bool = False, dry_run: bool = False, glue_client: Any = None
) -> StepResult:
    """The ``expose`` step: manifests current, Spark views registered, Glue catalog synced (if configured).

    Example:
        >>> expose(spark, RunContext(load_config("local")))  # doctest: +SKIP
        StepResult(step='expose', rows_read=6, detail='6 table(s) exposed, 0 manifest(s) rewritten; 5 view(s)')
    """
    started = time.monotonic()
    cfg = ctx.cfg
    glue_sync = cfg.exposure.catalog == "glue"
    described, names, rewritten = describe_all(spark, cfg, regenerate, describe=glue_sync)
    created = views.register_spark_views(spark, set(names))
    detail = f"{len(names)} table(s) exposed, {rewritten} manifest(s) rewritten; {created} view(s)"
    if glue_sync:
        client = glue_client if glue_client is not None else glue.client_for(cfg.exposure, cfg.s3.region)
        report = glue.sync(client, described, database_prefix=cfg.exposure.glue.database_prefix, dry_run=dry_run)
        detail += f"; Glue Data Catalog: {report.summary()}"
    return StepResult(step=STEP, rows_read=len(names), rows_skipped=len(names), detail=detail,
                      seconds=time.monotonic() - started)


def ddl_files(spark: SparkSession, cfg: AppConfig, target: str, location_prefix: str = "") -> dict[str, str]:
    """``<database>.<table>.sql`` -> DDL for every existing exposed table and view, for ``target``.

    ``location_prefix`` (``s3://bucket/prefix``) maps ``lakehouse.root`` for the engines;
    without it, ``exposure.location_prefix`` or the root itself (``s3a://`` read as ``s3://``).
    """
    if location_prefix:
        cfg = replace(cfg, exposure=replace(cfg.exposure, location_prefix=location_prefix))
    described, _, _ = describe_all(spark, cfg)
    exposure = cfg.exposure
    files: dict[str, str] = {}
    if target in ("athena", "athena-delta") and described:
        databases = sorted({glue.database_name(exposure.glue.database_prefix, t.database) for t in described})
        files["databases.sql"] = "".join(
            f"CREATE DATABASE IF NOT EXISTS {dialects.ATHENA_DDL.quote(d, 'database')};\n" for d in databases
        )
    files |= {
        f"{t.qualified}.sql": ddl.render(
            t, target,  # type: ignore[arg-type]
            database=glue.database_name(exposure.glue.database_prefix, t.database),
            spectrum_schema=exposure.spectrum_schema, iam_role=exposure.spectrum_iam_role,
        )
        for t in described
    }
    files.update(views.ddl_files(target, {t.qualified for t in described}, exposure))
    return files
