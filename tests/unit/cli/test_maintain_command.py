"""``careplus maintain`` refuses what it cannot do before Spark starts (exit code 2, one line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from careplus_spark import cli
from careplus_spark.pipeline import maintain, operate

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"


@pytest.fixture(autouse=True)
def no_spark(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Spark must not start")

    monkeypatch.setattr(operate, "open_lakehouse", refuse)


def run(tmp_path: Path, *args: str) -> int:
    return cli.main(["maintain", "--env", "test", "--conf-dir", str(CONF_DIR),
                     "--set", f"lakehouse.root={tmp_path / 'lakehouse'}", *args])


def test_a_retention_below_a_week_needs_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "--retention-hours", "24") == 2
    err = capsys.readouterr().err
    assert "VACUUM retention 24 h is below 168 h" in err and "--force" in err
    assert run(tmp_path, "--set", "maintenance.retention_hours=1") == 2


def test_an_unknown_table_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "gold.nope") == 2
    assert "'gold.nope' is not in the lakehouse catalog" in capsys.readouterr().err


def test_restore_refuses_tables_whose_state_lives_elsewhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["restore", "--env", "test", "--conf-dir", str(CONF_DIR), "--set", f"lakehouse.root={tmp_path}"]
    assert cli.main([*base, "bronze.logs", "--to-version", "1"]) == 2
    assert "--reprocess" in capsys.readouterr().err
    assert cli.main([*base, "ops.runs", "--to-version", "1"]) == 2
    assert cli.main([*base, "silver.tickets_quarantine", "--to-version", "1"]) == 2
    with pytest.raises(SystemExit):  # one of --to-version / --to-timestamp is required
        cli.main([*base, "gold.fct_tickets"])


def test_tables_are_selected_in_catalog_order() -> None:
    names = [t.qualified for t in maintain.selected_tables(["ops.runs", "bronze.logs"])]
    assert names == ["bronze.logs", "ops.runs"]
    assert len(maintain.selected_tables([])) > 10


def test_summary_and_report_name_every_table() -> None:
    from careplus_spark.lakehouse.maintenance import Compaction, Footprint

    report = maintain.TableReport("gold.fct_logs", "whole table", Footprint(18, 9000), Footprint(3, 4000),
                                  Footprint(40, 20000), Footprint(25, 12000), Compaction(18, 3, 9000, 4000, 7),
                                  168, True)
    assert maintain.summary([report], 168) == (
        "1 tables, 1 compacted, vacuumed (retention 168 h): live 18 files, 0.0 MB -> 3 files, 0.0 MB; "
        "stored 40 files, 0.0 MB -> 25 files, 0.0 MB")
    text = maintain.format_report([report])
    assert "gold.fct_logs" in text and "whole table: 18 -> 3 files" in text and "rewritten" in text
