"""spark-submit.sh against local[2] and a real standalone master + workers on loopback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url
from tests.integration.deploy.conftest import Standalone, submit

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def prepare(tmp_path: Path) -> list[str]:
    """A SQLite source with one day of tickets; the --set overrides that point a job at it."""
    db = tmp_path / "tickets.db"
    with sink_for_url(f"jdbc:sqlite:{db}", "", "") as sink:
        spec = GenerateSpec(seed=11, start_date=dt.date(2025, 7, 1), days=1, tickets_per_day=20)
        generate(spec, sink, tmp_path / "logs")
    return [
        "--set", f"lakehouse.root={tmp_path / 'lakehouse'}",
        "--set", f"sources.tickets.url=jdbc:sqlite:{db}",
        "--set", f"sources.logs.path={tmp_path / 'logs'}",
    ]


def bronze_count(tmp_path: Path, spark) -> int:  # type: ignore[no-untyped-def]
    return int(spark.read.format("delta").load(str(tmp_path / "lakehouse" / "bronze" / "tickets")).count())


def test_local_submit_runs_a_thin_job(tmp_path: Path, spark) -> None:  # type: ignore[no-untyped-def]
    result = submit(["--env", "test", *prepare(tmp_path), "ingest_tickets"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ingest_tickets: read 20, written 20" in result.stderr + result.stdout
    assert bronze_count(tmp_path, spark) == 20


def test_standalone_cluster_submit(tmp_path: Path, standalone: Standalone, spark) -> None:  # type: ignore[no-untyped-def]
    result = submit(["--env", "test", *standalone.submit_settings, *prepare(tmp_path), "ingest_tickets"],
                    env=standalone.submit_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ingest_tickets: read 20, written 20" in result.stderr + result.stdout
    assert bronze_count(tmp_path, spark) == 20


def test_bad_config_exits_2_before_spark(tmp_path: Path) -> None:
    result = submit(["--env", "test", "--set", "spark.shuffle_partitions=many", "ingest_tickets"])
    assert result.returncode == 2
    assert "spark.shuffle_partitions" in result.stderr


def test_unknown_job_is_refused() -> None:
    result = submit(["no_such_job"])
    assert result.returncode == 2 and "no such job" in result.stderr
