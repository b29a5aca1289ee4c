"""Running ``careplus run`` as a real process for the fault tests, and comparing what it leaves behind.

A run is started with :class:`CareplusRun` (its own process group, so SIGKILL reaches the
Python driver and its JVM at once, like a container killed), its progress lines are read
as they come, and it is killed, waited for, or watched fail. :func:`snapshot` reads the
tables a run must agree on with a clean run (every gold table, silver and bronze, the
cursors) as sorted rows, without the columns that name the run or the time.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from careplus_spark.pipeline.steps import GOLD_STEPS
from careplus_spark.platform import jars
from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url
from tests.conftest import CONF_DIR

#: Longest a ``careplus run`` of the tiny input may take: about a minute alone, ten on a machine shared by
#: many JVMs (a limit against a hung run, not a performance threshold).
RUN_TIMEOUT_S = 1800.0
#: Longest the wait for a progress line may take.
LINE_TIMEOUT_S = 1200.0
#: The input: two days, 30 tickets and one log file a day.
SPEC = GenerateSpec(seed=11, start_date=dt.date(2025, 7, 1), days=2, tickets_per_day=30, log_files_per_day=1)
#: A killed run's lease is taken over after this (the default, 300 s, would stall the re-run).
LOCK_SETTINGS = ("lakehouse.lock.expiry_s=6", "lakehouse.lock.heartbeat_s=1", "lakehouse.lock.wait_s=120")
#: The tables compared with a clean run, row for row.
COMPARED = (
    "bronze.tickets", "bronze.logs", "silver.tickets", "silver.logs",
    *(name for models in GOLD_STEPS.values() for name in models),
)
#: Columns that differ between two runs of the same input, and are not compared.
_KEPT_LINEAGE = {"_row_hash", "_source_file", "_offset"}


@dataclass(frozen=True)
class Sources:
    """The tickets database URL and the log folder of a generated input."""

    tickets_url: str
    logs_path: str

    def settings(self) -> list[str]:
        return [f"sources.tickets.url={self.tickets_url}", f"sources.logs.path={self.logs_path}"]


def generate_sources(folder: Path) -> Sources:
    """Writes :data:`SPEC`'s tickets (SQLite) and log files under ``folder``."""
    sources = Sources(f"jdbc:sqlite:{folder / 'tickets.db'}", str(folder / "logs"))
    with sink_for_url(sources.tickets_url, "", "", "support_tickets") as sink:
        generate(SPEC, sink, Path(sources.logs_path), first_day=0)
    return sources


def run_argv(root: str, settings: Sequence[str], jobs: Sequence[str] = ()) -> list[str]:
    """``python -m careplus_spark run [jobs]`` on the test environment, lakehouse ``root`` and ``settings``."""
    sets = [
        f"lakehouse.root={root}", "lakehouse.catalog.kind=in-memory", f"spark.jars_dir={jars.default_jars_dir()}",
        *LOCK_SETTINGS, *settings,
    ]
    argv = [sys.executable, "-m", "careplus_spark", "run", *jobs, "--env", "test", "--conf-dir", str(CONF_DIR)]
    for setting in sets:
        argv += ["--set", setting]
    return argv


@dataclass
class CareplusRun:
    """One ``careplus run`` process: its progress lines, its stderr file, its end."""

    argv: list[str]
    stderr_path: Path
    home: Path
    env: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def start(self) -> CareplusRun:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CAREPLUS_TEST_"))}
        env.update({"HOME": str(self.home), "PYTHONUNBUFFERED": "1", **self.env})
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(  # noqa: S603 - our own command
                self.argv, cwd=self.home, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
                start_new_session=True,
            )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout_s: float = LINE_TIMEOUT_S) -> str | None:
        """The first new progress line matching ``pattern``; None if the output ended first.

        Raises:
            TimeoutError: no such line within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        for _ in range(100_000):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                self._queue.put(None)
                return None
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        self.kill()
        raise TimeoutError(f"no line matching {pattern!r} within {timeout_s:.0f} s; got {self.lines[-5:]}")

    def kill(self) -> None:
        """SIGKILL to the whole process group (the driver and its JVM), then reaps it."""
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=60)

    def finish(self, timeout_s: float = RUN_TIMEOUT_S) -> int:
        """Waits for the end (reading the remaining lines); the exit code."""
        assert self.process is not None
        try:
            self.wait_for(r"(?!)", timeout_s)
        except TimeoutError:
            raise TimeoutError(f"careplus run did not end within {timeout_s:.0f} s:\n{self.stderr()[-3000:]}") from None
        return self.process.wait(timeout=60)

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def paragraph(self) -> str:
        """The ``careplus: error:`` line of stderr (empty if none)."""
        return next((line for line in self.stderr().splitlines() if line.startswith("careplus: error:")), "")


def compared_columns(columns: Sequence[str]) -> list[str]:
    """The columns compared between runs: all but the lineage ones that name a run or a time."""
    return sorted(c for c in columns if not c.startswith("_") or c in _KEPT_LINEAGE)


def table_rows(spark: Any, path: str) -> list[tuple[Any, ...]]:
    """The rows of a Delta table (compared columns only), sorted."""
    df = spark.read.format("delta").load(path)
    return sorted((tuple(row) for row in df.select(*compared_columns(df.columns)).collect()), key=repr)


def snapshot(spark: Any, root: str) -> dict[str, Any]:
    """What a finished lakehouse must agree on with a clean run: :data:`COMPARED` rows and the cursors."""
    found: dict[str, Any] = {name: table_rows(spark, f"{root}/{name.replace('.', '/')}") for name in COMPARED}
    cursors = spark.read.format("delta").load(f"{root}/ops/cursors").select("name", "value").collect()
    found["ops.cursors"] = sorted((r["name"], r["value"]) for r in cursors)
    return found


def delta_versions(spark: Any, root: str, names: Sequence[str]) -> dict[str, int | None]:
    """The latest version of each table (None: no table yet); reading it proves the log intact."""
    from delta.tables import DeltaTable

    versions: dict[str, int | None] = {}
    for name in names:
        path = f"{root}/{name.replace('.', '/')}"
        if not DeltaTable.isDeltaTable(spark, path):
            versions[name] = None
            continue
        spark.read.format("delta").load(path).count()
        versions[name] = DeltaTable.forPath(spark, path).history(1).first()["version"]
    return versions
