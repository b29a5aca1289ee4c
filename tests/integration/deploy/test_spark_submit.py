"""spark-submit.sh against local[2] and a real standalone master + worker on loopback."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
SUBMIT_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


def spark_class() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark master and one worker (1 core, 1 GB) bound to 127.0.0.1."""
    work = tmp_path_factory.mktemp("standalone")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(work / "worker")}
    port = free_port()
    master_cmd = [
        spark_class(), "org.apache.spark.deploy.master.Master",
        "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(free_port()),
    ]
    worker_cmd = [
        spark_class(), "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
        "--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()),
        "--work-dir", str(work / "worker"),
    ]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, cmd in (("master", master_cmd), ("worker", worker_cmd)):
            log = open(work / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append(
                subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            )
            if name == "master":
                wait_port(port, processes[0])
        _wait_worker_registered(work / "master.log", processes)
        yield f"spark://127.0.0.1:{port}"
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _wait_worker_registered(master_log: Path, processes: list[subprocess.Popen[bytes]], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if "Registering worker" in master_log.read_text(errors="replace"):
            return
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"standalone cluster died:\n{master_log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)
    raise TimeoutError("the worker did not register with the master")


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


def submit(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CAREPLUS_PYTHON": sys.executable}
    return subprocess.run(
        [str(REPO / "spark-submit.sh"), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=SUBMIT_TIMEOUT_S,
    )


def bronze_count(tmp_path: Path, spark) -> int:  # type: ignore[no-untyped-def]
    return int(spark.read.format("delta").load(str(tmp_path / "lakehouse" / "bronze" / "tickets")).count())


def test_local_submit_runs_a_thin_job(tmp_path: Path, spark) -> None:  # type: ignore[no-untyped-def]
    result = submit(["--env", "test", *prepare(tmp_path), "ingest_tickets"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ingest_tickets: read 20, written 20" in result.stderr + result.stdout
    assert bronze_count(tmp_path, spark) == 20


def test_standalone_cluster_submit(tmp_path: Path, standalone: str, spark) -> None:  # type: ignore[no-untyped-def]
    result = submit(["--env", "test", "--master", standalone, *prepare(tmp_path), "ingest_tickets"])
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
