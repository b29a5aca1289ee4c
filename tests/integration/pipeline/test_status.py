"""``careplus status`` in-process: runs, tables, cursors and the files ledger on one screen."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from pyspark.sql import SparkSession

from careplus_spark.cli import main
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline import steps
from careplus_spark.platform.config import AppConfig
from tests.conftest import CONF_DIR

pytestmark = pytest.mark.integration


def status(cfg: AppConfig, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    """Runs ``careplus status`` on ``cfg``'s lakehouse; returns what it printed."""
    args = [
        "status", "--env", "test", "--conf-dir", str(CONF_DIR),
        "--set", f"lakehouse.root={cfg.lakehouse.root}",
        "--set", f"sources.tickets.url={cfg.sources.tickets.url}",
        "--set", f"sources.logs.path={cfg.sources.logs.path}",
        *extra,
    ]
    capsys.readouterr()
    assert main(args) == 0
    return capsys.readouterr().out


def section(text: str, title: str) -> list[str]:
    """The lines of one ``== title ==`` section."""
    lines = text.split(f"== {title}")[1].split("\n\n== ")[0].splitlines()
    return lines[1:]


def line_of(lines: Sequence[str], first_word: str) -> list[str]:
    return next(line.split() for line in lines if line.split() and line.split()[0] == first_word)


def test_status_of_an_empty_lakehouse(
    lakehouse: AppConfig, spark: SparkSession, capsys: pytest.CaptureFixture[str]
) -> None:
    out = status(lakehouse, capsys)
    assert section(out, "runs") == ["no runs yet"]
    assert section(out, "tables") == ["no tables yet"]
    assert section(out, "cursors") == ["no cursors yet"]
    assert section(out, "log files") == ["no log files ingested yet"]


def test_status_shows_runs_tables_cursors_and_files(
    spark: SparkSession, cfg: AppConfig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = RunContext(cfg)
    steps.run_steps(spark, first, ["ingest_tickets", "ingest_logs", "silver_tickets"])

    def broken(spark: SparkSession, ctx: RunContext) -> StepResult:
        raise RuntimeError("disk full")

    monkeypatch.setitem(steps.STEPS, "silver_logs", broken)
    second = RunContext(cfg)
    with pytest.raises(RuntimeError):
        steps.run_steps(spark, second, ["silver_tickets", "silver_logs"])

    out = status(cfg, capsys)
    runs = section(out, "runs")
    assert line_of(runs, second.run_id)[:4] == [second.run_id, cfg.env, "silver_tickets", "succeeded"]
    assert line_of(runs, "silver_logs")[:2] == ["silver_logs", "failed"]
    assert line_of(runs, first.run_id)[:4] == [first.run_id, cfg.env, "ingest_tickets", "succeeded"]
    assert [line.split()[0] for line in runs[2:6]] == [second.run_id, "silver_logs", first.run_id, "ingest_logs"]
    assert runs[-2:] == ["errors:", f"  {second.run_id} silver_logs: RuntimeError: disk full"]
    bronze = spark.read.format("delta").load(first.table("bronze", "tickets").path)
    assert line_of(section(out, "tables"), "bronze.tickets")[1] == f"{bronze.count():,}"
    runs_version = spark.sql(f"DESCRIBE HISTORY delta.`{first.table('ops', 'runs').path}` LIMIT 1").first()
    assert line_of(section(out, "tables"), "ops.runs")[1:3] == ["10", str(runs_version.version)]  # 5 steps, 2 rows
    cursors = {r.name: r.value for r in spark.read.format("delta").load(first.table("ops", "cursors").path).collect()}
    cursor_lines = section(out, "cursors")
    assert " ".join(line_of(cursor_lines, "tickets:support_tickets")).startswith(
        f"tickets:support_tickets {cursors['tickets:support_tickets']}")
    assert len(cursor_lines) == 2 + len(cursors)
    files = spark.read.format("delta").load(first.table("ops", "log_files").path)
    files_text = "\n".join(section(out, "log files"))
    assert f"{files.count():,} file(s)" in files_text
    assert line_of(section(out, "log files"), "ingested")[1] == str(files.count())
    assert f"(run {first.run_id})" in files_text

    data = json.loads(status(cfg, capsys, "--json"))  # the same facts for other tools
    assert [(r["run_id"], r["job"], r["status"]) for r in data["runs"][:2]] == [
        (second.run_id, "silver_tickets", "succeeded"), (second.run_id, "silver_logs", "failed")]
    assert data["runs"][1]["error"].startswith("RuntimeError: disk full")
    by_table = {t["table"]: t for t in data["tables"]}
    assert (by_table["ops.runs"]["rows"], by_table["ops.runs"]["version"]) == (10, runs_version.version)
    assert {c["name"]: c["value"] for c in data["cursors"]} == cursors
    assert data["log_files"]["by_status"][0] == {**data["log_files"]["by_status"][0], "status": "ingested",
                                                 "files": files.count()}
    assert data["env"] == cfg.env and data["lock"].startswith("free")


def test_status_runs_option_limits_the_runs_shown(
    spark: SparkSession, cfg: AppConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = RunContext(cfg), RunContext(cfg)
    steps.run_steps(spark, first, ["ingest_tickets"])
    steps.run_steps(spark, second, ["ingest_tickets"])
    runs = section(status(cfg, capsys, "--runs", "1"), "runs (last 1)")
    assert [line.split()[0] for line in runs[2:]] == [second.run_id]
