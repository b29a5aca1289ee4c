"""Tables and views registered by one process are queryable by name from a later ``careplus sql``."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from careplus_spark.lakehouse import catalog
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.pipeline.steps import run_steps
from careplus_spark.platform.config import AppConfig
from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
TIMEOUT_S = 600


def careplus(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CAREPLUS_TEST_"))}
    command = [sys.executable, "-m", "careplus_spark", *args, "--env", "test", "--set", f"lakehouse.root={root}"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def test_a_view_registered_by_expose_is_queried_by_name_from_a_later_sql_process(
    spark: SparkSession, lakehouse: AppConfig, tmp_path: Path
) -> None:
    tickets = replace(lakehouse.sources.tickets, url=f"jdbc:sqlite:{tmp_path / 'tickets.db'}", reconcile_every_runs=0)
    logs = replace(lakehouse.sources.logs, path=str(tmp_path / "logs"))
    root = tmp_path / "lakehouse"
    cfg = replace(lakehouse, lakehouse=replace(lakehouse.lakehouse, root=str(root)),
                  sources=replace(lakehouse.sources, tickets=tickets, logs=logs))
    with sink_for_url(tickets.url, "", "", tickets.table) as sink:
        generate(GenerateSpec(seed=5, days=1, tickets_per_day=20, log_files_per_day=1), sink, Path(logs.path))
    run_steps(spark, RunContext(cfg), ["silver_tickets", "ingest_tickets", "gold_tickets"])
    expected = spark.read.format("delta").load(catalog.FCT_TICKETS.ref(str(root)).path).count()

    exposed = careplus(root, "expose")
    assert exposed.returncode == 0, exposed.stderr[-3000:]
    query = careplus(root, "sql", "-e", "SELECT count(*) AS n FROM gold.v_tickets_enriched; SHOW VIEWS IN gold")
    assert query.returncode == 0, query.stderr[-3000:]
    lines = query.stdout.splitlines()
    assert lines[2].strip() == f"{expected:,}", query.stdout
    assert "v_tickets_enriched" in query.stdout and "v_top_issue_categories" in query.stdout
