"""Declarative checks of configuration values (issue 14, findings 1 and 7): numeric ranges,
identifiers taken from config and lakehouse roots, refused at config load with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

import pytest

from careplus_spark.cli import main
from careplus_spark.errors import ConfigError
from careplus_spark.platform import config_checks as cc
from careplus_spark.platform.config import TicketsSourceConfig, load_config
from careplus_spark.platform.secrets import Secret

REPO = Path(__file__).resolve().parents[3]
CONF_DIR = REPO / "conf"
INJECTION = "support_tickets\\' OR 1=1 --"  # what `--set "sources.tickets.table=support_tickets\\' OR 1=1 --"` sets


def load(*overrides: str):  # type: ignore[no-untyped-def]
    return load_config("test", overrides=list(overrides), conf_dir=CONF_DIR, environ={})


@pytest.mark.parametrize(
    ("key", "bad", "rule"),
    [
        ("spark.shuffle_partitions", "-5", "must be >= 1"),
        ("spark.shuffle_partitions", "0", "must be >= 1"),
        ("sources.tickets.retries", "-1", "must be >= 1"),
        ("sources.tickets.retries", "0", "must be >= 1"),
        ("sources.tickets.fetch_size", "0", "must be >= 1"),
        ("sources.tickets.num_partitions", "0", "must be >= 1"),
        ("sources.tickets.connect_timeout_s", "0", "must be >= 1"),
        ("sources.tickets.lookback_minutes", "-1", "must be >= 0"),
        ("sources.tickets.partition_min_rows", "0", "must be >= 1"),
        ("sources.tickets.retry_backoff_s", "-0.5", "must be >= 0"),
        ("sources.tickets.reconcile_every_runs", "-1", "must be >= 0"),
        ("sources.tickets.reconcile_max_delete_fraction", "1.5", "must be a share between 0 and 1"),
        ("lakehouse.lock.expiry_s", "0", "must be > 0"),
        ("lakehouse.lock.heartbeat_s", "-1", "must be > 0"),
        ("lakehouse.lock.wait_s", "-1", "must be >= 0"),
        ("generate.seed", "-1", "must be >= 0"),
        ("generate.days", "0", "must be >= 1"),
        ("generate.tickets_per_day", "-1", "must be >= 0"),
        ("generate.events_per_ticket", "-0.1", "must be >= 0"),
        ("generate.log_files_per_day", "-1", "must be >= 0"),
        ("generate.rates.dup_ticket", "1.2", "must be a share between 0 and 1"),
        ("gold.sla_hours.High", "0", "must be > 0"),
        ("gold.average_decimals", "19", "must be between 0 and 18"),
        ("gold.average_decimals", "-1", "must be between 0 and 18"),
        ("quality.alarms.default_threshold.block", "2", "must be a share between 0 and 1"),
        ("deploy.glue.number_of_workers", "0", "must be >= 1"),
        ("deploy.glue.timeout_minutes", "0", "must be >= 1"),
        ("deploy.glue.max_retries", "11", "must be between 0 and 10"),
        ("deploy.glue.max_concurrent_runs", "0", "must be >= 1"),
        ("deploy.emr.wait_timeout_minutes", "0", "must be > 0"),
        ("deploy.emr.poll_seconds", "0", "must be > 0"),
    ],
)
def test_a_number_out_of_range_is_refused_naming_key_origin_and_range(key: str, bad: str, rule: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(f"{key}={bad}")
    message = str(caught.value)
    assert message.startswith(f"{key} (set in --set) {rule}"), message
    assert float(message.rsplit(", found ", 1)[1]) == float(bad)
    assert caught.value.exit_code == 2


def test_a_rule_threshold_out_of_range_names_the_rule() -> None:
    with pytest.raises(ConfigError, match=r"^quality.alarms.rules.silver.tickets.unparseable_created_at "
                                          r"\(set in --set\) must be a share between 0 and 1 .*, found -0.1$"):
        load('quality.alarms.rules={"silver.tickets.unparseable_created_at": -0.1}')


def test_the_message_of_the_issue_is_exact() -> None:
    with pytest.raises(ConfigError) as caught:
        load("spark.shuffle_partitions=-5")
    assert str(caught.value) == "spark.shuffle_partitions (set in --set) must be >= 1, found -5"


def test_a_value_set_in_a_file_names_the_file(tmp_path: Path) -> None:
    for name in ("base.yaml", "test.yaml"):
        (tmp_path / name).write_text((CONF_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    with (tmp_path / "test.yaml").open("a", encoding="utf-8") as out:
        out.write("\ngold:\n  average_decimals: 40\n")
    with pytest.raises(ConfigError, match=r"gold.average_decimals \(set in .*test.yaml\) must be between 0 and 18"):
        load_config("test", conf_dir=tmp_path, environ={})


def test_values_at_the_ends_of_their_ranges_are_accepted() -> None:
    cfg = load("spark.shuffle_partitions=1", "sources.tickets.retries=1", "sources.tickets.lookback_minutes=0",
               "gold.average_decimals=0", "quality.alarms.default_threshold.block=1", "deploy.glue.max_retries=10")
    assert (cfg.spark.shuffle_partitions, cfg.sources.tickets.retries, cfg.gold.average_decimals) == (1, 1, 0)


def test_the_lock_expiry_must_exceed_the_heartbeat() -> None:
    with pytest.raises(ConfigError, match=r"lakehouse.lock.expiry_s \(30\) must be greater than lakehouse.lock.heart"):
        load("lakehouse.lock.expiry_s=30", "lakehouse.lock.heartbeat_s=30")


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("sources.tickets.table", INJECTION),
        ("sources.tickets.table", "support tickets"),
        ("sources.tickets.table", "t`; DROP TABLE x"),
        ("sources.tickets.table", "a.b.c"),
        ("sources.tickets.table", "x" * 65),
        ("sources.tickets.key_column", "ticket_id' OR '1'='1"),
        ("sources.tickets.key_column", "crm.ticket_id"),
        ("sources.tickets.cursor_column", "updated_at--"),
        ("exposure.spectrum_schema", 'care"plus'),
        ("exposure.glue.database_prefix", "care-plus_"),
        ("deploy.glue.job_prefix", "care plus-"),
        ("exposure.tables", "[\"silver.tickets'\"]"),
        ("lakehouse.dynamodb.table", "x"),
    ],
)
def test_identifiers_from_config_must_match_their_pattern(key: str, bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(f"{key}={bad}")
    message = str(caught.value)
    assert message.startswith(f"{key} (set in --set) must be "), message
    assert "(pattern " in message and caught.value.exit_code == 2


def test_qualified_source_tables_and_dollar_signs_are_accepted() -> None:
    cfg = load("sources.tickets.table=crm.support_tickets$2", "sources.tickets.key_column=_id",
               "exposure.glue.database_prefix=", "deploy.glue.job_prefix=team.careplus-")
    assert cfg.sources.tickets.table == "crm.support_tickets$2"


@pytest.mark.parametrize(
    "root",
    ["/tmp/lake'house", '/tmp/lake"house', "/tmp/lake`house", "/tmp/lake\\house", "/tmp/lake;create=false",
     "/tmp/lake\nhouse", "/tmp/lake\thouse", "/tmp/lake house", "s3a://bucket/lake'house"],
)
def test_a_lakehouse_root_spark_cannot_start_with_is_refused(root: str) -> None:
    # through an environment variable: a --set value is read as YAML, which would eat a newline or a tab
    with pytest.raises(ConfigError) as caught:
        load_config("test", overrides=["lakehouse.root=${CAREPLUS_TEST_ROOT}"], conf_dir=CONF_DIR,
                    environ={"CAREPLUS_TEST_ROOT": root})
    assert str(caught.value).startswith("lakehouse.root (set in --set) must not contain a quote")
    assert caught.value.exit_code == 2


def test_the_metastore_folder_follows_the_same_rule() -> None:
    with pytest.raises(ConfigError, match=r"lakehouse.catalog.metastore_dir \(set in --set\) must not contain"):
        load("lakehouse.catalog.metastore_dir=/tmp/meta'store")


def test_a_relative_root_in_an_unsafe_working_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "it's here"
    folder.mkdir()
    monkeypatch.chdir(folder)
    with pytest.raises(ConfigError, match=r"lakehouse.root .*must not contain a quote"):
        load("lakehouse.root=./lakehouse")


def test_the_cli_exits_2_naming_the_key_instead_of_a_spark_submit_usage_dump(tmp_path: Path) -> None:
    """The issue's run: `careplus run` with a quote in lakehouse.root ended in JAVA_GATEWAY_EXITED."""
    root = tmp_path / "lake'house"
    done = subprocess.run(
        [sys.executable, "-m", "careplus_spark", "run", "--env", "test", "--set", f"lakehouse.root={root}"],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "lakehouse.root (set in --set) must not contain a quote" in done.stderr
    assert "JAVA_GATEWAY_EXITED" not in done.stderr and "Usage: spark-submit" not in done.stderr + done.stdout
    assert not root.exists()  # refused before anything was written


def test_the_injected_table_name_of_the_issue_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--env", "test", "--set", f"sources.tickets.table={INJECTION}"]) == 2
    err = capsys.readouterr().err
    assert "sources.tickets.table (set in --set) must be a table name" in err


def test_a_source_config_built_in_code_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"^sources.tickets.table must be a table name"):
        TicketsSourceConfig(url="jdbc:sqlite:x.db", table=INJECTION, user="", password=Secret.empty())


def test_checks_skip_none_and_apply_to_every_item() -> None:
    @dataclass(frozen=True)
    class Sample:
        decimals: int | None = field(default=None, metadata=cc.checks(cc.between(0, 18)))
        hours: dict[str, float] = field(default_factory=dict, metadata=cc.checks(cc.each(cc.above(0))))

    decimals, hours = fields(Sample)
    cc.run_checks(decimals, None, "gold.average_decimals", {})
    cc.run_checks(hours, {"High": 4.0, "Low": None}, "gold.sla_hours", {})
    with pytest.raises(ConfigError, match=r"^gold.sla_hours.Low \(set in b.yaml\) must be > 0, found -1.0$"):
        cc.run_checks(hours, {"High": 4.0, "Low": -1.0}, "gold.sla_hours", {"gold.sla_hours.Low": "b.yaml"})
