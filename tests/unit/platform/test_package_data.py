"""Package data read alike from the source tree and from the spark-submit ``--py-files`` zip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from careplus_spark.platform import package_data
from careplus_spark.platform.config import default_conf_dir

REPO = Path(__file__).resolve().parents[3]

#: Run with the zip first on PYTHONPATH, as spark-submit runs a client-mode driver; prints JSON.
ZIP_PROBE = """
import json, sys
from pathlib import Path
import careplus_spark
from careplus_spark.platform import config, session
from careplus_spark.quality import ruleset
from careplus_spark.silver import log_cleaning, ticket_cleaning

files = ruleset.rule_files()
rules = {name: ruleset.load_rules(name).key for name in files}
conf_dir = config.default_conf_dir()
cfg = config.load_config("test", environ={})
log4j = session._log4j_option("standalone").split("=", 1)[1]
print(json.dumps({
    "package": careplus_spark.__file__,
    "rules": {name: list(key) for name, key in rules.items()},
    "tickets_priority": dict(ticket_cleaning.load_mappings().priority),
    "log_levels": dict(log_cleaning.load_log_mappings().levels),
    "conf_dir": str(conf_dir),
    "conf_files": sorted(p.name for p in conf_dir.glob("*.yaml")),
    "shuffle_partitions": cfg.spark.shuffle_partitions,
    "log4j": log4j,
}))
"""


@pytest.fixture(scope="module")
def py_files_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package zip exactly as ``spark-submit.sh`` builds it for ``--py-files``."""
    target = tmp_path_factory.mktemp("dist") / "careplus_spark.zip"
    env = {**os.environ, "CAREPLUS_PYTHON": sys.executable}
    subprocess.run([str(REPO / "spark-submit.sh"), "--build-zip", str(target)], check=True, env=env, timeout=60)
    return target


def test_installed_package_data_is_read_in_place() -> None:
    rules = package_data.resource("careplus_spark.quality", "rules")
    assert isinstance(rules, Path) and rules == REPO / "careplus_spark" / "quality" / "rules"
    assert package_data.real_path(rules) is rules


def test_a_file_inside_a_zip_is_extracted_once_per_content(py_files_zip: Path) -> None:
    inside = zipfile.Path(py_files_zip, "careplus_spark/platform/log4j2.properties")
    first = package_data.real_path(inside)
    assert first.read_bytes() == (REPO / "careplus_spark" / "platform" / "log4j2.properties").read_bytes()
    assert package_data.real_path(inside) == first
    assert first.parent.stat().st_mode & 0o077 == 0  # a folder of this user only
    other = zipfile.Path(py_files_zip, "careplus_spark/silver/mappings/logs.yaml")
    assert package_data.real_path(other) != first


def test_a_folder_inside_a_zip_is_extracted_whole(py_files_zip: Path) -> None:
    folder = package_data.real_path(zipfile.Path(py_files_zip, "careplus_spark/conf/"))
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in (REPO / "conf").glob("*.yaml"))
    assert (folder / "base.yaml").read_text() == (REPO / "conf" / "base.yaml").read_text()


def test_the_package_imported_from_the_py_files_zip_loads_its_rules_mappings_conf_and_log4j(
    py_files_zip: Path, tmp_path: Path
) -> None:
    from careplus_spark.quality import ruleset
    from careplus_spark.silver import log_cleaning, ticket_cleaning

    env = {k: v for k, v in os.environ.items() if k not in ("CAREPLUS_CONF_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(py_files_zip)
    done = subprocess.run(  # away from the checkout, so that neither ./conf nor ./careplus_spark is found
        [sys.executable, "-c", ZIP_PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])

    assert probe["package"].startswith(str(py_files_zip) + os.sep)
    assert probe["rules"] == {name: list(ruleset.load_rules(name).key) for name in ruleset.rule_files()}
    assert probe["rules"], "no packaged rule file was found in the zip"
    assert probe["tickets_priority"] == dict(ticket_cleaning.load_mappings().priority)
    assert probe["log_levels"] == dict(log_cleaning.load_log_mappings().levels)
    assert probe["conf_files"] == sorted(p.name for p in default_conf_dir().glob("*.yaml"))
    assert probe["shuffle_partitions"] == 2  # conf/test.yaml, read from the zip's copy
    log4j = Path(probe["log4j"].removeprefix("file://"))
    assert log4j.read_bytes() == (REPO / "careplus_spark" / "platform" / "log4j2.properties").read_bytes()
