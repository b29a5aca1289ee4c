"""A real Spark standalone cluster on loopback, and ``spark-submit.sh`` run against it.

``standalone``: a master and two workers (1 core, 1 GB each) bound to 127.0.0.1, started
once for the tests of this folder (package scope) and stopped after them. Every wait is
bounded. Each daemon runs in a process group of its own, which is ended as a whole: the
executors and their Python workers are children of a worker, in its group.

:class:`Submission` / :func:`submit` run ``spark-submit.sh`` in a process group of its own
with a time limit; on timeout the whole group (spark-submit's JVM and the Python driver) is
killed.

The JVMs of a submit live a few minutes on a 2-core machine, and half of their CPU goes to
the C2 JIT compiler: :data:`SHORT_LIVED_JVM` (C1 only, a code cache large enough for Spark's
generated classes) cuts a pipeline run's CPU by about 40 %. ``Standalone.submit_env`` and
``Standalone.submit_settings`` apply it to the driver (``SPARK_SUBMIT_OPTS``) and the executors
(``spark.executor.extraJavaOptions``); the daemons get it through ``SPARK_DAEMON_JAVA_OPTS``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

REPO = Path(__file__).resolve().parents[3]
SUBMIT_TIMEOUT_S = 600.0
WORKERS = 2
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
SHORT_LIVED_JVM = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m"


@dataclass(frozen=True)
class Standalone:
    """A running standalone cluster: its master URL and where its daemons write."""

    url: str
    web_url: str
    work_dirs: tuple[Path, ...]
    log_dir: Path

    def state(self) -> dict[str, object]:
        """The master's JSON status (``aliveworkers``, ``activeapps``, ``completedapps`` ...)."""
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=10) as response:
            return dict(json.load(response))

    def executor_logs(self) -> list[Path]:
        """The ``stderr`` of every executor the workers ran so far (``<work>/<app>/<executor>/stderr``)."""
        return sorted(p for work in self.work_dirs for p in work.glob("app-*/*/stderr"))

    @property
    def submit_env(self) -> dict[str, str]:
        """Environment of a ``spark-submit.sh`` to this cluster: the driver on loopback, its JVM options."""
        return {"SPARK_LOCAL_IP": "127.0.0.1", "SPARK_SUBMIT_OPTS": SHORT_LIVED_JVM}

    @property
    def submit_settings(self) -> list[str]:
        """``--master`` and the ``--set`` that give the executors :data:`SHORT_LIVED_JVM`."""
        return ["--master", self.url, "--set", f'spark.conf={{spark.executor.extraJavaOptions: "{SHORT_LIVED_JVM}"}}']


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spark_class() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


def end_group(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """Ends the process group led by ``process``: SIGTERM, up to ``grace_s``, then SIGKILL.

    The leader is not reaped before the SIGKILL (``waitid`` with ``WNOWAIT``), so the group id
    still names this group; a leader already reaped (its group gone) is left alone.
    """
    if process.returncode is not None:
        return
    _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            break
        time.sleep(0.2)
    _signal_group(process.pid, signal.SIGKILL)  # the rest of the group: executors, Python workers
    process.wait(timeout=STOP_TIMEOUT_S)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _wait(
    what: str, ready: Callable[[], bool], processes: list[subprocess.Popen[bytes]], logs: Path, timeout_s: float
) -> None:
    """Polls ``ready()`` until true; fails at once when a daemon died, or after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for process in processes:
            if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                raise RuntimeError(f"standalone cluster: a daemon exited before {what} {_tails(logs)}")
        try:
            if ready():
                return
        except OSError:  # the web UI is not up yet
            pass
        time.sleep(0.5)
    raise TimeoutError(f"standalone cluster: {what} not within {timeout_s:.0f} s {_tails(logs)}")


def _tails(logs: Path) -> str:
    return "".join(f"\n--- {p.name}:\n{p.read_text(errors='replace')[-1500:]}" for p in sorted(logs.glob("*.log")))


@pytest.fixture(scope="package")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:
    """A Spark master and two workers (1 core, 1 GB each) on 127.0.0.1."""
    base = tmp_path_factory.mktemp("standalone")
    logs = base / "logs"
    logs.mkdir()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_DAEMON_JAVA_OPTS": SHORT_LIVED_JVM}
    port, web_port = free_port(), free_port()
    cluster = Standalone(
        url=f"spark://127.0.0.1:{port}",
        web_url=f"http://127.0.0.1:{web_port}",
        work_dirs=tuple(base / f"worker-{i}" for i in range(1, WORKERS + 1)),
        log_dir=logs,
    )
    processes: list[subprocess.Popen[bytes]] = []
    files: list[IO[bytes]] = []

    def start(name: str, *args: str) -> None:
        files.append(open(logs / f"{name}.log", "wb"))  # noqa: SIM115 - closed at teardown
        processes.append(subprocess.Popen([spark_class(), *args], stdin=subprocess.DEVNULL, stdout=files[-1],
                                          stderr=subprocess.STDOUT, env=env, start_new_session=True))

    try:
        start("master", "org.apache.spark.deploy.master.Master",
              "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(web_port))
        _wait("the master is up", lambda: cluster.state().get("status") == "ALIVE", processes, logs, START_TIMEOUT_S)
        for i, work in enumerate(cluster.work_dirs, start=1):
            start(f"worker-{i}", "org.apache.spark.deploy.worker.Worker", cluster.url, "--host", "127.0.0.1",
                  "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()), "--work-dir", str(work))
        _wait(f"{WORKERS} workers are alive", lambda: cluster.state().get("aliveworkers") == WORKERS, processes,
              logs, START_TIMEOUT_S)
        yield cluster
    finally:
        for process in reversed(processes):  # workers (and their executors) first, then the master
            end_group(process, STOP_TIMEOUT_S)
        for file in files:
            file.close()


class Submission:
    """A running ``spark-submit.sh``, in a process group of its own, its output going to files.

    ``env`` is added to this process's environment (with ``CAREPLUS_PYTHON`` = this
    interpreter). Use it as a context manager: leaving it kills the group if it still runs.
    """

    def __init__(
        self, args: list[str], env: Mapping[str, str] | None, log_dir: Path, timeout_s: float = SUBMIT_TIMEOUT_S
    ) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.out, self.err = log_dir / "stdout", log_dir / "stderr"
        full_env = {**os.environ, "CAREPLUS_PYTHON": sys.executable, **(env or {})}
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [str(REPO / "spark-submit.sh"), *args], cwd=REPO, env=full_env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=err, start_new_session=True,
            )

    def wait(self) -> subprocess.CompletedProcess[str]:
        """Its result once it ended; past the deadline the group is killed and the test fails."""
        try:
            self.process.wait(timeout=max(0.1, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:  # still running, not reaped: its group id is still its own
            end_group(self.process, 0)
            raise AssertionError(
                f"spark-submit.sh {self.args[-1]} took longer than {self.timeout_s:.0f} s:\n{self.stderr()[-3000:]}"
            ) from None
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, self.stdout(), self.stderr())

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def __enter__(self) -> Submission:
        return self

    def __exit__(self, *exc: object) -> None:
        end_group(self.process, 0)


def submit(
    args: list[str], env: Mapping[str, str] | None = None, timeout_s: float = SUBMIT_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Runs ``spark-submit.sh args`` from the repository and waits for it (see :class:`Submission`)."""
    with tempfile.TemporaryDirectory(prefix="careplus-submit-") as folder, Submission(
        args, env, Path(folder), timeout_s
    ) as submission:
        return submission.wait()
