"""The generator's output does not depend on the process: a second interpreter writes the same bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from careplus_spark.synthetic import GenerateSpec, generate
from tests.synthetic_support import SMALL, tree_bytes

REPO = Path(__file__).resolve().parents[3]


def small_overrides() -> dict[str, Any]:
    """The fields of :data:`SMALL` that differ from the defaults."""
    return {k: v for k, v in SMALL.__dict__.items() if v != getattr(GenerateSpec(), k)}


def test_output_does_not_depend_on_process_hash_seed(tmp_path: Path) -> None:
    generate(SMALL, None, tmp_path / "here")
    code = (
        "import sys; from pathlib import Path; from careplus_spark.synthetic import *; "
        f"generate(GenerateSpec(**{{**GenerateSpec().__dict__, **{small_overrides()!r}}}), "
        "None, Path(sys.argv[1]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], check=True, env=env)
    assert tree_bytes(tmp_path / "here") == tree_bytes(tmp_path / "there")
