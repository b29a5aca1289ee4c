"""What Athena reads, read by Trino (Athena engine v3): the pipeline on S3, synced to Glue.

The lakehouse lives on the S3 gateway; ``careplus run`` ends with the ``expose`` step, which
registers the gold tables in the Glue catalog of the AWS API emulator. Trino's Hive
connector finds them there, as Athena would, and reads the symlink manifests from S3. Every
exposed table must give Trino the rows Spark reads from Delta, before and after one more
incremental day.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from careplus_spark.exposure import ddl, manifests, views
from careplus_spark.lakehouse import catalog
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline.steps import run_steps
from careplus_spark.platform.config import AppConfig
from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url
from tests.conftest import s3_config

pytestmark = pytest.mark.slow

SPEC = GenerateSpec(seed=7, days=1, tickets_per_day=25, log_files_per_day=1)


@pytest.fixture
def cfg(
    base_cfg: AppConfig, s3: Any, s3_bucket: str, aws_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AppConfig:
    """Sources on local disk, the lakehouse on S3, exposure synced to the emulator's Glue catalog."""
    for name, value in aws_emulator.environment().items():
        if name != "AWS_ENDPOINT_URL":  # boto3's own endpoint stays AWS: exposure.glue.endpoint points at the emulator
            monkeypatch.setenv(name, value)
    cfg = s3_config(base_cfg, s3)
    tickets = replace(cfg.sources.tickets, url=f"jdbc:sqlite:{tmp_path / 'tickets.db'}", reconcile_every_runs=0)
    logs = replace(cfg.sources.logs, path=str(tmp_path / "logs"))
    glue = replace(cfg.exposure.glue, database_prefix=f"e2e_{uuid.uuid4().hex[:8]}_",
                   endpoint=aws_emulator.endpoint_url, region=aws_emulator.region)
    return replace(
        cfg,
        lakehouse=replace(cfg.lakehouse, root=f"s3a://{s3_bucket}/trino-{uuid.uuid4().hex[:8]}"),
        sources=replace(cfg.sources, tickets=tickets, logs=logs),
        exposure=replace(cfg.exposure, catalog="glue", glue=glue),
    )


def add_day(cfg: AppConfig, day: int) -> None:
    with sink_for_url(cfg.sources.tickets.url, "", "", cfg.sources.tickets.table) as sink:
        generate(SPEC, sink, Path(cfg.sources.logs.path), first_day=day)


def run_pipeline(spark: SparkSession, cfg: AppConfig) -> dict[str, StepResult]:
    return {r.step: r for r in run_steps(spark, RunContext(cfg), [])}


def spark_view(spark: SparkSession, cfg: AppConfig) -> dict[str, tuple[int, int]]:
    """Per exposed table: (rows, a checksum of its key-like text column) as Spark reads the Delta table."""
    out = {}
    for table in manifests.exposed_tables(cfg):
        df = spark.read.format("delta").load(table.ref(cfg.lakehouse.root).path)
        key = table.keys[0]
        row = df.selectExpr("count(*)", f"sum(length(cast(`{key}` AS STRING)))").first()
        out[table.qualified] = (int(row[0]), int(row[1] or 0))
    return out


def trino_view(trino: Any, cfg: AppConfig) -> dict[str, tuple[int, int]]:
    out = {}
    for table in manifests.exposed_tables(cfg):
        database = f"{cfg.exposure.glue.database_prefix}{table.database}"
        key = table.keys[0]
        rows = trino.query(
            f'SELECT count(*), sum(length(CAST("{key}" AS VARCHAR))) FROM "{database}"."{table.name}"'
        )
        out[table.qualified] = (int(rows[0][0]), int(rows[0][1] or 0))
    return out


def check_views_run_on_trino(trino: Any, cfg: AppConfig, spark: SparkSession) -> None:
    """The Athena form of every analyst view is created and queried by Trino."""
    exposed = {t.qualified for t in manifests.exposed_tables(cfg)}
    for script in views.ddl_files("athena", exposed, cfg.exposure).values():
        for statement in ddl.statements(script):
            trino.query(statement)
    database = f"{cfg.exposure.glue.database_prefix}gold"
    for view in views.available(exposed):
        trino.query(f'SELECT * FROM "{database}"."{view.name}" LIMIT 5')
    fct_tickets = spark.read.format("delta").load(catalog.FCT_TICKETS.ref(cfg.lakehouse.root).path)
    enriched = trino.query(f'SELECT count(*), count(resolution_hours) FROM "{database}"."v_tickets_enriched"')
    assert enriched[0] == (fct_tickets.count(), fct_tickets.where("NOT is_open").count())


def test_trino_reads_every_exposed_table_as_spark_does_before_and_after_a_new_day(
    spark: SparkSession, cfg: AppConfig, trino: Any
) -> None:
    add_day(cfg, 0)
    first = run_pipeline(spark, cfg)
    assert "Glue Data Catalog" in first["expose"].detail, first["expose"].detail
    before = spark_view(spark, cfg)
    assert all(rows > 0 for rows, _ in before.values()), before
    assert trino_view(trino, cfg) == before
    check_views_run_on_trino(trino, cfg, spark)

    logs_db = f"{cfg.exposure.glue.database_prefix}gold"
    days_before = trino.query(f'SELECT count(DISTINCT log_date) FROM "{logs_db}"."fct_logs"')[0][0]
    add_day(cfg, 1)
    run_pipeline(spark, cfg)
    after = spark_view(spark, cfg)
    assert after != before and trino_view(trino, cfg) == after
    assert trino.query(f'SELECT count(DISTINCT log_date) FROM "{logs_db}"."fct_logs"')[0][0] > days_before

    # only the files of the latest Delta version are listed: none of the rewritten ones
    ref = manifests.exposed_tables(cfg)[0].ref(cfg.lakehouse.root)
    current = {p.rsplit("/", 1)[1] for p in spark.read.format("delta").load(ref.path).inputFiles()}
    read = {str(r[0]).rsplit("/", 1)[1] for r in trino.query(f'SELECT DISTINCT "$path" FROM "{logs_db}"."{ref.name}"')}
    assert read == current
