"""Fixtures of the fault tests: one generated input and one clean run's tables, shared by every test.

The fault tests start ``careplus run`` as real processes (each starts a JVM), break something
(SIGKILL, the S3 server or MariaDB stopped, the disk full), run again, and compare the
lakehouse with :func:`clean_run`'s: the same input gives the same gold, row for row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.faults.support import CareplusRun, Sources, generate_sources, run_argv, snapshot

_DONE = re.compile(r"^\[\d+/\d+\] (\w+): read .*\((\d+\.\d+) s\)")


@dataclass(frozen=True)
class CleanRun:
    """The reference: a run of :data:`~tests.integration.faults.support.SPEC` that nothing disturbed."""

    root: str
    lines: list[str]
    tables: dict[str, Any]

    def step_seconds(self) -> dict[str, float]:
        """Each step's time in the clean run (from its progress line)."""
        return {m[1]: float(m[2]) for m in map(_DONE.match, self.lines) if m}


@pytest.fixture(scope="session")
def fault_sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    return generate_sources(tmp_path_factory.mktemp("fault-sources"))


@pytest.fixture(scope="session")
def clean_run(fault_sources: Sources, spark: Any, tmp_path_factory: pytest.TempPathFactory) -> CleanRun:
    folder = tmp_path_factory.mktemp("fault-clean")
    root = str(folder / "lakehouse")
    run = CareplusRun(run_argv(root, fault_sources.settings()), folder / "stderr.txt", folder / "home").start()
    code = run.finish()
    assert code == 0, run.stderr()[-5000:]
    return CleanRun(root, run.lines, snapshot(spark, root))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The HOME (and working folder) of the runs of one test: a trace file goes there when the lakehouse cannot
    take it."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder
