"""The packaged value mappings read from inside a zip (the package shipped with spark-submit --py-files)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from careplus_spark.silver import log_cleaning, ticket_cleaning

MAPPINGS = Path(__file__).resolve().parents[3] / "careplus_spark" / "silver" / "mappings"


@pytest.fixture
def zipped(tmp_path: Path) -> Path:
    """The mapping files in a zip without folder entries, as spark-submit.sh writes it."""
    archive = tmp_path / "careplus_spark.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(MAPPINGS.glob("*.yaml")):
            zf.write(path, f"careplus_spark/silver/mappings/{path.name}")
    return archive


def test_the_default_mappings_are_plain_files_when_installed() -> None:
    assert ticket_cleaning.DEFAULT_MAPPINGS == MAPPINGS / "tickets.yaml"
    assert log_cleaning.DEFAULT_MAPPINGS == MAPPINGS / "logs.yaml"


def test_ticket_mappings_load_from_a_zip(zipped: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = ticket_cleaning.load_mappings()
    inside = zipfile.Path(zipped, "careplus_spark/silver/mappings/tickets.yaml")
    monkeypatch.setattr(ticket_cleaning, "DEFAULT_MAPPINGS", inside)
    assert ticket_cleaning.load_mappings() == expected


def test_log_mappings_load_from_a_zip(zipped: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = log_cleaning.load_log_mappings()
    inside = zipfile.Path(zipped, "careplus_spark/silver/mappings/logs.yaml")
    monkeypatch.setattr(log_cleaning, "DEFAULT_MAPPINGS", inside)
    assert log_cleaning.load_log_mappings() == expected


def test_a_mappings_file_missing_from_a_zip_names_it(zipped: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_cleaning, "DEFAULT_MAPPINGS", zipfile.Path(zipped, "careplus_spark/silver/mappings/x.yaml"))
    with pytest.raises(log_cleaning.ConfigError, match=r"careplus_spark\.zip/careplus_spark/silver/mappings/x\.yaml"):
        log_cleaning.load_log_mappings()
