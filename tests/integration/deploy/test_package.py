"""``careplus package``: everything EMR and Glue need, reproducible, verified before a deploy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from careplus_spark.deploy import artifacts, package
from careplus_spark.deploy.artifacts import Manifest
from careplus_spark.errors import DeployError
from careplus_spark.platform import jars
from tests.integration.deploy.packaged import packaged  # noqa: F401 - the session's package

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]


def tree(dist: Path) -> dict[str, str]:
    return {p.relative_to(dist).as_posix(): artifacts.file_sha256(p) for p in sorted(dist.rglob("*")) if p.is_file()}


def test_the_same_commit_gives_the_same_files(packaged: tuple[Path, Manifest], tmp_path: Path) -> None:  # noqa: F811
    dist, manifest = packaged

    again = package.build(tmp_path / "dist", source=package.source_root(), jars_dir=jars.default_jars_dir())

    assert again == manifest
    assert tree(tmp_path / "dist") == tree(dist)


def test_the_package_holds_what_emr_and_glue_need(packaged: tuple[Path, Manifest]) -> None:  # noqa: F811
    dist, manifest = packaged
    kinds = {a.path: (a.kind, a.spark_line) for a in manifest.artefacts}
    assert kinds[f"careplus_spark-{manifest.version}-py3-none-any.whl"] == ("wheel", "")
    assert kinds["jars/careplus-logreader-4.1.jar"] == ("log-reader", "4.1")
    assert kinds["jars/careplus-logreader-3.5.jar"] == ("log-reader", "3.5")
    assert kinds[f"jars/{jars.MYSQL_CONNECTOR.file_name}"] == ("jdbc-driver", "")
    assert {p.name for p in (REPO / "jobs").glob("*.py")} == {Path(p).name for p, (k, _) in kinds.items() if k == "job"}
    saved = json.loads((dist / "manifest.json").read_text())
    assert saved["spark_lines"]["4.1"]["glue_version"] == "6.0" and saved["spark_lines"]["3.5"]["delta"] == "3.3.2"
    with zipfile.ZipFile(dist / manifest.one("wheel").path) as wheel:
        names = set(wheel.namelist())
    assert {"careplus_spark/conf/base.yaml", "careplus_spark/conf/glue.yaml", "careplus_spark/conf/emr.yaml",
            "careplus_spark/quality/rules/gold.fct_tickets.yaml", "careplus_spark/silver/mappings/tickets.yaml",
            "careplus_spark/jvm/careplus-logreader-4.1.jar", "careplus_spark/jvm/careplus-logreader-3.5.jar",
            "careplus_spark/platform/log4j2.properties", "careplus_spark/pipeline/entry.py"} <= names
    with zipfile.ZipFile(dist / "jars/careplus-logreader-3.5.jar") as jar:
        assert "com/careplus/logs/LogBlocksSource.class" in jar.namelist()


def test_a_changed_artefact_is_caught_before_a_deploy(packaged: tuple[Path, Manifest], tmp_path: Path) -> None:  # noqa: F811
    copy = tmp_path / "dist"
    shutil.copytree(packaged[0], copy)
    (copy / "jobs" / "run_pipeline.py").write_text("print('not the packaged job')\n")

    with pytest.raises(DeployError, match=r"run_pipeline\.py is missing or differs from .*manifest\.json"):
        artifacts.load(copy)


def test_no_package_yet_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="run `careplus package` first"):
        artifacts.load(tmp_path)


def test_dry_runs_print_complete_definitions_from_the_cli(packaged: tuple[Path, Manifest]) -> None:  # noqa: F811
    dist, manifest = packaged
    careplus = [sys.executable, "-m", "careplus_spark"]
    glue = subprocess.run([*careplus, "deploy", "glue", "--dry-run", "--out", str(dist)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    emr = subprocess.run([*careplus, "deploy", "emr", "--dry-run", "--out", str(dist)], cwd=REPO,
                         capture_output=True, text=True, timeout=120, check=False)

    assert glue.returncode == 0, glue.stderr
    assert emr.returncode == 0, emr.stderr
    calls, _ = json.JSONDecoder().raw_decode(glue.stdout)
    create = next(c for c in calls if c["call"] == "glue.create_job")
    assert create["params"]["Command"]["ScriptLocation"].endswith(f"{manifest.release}/jobs/run_pipeline.py")
    assert create["params"]["DefaultArguments"]["--datalake-formats"] == "delta"
    assert "not deployable until these are set: deploy.artifacts_uri" in glue.stdout
    assert '"call": "emr.add_job_flow_steps"' in emr.stdout and "command-runner.jar" in emr.stdout
