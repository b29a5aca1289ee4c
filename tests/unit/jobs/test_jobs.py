"""Every pipeline step has a thin ``jobs/`` entry point, and every entry point names known steps."""

from __future__ import annotations

import ast
from pathlib import Path

from careplus_spark.pipeline.entry import parse_job_args
from careplus_spark.pipeline.steps import GROUPS, STEPS, resolve

JOBS = Path(__file__).resolve().parents[3] / "jobs"


def job_names(path: Path) -> list[str]:
    """The list literal passed to run_job in a jobs/*.py file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "run_job":
            return list(ast.literal_eval(node.args[0]))
    raise AssertionError(f"{path} does not call run_job")


def test_every_step_and_group_has_a_job_file() -> None:
    files = {p.stem for p in JOBS.glob("*.py")}
    missing = [s for s in [*STEPS, *GROUPS] if s not in files and s not in ("all", "bronze", "silver")]
    assert missing == [], missing


def test_job_files_name_known_steps() -> None:
    for path in JOBS.glob("*.py"):
        names = job_names(path)
        resolve(names)  # raises on an unknown name
        if path.stem != "run_pipeline":
            assert names == [path.stem], path
        assert path.stem in {*STEPS, *GROUPS, "run_pipeline"}


def test_job_arguments_take_full_refresh_and_ignore_glue_extras() -> None:
    args = parse_job_args(["--env", "glue", "--full-refresh", "--JOB_ID", "j_1", "--set", "a.b=c"])
    assert (args.env, args.full_refresh, args.overrides) == ("glue", True, ["a.b=c"])
