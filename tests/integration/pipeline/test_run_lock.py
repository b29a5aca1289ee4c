"""The run lock around the pipeline: one run at a time, a refused run writes nothing, a lost
lease stops the run, and the ``running`` rows of a killed run become ``failed: abandoned``.

The in-process tests share the session's Spark; the process tests start real ``careplus run``
processes on one local lakehouse (a SQLite source and one day of generated logs).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from pyspark.sql import SparkSession

from careplus_spark.cli import build_parser
from careplus_spark.errors import LockHeldError
from careplus_spark.lakehouse import lock as run_lock
from careplus_spark.lakehouse import tables
from careplus_spark.lakehouse.lock import Owner, RunLock
from careplus_spark.lakehouse.lock_store import store_for
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.pipeline import ledger, steps
from careplus_spark.pipeline.status import render
from careplus_spark.platform.config import AppConfig
from tests.conftest import CONF_DIR

REPO = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 900
WAIT_S = 600.0  # upper bound of every wait below (reached only when something is broken)


def ledger_rows(spark: SparkSession, cfg: AppConfig) -> dict[tuple[str, str], dict[str, object]]:
    table = ledger.runs_table(RunContext(cfg))
    if not tables.exists(spark, table):
        return {}
    rows = ledger.latest(spark.read.format("delta").load(table.path)).collect()
    return {(r["run_id"], r["job"]): r.asDict() for r in rows}


def lease_of(cfg: AppConfig) -> run_lock.Lease | None:
    return RunLock(store_for(cfg), Owner.current("test"), expiry_s=300, heartbeat_s=30).current()


# ------------------------------------------------------------------------- in-process --


def test_a_run_marks_the_running_rows_of_dead_runs_abandoned(spark: SparkSession, cfg: AppConfig) -> None:
    table = ledger.runs_table(RunContext(cfg))
    started = dt.datetime(2025, 7, 1, 2, 0, tzinfo=dt.UTC)
    ledger.write(spark, table, ledger.LedgerEntry("dead-run", "ingest_tickets", "test", started,
                                                  ended_at=started, status="succeeded"))
    ledger.write(spark, table, ledger.LedgerEntry("dead-run", "ingest_logs", "test",
                                                  started + dt.timedelta(minutes=1)))
    said: list[str] = []
    ctx = RunContext(cfg)

    steps.run_steps(spark, ctx, ["ingest_tickets"], progress=said.append)

    rows = ledger_rows(spark, cfg)
    dead = rows[("dead-run", "ingest_logs")]
    assert dead["status"] == "failed" and dead["ended_at"] is not None
    assert str(dead["error"]).startswith("abandoned: ") and ctx.run_id in str(dead["error"])
    assert rows[("dead-run", "ingest_tickets")]["status"] == "succeeded"
    assert rows[(ctx.run_id, "ingest_tickets")]["status"] == "succeeded"
    assert said[0] == "run dead-run was abandoned while running (1 step(s)): marked failed: abandoned"
    text = render(spark, cfg)
    assert [line.split()[:3] for line in text.splitlines() if line.startswith("dead-run")] == [
        ["dead-run", "test", "ingest_tickets"]]
    assert any(line.split()[:3] == ["ingest_logs", "failed:", "abandoned"] for line in text.splitlines())
    assert f"== run lock ==\nfree (released by run {ctx.run_id}" in text


def test_a_run_refused_by_the_lock_writes_nothing(spark: SparkSession, cfg: AppConfig) -> None:
    holder = RunLock(store_for(cfg), Owner.current("holder"), expiry_s=300, heartbeat_s=30)
    holder.acquire()
    try:
        with pytest.raises(LockHeldError, match=r"held by run holder \(host .*, pid \d+"):
            steps.run_steps(spark, RunContext(cfg), ["ingest_tickets"])
        assert not tables.exists(spark, ledger.runs_table(RunContext(cfg)))  # not even the ledger's start row
        assert "held by run holder" in render(spark, cfg)
    finally:
        holder.release()
    assert lease_of(cfg).owner.run_id == "holder"  # type: ignore[union-attr]


def test_a_run_that_lost_its_lease_stops_before_the_next_step(
    spark: SparkSession, cfg: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    taker = RunLock(store_for(cfg), Owner.current("taker"), expiry_s=300, heartbeat_s=30,
                    clock=lambda: time.time() + 1000)  # sees the run's lease as long expired

    def taken_over_meanwhile(spark: SparkSession, ctx: RunContext) -> StepResult:
        assert taker.try_acquire()
        return StepResult("ingest_tickets")

    monkeypatch.setitem(steps.STEPS, "ingest_tickets", taken_over_meanwhile)
    ctx = RunContext(cfg)
    with pytest.raises(LockHeldError, match=rf"run {ctx.run_id} lost the run lock .* run taker .*step ingest_logs"):
        steps.run_steps(spark, ctx, ["ingest_tickets", "ingest_logs"])
    rows = ledger_rows(spark, cfg)
    assert sorted(job for run, job in rows if run == ctx.run_id) == ["ingest_tickets"]
    assert lease_of(cfg).owner.run_id == "taker" and lease_of(cfg).state == "held"  # type: ignore[union-attr]
    taker.release()


# -------------------------------------------------------------------------- processes --


def test_wait_lock_takes_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["run", "--wait-lock", "90"]).wait_lock == 90.0
    assert build_parser().parse_args(["run"]).wait_lock is None  # lakehouse.lock.wait_s then
    for bad in ("-1", "soon", "inf"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["run", "--wait-lock", bad])
        assert "expected a number of seconds >= 0" in capsys.readouterr().err


def careplus_run(cfg: AppConfig, out: IO[str], *extra: str) -> subprocess.Popen[str]:
    """``careplus run`` on ``cfg``'s lakehouse in a process group of its own (its JVM included)."""
    command = [
        sys.executable, "-m", "careplus_spark", "run", "--env", "test", "--conf-dir", str(CONF_DIR),
        "--set", f"lakehouse.root={cfg.lakehouse.root}",
        "--set", f"sources.tickets.url={cfg.sources.tickets.url}",
        "--set", f"sources.tickets.reconcile_every_runs={cfg.sources.tickets.reconcile_every_runs}",
        "--set", f"sources.logs.path={cfg.sources.logs.path}",
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CAREPLUS_TEST_"))}
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def finish(process: subprocess.Popen[str], log: Path) -> tuple[int, str]:
    code = process.wait(RUN_TIMEOUT_S)
    return code, log.read_text()


@pytest.mark.slow
def test_a_second_run_exits_6_or_waits_for_the_first(spark: SparkSession, cfg: AppConfig, tmp_path: Path) -> None:
    logs = {name: tmp_path / f"{name}.out" for name in ("first", "refused", "waiting")}
    with logs["first"].open("w") as out:
        first = careplus_run(cfg, out, "ingest_tickets")
    try:
        wait_until(lambda: lease_of(cfg) is not None, "the first run's lease")
        os.killpg(first.pid, signal.SIGSTOP)  # it holds the lock and stays put while the others try
        holder = lease_of(cfg)
        assert holder is not None and holder.owner.pid == first.pid

        with logs["refused"].open("w") as out:
            code, output = finish(careplus_run(cfg, out, "ingest_tickets"), logs["refused"])
        assert code == 6, output
        error_lines = [line for line in output.splitlines() if line.startswith("careplus: error:")]
        assert len(error_lines) == 1 and len(output.strip().splitlines()) == 1, output
        assert f"held by run {holder.owner.run_id} (host {holder.owner.host}, pid {first.pid}" in error_lines[0]
        assert " since " in error_lines[0] and " lease until " in error_lines[0]

        with logs["waiting"].open("w") as out:
            waiting = careplus_run(cfg, out, "ingest_tickets", "--wait-lock", str(WAIT_S))
        wait_until(lambda: "waiting up to" in logs["waiting"].read_text(), "the waiting run's message")
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    code, output = finish(first, logs["first"])
    assert code == 0, output[-3000:]
    code, output = finish(waiting, logs["waiting"])
    assert code == 0, output[-3000:]
    assert f"held by run {holder.owner.run_id}" in output and "ingest_tickets: read " in output
    runs = {run for run, _job in ledger_rows(spark, cfg)}
    assert len(runs) == 2 and holder.owner.run_id in runs  # the refused run left no row


@pytest.mark.slow
def test_a_killed_run_is_taken_over_and_marked_abandoned(
    spark: SparkSession, cfg: AppConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    killed_log, taker_log = tmp_path / "killed.out", tmp_path / "taker.out"
    with killed_log.open("w") as out:
        killed = careplus_run(cfg, out)
    try:
        running = _stop_while_a_step_runs(spark, cfg, killed)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(RUN_TIMEOUT_S)
    killed_run = running[0]
    lease = lease_of(cfg)
    assert lease is not None and lease.state == "held" and lease.owner.run_id == killed_run

    with taker_log.open("w") as out:
        code, output = finish(careplus_run(cfg, out, "ingest_tickets", "--wait-lock", str(WAIT_S),
                                           "--set", "lakehouse.lock.expiry_s=5",
                                           "--set", "lakehouse.lock.heartbeat_s=1"), taker_log)

    assert code == 0, output[-3000:]
    took_over = [line for line in output.splitlines() if "took over the run lock" in line]
    assert len(took_over) == 1 and f"of {store_for(cfg).where} from run {killed_run}" in took_over[0]
    assert took_over[0].endswith(": its process is gone")  # killed on this machine: no wait for the expiry
    assert f"run {killed_run} was abandoned while running (1 step(s))" in output
    rows = ledger_rows(spark, cfg)
    killed_rows = {job: row for (run, job), row in rows.items() if run == killed_run}
    assert killed_rows[running[1]]["status"] == "failed"
    assert str(killed_rows[running[1]]["error"]).startswith("abandoned: ")
    assert "running" not in {row["status"] for row in rows.values()}
    text = render(spark, cfg)
    assert any(line.split()[1:3] == ["failed:", "abandoned"] or line.split()[3:5] == ["failed:", "abandoned"]
               for line in text.splitlines())


def _stop_while_a_step_runs(spark: SparkSession, cfg: AppConfig, process: subprocess.Popen[str]) -> tuple[str, str]:
    """Stops ``process`` (SIGSTOP) at a moment when one of its steps is ``running``; (run id, job)."""
    first_commit = Path(cfg.lakehouse.root) / "ops" / "runs" / "_delta_log" / f"{0:020d}.json"
    wait_until(first_commit.exists, "the killed run's first ledger row")
    for _ in range(100):
        os.killpg(process.pid, signal.SIGSTOP)
        running = [key for key, row in ledger_rows(spark, cfg).items() if row["status"] == "running"]
        if running:
            return running[0]
        os.killpg(process.pid, signal.SIGCONT)
        time.sleep(0.5)
    raise AssertionError("no step of the run was ever seen running")
