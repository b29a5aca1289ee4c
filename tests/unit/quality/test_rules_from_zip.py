"""Rule files read from inside a zip (the package shipped with spark-submit --py-files)."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from careplus_spark.errors import ConfigError
from careplus_spark.quality.ruleset import PACKAGED_RULES, load_rules, rule_files

RULES = Path(__file__).resolve().parents[3] / "careplus_spark" / "quality" / "rules"


@pytest.fixture
def zipped_rules(tmp_path: Path) -> zipfile.Path:
    """The packaged rule files in a zip without folder entries, as spark-submit.sh writes it."""
    archive = tmp_path / "careplus_spark.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(RULES.glob("*.yaml")):
            zf.write(path, f"careplus_spark/quality/rules/{path.name}")
    return zipfile.Path(archive, "careplus_spark/quality/rules/")


def test_the_packaged_rules_are_a_plain_folder_when_installed() -> None:
    assert PACKAGED_RULES == RULES


def test_rule_files_and_rules_load_from_a_zip_folder(zipped_rules: zipfile.Path) -> None:
    assert list(rule_files(zipped_rules)) == list(rule_files())
    for table in rule_files():
        from_zip = load_rules(table, zipped_rules)
        assert replace(from_zip, source=None) == replace(load_rules(table), source=None)
        assert from_zip.source is not None and from_zip.source.endswith(f"careplus_spark/quality/rules/{table}.yaml")


def test_a_table_missing_from_a_zip_folder_is_a_clear_error(zipped_rules: zipfile.Path) -> None:
    with pytest.raises(ConfigError, match=r"gold\.no_such_table\.yaml does not exist; rule files in .*fct_tickets"):
        load_rules("gold.no_such_table", zipped_rules)
    assert load_rules("gold.no_such_table", zipped_rules, missing_ok=True).rules == ()
