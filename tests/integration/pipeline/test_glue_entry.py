"""A job script run the way AWS Glue runs it: ``python jobs/<job>.py`` with Glue's argv."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from careplus_spark.deploy.artifacts import Manifest
from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url
from tests.integration.deploy.packaged import packaged  # noqa: F401 - the session's package

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
JOB_TIMEOUT_S = 600


def glue_argv(settings: str) -> list[str]:
    """Glue's own arguments, then the job's (``--env test`` and the settings as one JSON argument)."""
    return [
        "--JOB_ID", "j_123",
        "--JOB_RUN_ID", "jr_abc",
        "--job-bookmark-option", "job-bookmark-disable",
        "--TempDir", "s3://b/tmp",
        "--JOB_NAME", "careplus-ingest-tickets",
        "--enable-glue-datacatalog", "true",
        "--env", "test",
        "--settings", settings,
    ]


def run_script(job: str, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # cwd outside the repository: the script finds its configuration like a deployed one (the package's conf)
    env = {**os.environ, "CAREPLUS_CONF_DIR": str(REPO / "conf")}
    return subprocess.run(
        [sys.executable, str(REPO / "jobs" / f"{job}.py"), *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S,
    )


def source_settings(tmp_path: Path) -> str:
    """A SQLite source with one day of tickets; the job's --settings pointing at it and a temp lakehouse."""
    db = tmp_path / "tickets.db"
    with sink_for_url(f"jdbc:sqlite:{db}", "", "") as sink:
        spec = GenerateSpec(seed=11, start_date=dt.date(2025, 7, 1), days=1, tickets_per_day=20)
        generate(spec, sink, tmp_path / "logs")
    return json.dumps({
        "lakehouse.root": str(tmp_path / "lakehouse"),
        "sources.tickets.url": f"jdbc:sqlite:{db}",
        "sources.logs.path": str(tmp_path / "logs"),
    })


def test_the_packaged_job_runs_from_the_wheel_alone(
    tmp_path: Path, spark: Any, packaged: tuple[Path, Manifest]  # noqa: F811
) -> None:
    """As on Glue: the script of dist/jobs, the package only from the wheel (--extra-py-files), its own conf."""
    dist, manifest = packaged
    settings = source_settings(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPLUS_")}
    env["PYTHONPATH"] = str(dist / manifest.one("wheel").path)
    code = "import careplus_spark, sys; print(careplus_spark.__file__)"
    where = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=60, check=True).stdout
    assert where.startswith(env["PYTHONPATH"])  # imported from inside the wheel, not from the checkout

    result = subprocess.run([sys.executable, str(dist / "jobs" / "ingest_tickets.py"), *glue_argv(settings)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)

    assert result.returncode == 0, (result.stderr + result.stdout)[-3000:]
    assert "ingest_tickets: read 20, written 20" in result.stderr + result.stdout
    assert spark.read.format("delta").load(str(tmp_path / "lakehouse" / "bronze" / "tickets")).count() == 20


def test_ingest_tickets_with_glue_arguments(tmp_path: Path, spark: Any) -> None:
    settings = source_settings(tmp_path)
    result = run_script("ingest_tickets", glue_argv(settings), tmp_path)
    output = result.stderr + result.stdout
    assert result.returncode == 0, output[-3000:]
    assert ": ingest_tickets (test; Glue job careplus-ingest-tickets, run jr_abc)" in output
    assert "ingest_tickets: read 20, written 20" in output
    bronze = spark.read.format("delta").load(str(tmp_path / "lakehouse" / "bronze" / "tickets"))
    assert bronze.count() == 20
    assert bronze.select("ticket_id").distinct().count() == 20


def test_settings_that_are_not_json_exit_2(tmp_path: Path) -> None:
    result = run_script("ingest_tickets", glue_argv("not json"), tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "--settings is not valid JSON" in result.stderr
    assert "SparkContext" not in result.stderr  # it stopped before Spark started
