"""A real cluster: ``spark-submit.sh --master spark://…`` runs the whole pipeline like local mode does.

A standalone master and two workers on loopback (``conftest.standalone``) run job
``run_pipeline`` (every step) submitted by ``spark-submit.sh``, with the lakehouse on the S3
server through s3a, the tickets in MariaDB and the log files on S3. The same pipeline runs in
local mode, in this process, on the same source data into another lakehouse root of the same
bucket. Day 0 is generated and both run; day 1 is added and both run again (incremental).
The two runs of a day overlap: the cluster's is latency-bound, the local one CPU-bound.
Then every gold table must hold the same rows in both lakehouses (row count and an
order-independent checksum over every column but the ones that name the run or its clock),
and bronze and silver the same row counts.

Secrets reach the spark-submit process only through its environment: the MySQL password
as ``${CAREPLUS_STANDALONE_MYSQL_PASSWORD}`` in ``--set``, the S3 keys as
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (the defaults of ``s3.access_key`` /
``s3.secret_key``).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from careplus_spark.gold.refresh import LINEAGE
from careplus_spark.lakehouse import catalog
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.pipeline.ledger import SUCCEEDED
from careplus_spark.pipeline.steps import resolve, run_steps
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.secrets import Secret
from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url
from tests.conftest import s3_config
from tests.integration.deploy.conftest import Standalone, Submission, submit

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPEC = GenerateSpec(seed=23, start_date=dt.date(2025, 7, 1), days=1, tickets_per_day=30, log_files_per_day=1)
TICKETS_TABLE = "support_tickets_standalone"
PASSWORD_VAR = "CAREPLUS_STANDALONE_MYSQL_PASSWORD"
MYSQL_OPTIONS = {"connectionTimeZone": "UTC", "forceConnectionTimeZoneToSession": "true"}

#: Gold columns that legitimately differ between two runs over the same data: the gold models'
#: lineage (``gold.refresh.with_lineage``: ``_run_id``, ``_processed_at``; their ``_row_hash`` is a
#: hash of the business columns and stays) and the run and time of a quarantined row
#: (``quality.store.blocked_rows``: ``run_id``, ``quarantined_at``).
VOLATILE = frozenset(set(LINEAGE) - {"_row_hash"} | {"run_id", "quarantined_at"})


@dataclass(frozen=True)
class Setup:
    """Both lakehouses of the test and what the source data and the submits need."""

    local: AppConfig
    cluster_root: str
    logs_uri: str
    args: list[str]
    env: dict[str, str]
    log_dir: Path


@pytest.fixture
def setup(
    base_cfg: AppConfig, s3: Any, s3_bucket: str, mysql_db: Any, standalone: Standalone, tmp_path: Path
) -> Setup:
    prefix = f"s3a://{s3_bucket}/standalone-{uuid.uuid4().hex[:8]}"
    cfg = s3_config(base_cfg, s3)
    tickets = replace(
        cfg.sources.tickets, url=mysql_db.jdbc_url, table=TICKETS_TABLE, user=mysql_db.user,
        password=Secret(mysql_db.password, f"env:{PASSWORD_VAR}"), options=dict(MYSQL_OPTIONS),
    )
    logs = replace(cfg.sources.logs, path=f"{prefix}/logs")
    local = replace(cfg, lakehouse=replace(cfg.lakehouse, root=f"{prefix}/local"),
                    sources=replace(cfg.sources, tickets=tickets, logs=logs))
    settings = {
        "lakehouse.root": f"{prefix}/cluster",
        "lakehouse.catalog.metastore_dir": str(tmp_path / "metastore"),
        "sources.tickets.url": mysql_db.jdbc_url,
        "sources.tickets.table": TICKETS_TABLE,
        "sources.tickets.user": mysql_db.user,
        "sources.tickets.password": f"${{{PASSWORD_VAR}}}",
        **{f"sources.tickets.options.{k}": f'"{v}"' for k, v in MYSQL_OPTIONS.items()},
        "sources.logs.path": logs.path,
        "s3.endpoint": s3.endpoint,
        "s3.region": s3.region,
        "s3.path_style_access": "true",
        "s3.ssl_enabled": "false",
    }
    args = ["--env", "test", *standalone.submit_settings]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    env = {
        **standalone.submit_env,
        PASSWORD_VAR: mysql_db.password,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
    }
    return Setup(local, f"{prefix}/cluster", logs.path, args, env, tmp_path / "submits")


def add_day(setup: Setup, s3: Any, mysql_db: Any, day: int) -> None:
    """Day ``day`` of tickets into MariaDB and of log files onto S3 (under ``logs_uri``)."""
    bucket, _, prefix = setup.logs_uri.removeprefix("s3a://").partition("/")
    with tempfile.TemporaryDirectory() as folder:
        with sink_for_url(mysql_db.jdbc_url, mysql_db.user, mysql_db.password, TICKETS_TABLE) as sink:
            generate(SPEC, sink, Path(folder), first_day=day)
        client = s3.client()
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")


def lakehouse_summary(spark: SparkSession, root: str) -> dict[str, tuple[int, int | None]]:
    """Per bronze/silver/gold table: (rows, checksum); the checksum for gold tables only.

    The checksum is the sum of ``xxhash64`` of each row's columns but :data:`VOLATILE`: it
    does not depend on the order of rows or files. A table that does not exist is ``(-1, None)``.
    """
    from delta.tables import DeltaTable

    out: dict[str, tuple[int, int | None]] = {}
    for table in catalog.TABLES:
        if table.database not in ("bronze", "silver", "gold"):
            continue
        path = table.ref(root).path
        if not DeltaTable.isDeltaTable(spark, path):
            out[table.qualified] = (-1, None)
            continue
        df = spark.read.format("delta").load(path)
        if table.database != "gold":
            out[table.qualified] = (df.count(), None)
            continue
        columns = [F.col(f"`{c}`") for c in df.columns if c not in VOLATILE]
        row = df.select(F.count(F.lit(1)), F.sum(F.xxhash64(*columns).cast("decimal(20,0)"))).first()
        assert row is not None
        out[table.qualified] = (int(row[0]), int(row[1]) if row[1] is not None else None)
    return out


def succeeded_steps(spark: SparkSession, root: str) -> list[tuple[str, int]]:
    """(step, runs that succeeded) from the run ledger ``ops.runs``."""
    runs = spark.read.format("delta").load(catalog.RUNS.ref(root).path)
    rows = runs.where(F.col("status") == SUCCEEDED).groupBy("job").count().collect()
    return sorted((str(r["job"]), int(r["count"])) for r in rows)


def check_ran_on_both_workers(standalone: Standalone, before: set[str]) -> None:
    """One new application, whose executors on both workers ran tasks with the log reader jar."""
    apps = {p.parent.parent.name for p in standalone.executor_logs()} - before
    assert len(apps) == 1, apps
    app = apps.pop()
    for work in standalone.work_dirs:
        logs = list(work.glob(f"{app}/*/stderr"))
        assert logs, f"no executor of {app} on {work.name}"
        assert any("Finished task" in p.read_text(errors="replace") for p in logs), f"no task ran on {work.name}"
        assert list(work.glob(f"{app}/*/careplus-logreader-*.jar")), f"the log reader jar did not reach {work.name}"
    completed: list[dict[str, Any]] = standalone.state()["completedapps"]  # type: ignore[assignment]
    finished = [a for a in completed if a["id"] == app]
    assert finished and finished[0]["state"] == "FINISHED", finished


def test_run_pipeline_on_a_standalone_cluster_equals_local_mode(
    spark: SparkSession, setup: Setup, standalone: Standalone, s3: Any, mysql_db: Any
) -> None:
    secrets = (mysql_db.password, s3.secret_key, s3.access_key)
    steps = resolve([])
    dry = submit([*setup.args, "--dry-run", "run_pipeline"], env=setup.env)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "--master spark://127.0.0.1:" in dry.stdout and not any(s in dry.stdout for s in secrets)

    for day in (0, 1):
        add_day(setup, s3, mysql_db, day)
        before = {p.parent.parent.name for p in standalone.executor_logs()}
        with Submission([*setup.args, "run_pipeline"], setup.env, setup.log_dir / f"day-{day}") as cluster_run:
            run_steps(spark, RunContext(setup.local), [])
            result = cluster_run.wait()
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-4000:]
        assert f"[{len(steps)}/{len(steps)}] {steps[-1]}: " in output, output[-4000:]  # the last step ended
        assert not any(s in output for s in secrets), "a secret was printed"
        check_ran_on_both_workers(standalone, before)

    cluster = lakehouse_summary(spark, setup.cluster_root)
    local = lakehouse_summary(spark, setup.local.lakehouse.root)
    assert cluster == local
    for model in catalog.models():
        assert local[model.qualified][0] > 0, f"{model.qualified} is empty: nothing was compared"
    twice = [(step, 2) for step in sorted(steps)]
    assert succeeded_steps(spark, setup.cluster_root) == twice == succeeded_steps(spark, setup.local.lakehouse.root)
