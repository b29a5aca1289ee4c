"""The disk full in the middle of a run: a clear error, tables intact, and the re-run after freeing space heals.

The lakehouse lives on a 20 MB tmpfs (we run as root; the test skips, saying why, where mounting
is not permitted). When silver_tickets starts the rest of the disk is filled; the run must exit
with code 4 and one paragraph naming the lakehouse root and "No space left on device" (the trace
then goes to the home folder), every table must still be readable at an intact version, and
after the filler is deleted the next run completes with the clean run's gold.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.faults.conftest import CleanRun
from tests.integration.faults.support import CareplusRun, Sources, delta_versions, run_argv, snapshot
from tests.integration.faults.test_kill9 import ALL_TABLES, STEPS

SIZE_MB = 20
_CHUNK = b"\0" * (1024 * 1024)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of :data:`SIZE_MB` mounted for this test, unmounted after it."""
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mountpoint)],
                       check=True, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        pytest.skip(f"cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): {detail}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "--lazy", str(mountpoint)], check=False, capture_output=True, timeout=60)


def fill(path: Path) -> int:
    """Writes ``path`` until the file system is full; the bytes written (bounded by its size)."""
    written = 0
    with path.open("wb") as out:
        for _ in range(SIZE_MB * 2):
            try:
                out.write(_CHUNK)
                out.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                return written
            written += len(_CHUNK)
    raise AssertionError(f"{path}: {written} bytes written and the disk is not full")


def test_a_full_disk_fails_with_one_paragraph_and_the_rerun_after_freeing_space_heals(
    spark: Any, fault_sources: Sources, clean_run: CleanRun, small_disk: Path, tmp_path: Path, home: Path
) -> None:
    root = str(small_disk / "lakehouse")
    argv = run_argv(root, fault_sources.settings())
    run = CareplusRun(argv, tmp_path / "stderr-full.txt", home).start()
    assert run.wait_for(rf"^\[3/{len(STEPS)}\] silver_tickets \.\.\.$") is not None, run.stderr()[-3000:]
    filler = small_disk / "filler"
    fill(filler)
    assert run.finish() == 4, run.stderr()[-5000:]
    paragraph = run.paragraph()
    assert paragraph.startswith("careplus: error: careplus run failed"), run.stderr()[-3000:]
    assert "No space left on device" in paragraph and f"free space on the file system of {root}" in paragraph
    trace = Path(paragraph.split("Full trace: ")[1].split(" (exit code")[0])
    assert trace.is_relative_to(home) and "No space left on device" in trace.read_text(encoding="utf-8")
    versions = delta_versions(spark, root, ALL_TABLES)
    assert versions["bronze.tickets"] is not None and versions["gold.fct_tickets"] is None
    cursors = dict(spark.read.format("delta").load(f"{root}/ops/cursors").select("name", "value").collect())
    clean_cursors = dict(clean_run.tables["ops.cursors"])
    assert set(cursors) <= set(clean_cursors) and all(cursors[n] == clean_cursors[n] for n in cursors)
    filler.unlink()
    rerun = CareplusRun(argv, tmp_path / "stderr-rerun.txt", home).start()
    assert rerun.finish() == 0, rerun.stderr()[-5000:]
    healed = snapshot(spark, root)
    for name, rows in clean_run.tables.items():
        assert healed[name] == rows, f"{name} differs from the clean run's after the disk was full"
