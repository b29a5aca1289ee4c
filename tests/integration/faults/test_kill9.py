"""The crash loop: ``careplus run`` killed with SIGKILL at step boundaries and inside steps, then healed.

One lakehouse, one chain of runs: run k is killed when step k starts (``[k/n] step ...``: a
boundary, the previous step committed) or half-way through step k (half its clean-run time);
each run thus meets a step with real pending work. After every kill each table must still be
readable; the last run goes to the end, and then every gold, silver and bronze table and
the cursors equal a clean run's (same input), row for row.

Each ``careplus run`` starts a JVM: the loop costs about ten runs of the tiny input.
``CAREPLUS_TEST_KILL_POINTS=2:inside,5:boundary`` runs a subset for a quick local check.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from careplus_spark.lakehouse import catalog
from careplus_spark.pipeline.steps import GROUPS
from tests.integration.faults.conftest import CleanRun
from tests.integration.faults.support import CareplusRun, Sources, delta_versions, run_argv, snapshot

STEPS = GROUPS["all"]
#: (step number, where): eight kill points over the first eight of the nine steps.
KILL_POINTS: tuple[tuple[int, str], ...] = (
    (1, "inside"), (2, "boundary"), (3, "inside"), (4, "boundary"),
    (5, "inside"), (6, "boundary"), (7, "inside"), (8, "boundary"),
)
ALL_TABLES = [t.qualified for t in catalog.TABLES]


def kill_points() -> tuple[tuple[int, str], ...]:
    chosen = os.environ.get("CAREPLUS_TEST_KILL_POINTS", "")
    if not chosen:
        return KILL_POINTS
    return tuple((int(k), where) for k, where in (item.split(":") for item in chosen.split(",")))


@pytest.mark.slow
def test_kill_9_at_every_step_boundary_and_inside_each_step_heals_to_the_clean_gold(
    spark: Any, fault_sources: Sources, clean_run: CleanRun, tmp_path: Path, home: Path
) -> None:
    root = str(tmp_path / "lakehouse")
    argv = run_argv(root, fault_sources.settings())
    seconds = clean_run.step_seconds()
    for attempt, (number, where) in enumerate(kill_points(), start=1):
        step = STEPS[number - 1]
        run = CareplusRun(argv, tmp_path / f"stderr-{attempt}.txt", home).start()
        line = run.wait_for(rf"^\[{number}/{len(STEPS)}\] {step} \.\.\.$")
        assert line is not None, f"run {attempt} ended before step {step}:\n{run.stderr()[-3000:]}"
        if where == "inside":
            time.sleep(max(seconds[step] / 2, 0.5))
        run.kill()
        assert run.process is not None and run.process.returncode == -9, f"run {attempt} was not killed"
        delta_versions(spark, root, ALL_TABLES)  # every table (and its log) readable right after the kill
    final = CareplusRun(argv, tmp_path / "stderr-final.txt", home).start()
    assert final.finish() == 0, final.stderr()[-5000:]
    assert [line for line in final.lines if line.endswith(" ...")][-1] == f"[{len(STEPS)}/{len(STEPS)}] expose ..."
    healed = snapshot(spark, root)
    for name, rows in clean_run.tables.items():
        assert healed[name] == rows, f"{name} differs from the clean run's after the crash loop"
