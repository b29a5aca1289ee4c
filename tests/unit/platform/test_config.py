"""Layered, validated configuration: every failure names the key and the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from careplus_spark.cli import main
from careplus_spark.errors import ConfigError
from careplus_spark.platform.config import load_config
from tests.unit.platform.conf_support import BASE, write_conf


def test_env_file_deep_merges_over_base(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, dev="sources:\n  tickets:\n    fetch_size: 500\nspark:\n  shuffle_partitions: 8\n")
    cfg = load_config("dev", conf_dir=conf, environ={})
    assert cfg.sources.tickets.fetch_size == 500
    assert cfg.sources.tickets.table == "support_tickets"  # kept from base
    assert cfg.spark.shuffle_partitions == 8
    assert cfg.env == "dev"


def test_set_overrides_win_and_are_typed(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, dev="")
    cfg = load_config("dev", ["sources.tickets.num_partitions=6", "generate.start_date=2025-08-01"], conf, environ={})
    assert cfg.sources.tickets.num_partitions == 6
    assert cfg.generate.start_date == dt.date(2025, 8, 1)


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, dev="sources:\n  tickets:\n    fetchsize: 5\n")
    with pytest.raises(ConfigError, match=r"sources\.tickets\.fetchsize.*dev\.yaml"):
        load_config("dev", conf_dir=conf, environ={})


def test_missing_required_key_is_named(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, base=BASE.replace("    table: support_tickets\n", ""), dev="")
    with pytest.raises(ConfigError, match=r"missing required configuration key 'sources\.tickets\.table'"):
        load_config("dev", conf_dir=conf, environ={})


def test_wrong_type_names_expected_and_found(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, dev="sources:\n  tickets:\n    fetch_size: lots\n")
    wrong = r"sources\.tickets\.fetch_size \(set in .*dev\.yaml\) must be an integer, found str 'lots'"
    with pytest.raises(ConfigError, match=wrong):
        load_config("dev", conf_dir=conf, environ={})


def test_literal_choice_is_checked(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, dev="spark:\n  platform: kubernetes\n")
    choices = r"spark\.platform .* must be one of \['local', 'standalone', 'emr', 'glue'\]"
    with pytest.raises(ConfigError, match=choices):
        load_config("dev", conf_dir=conf, environ={})


def test_duplicate_key_fails_with_line(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, dev="spark:\n  master: a\n  master: b\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'master' at line 3"):
        load_config("dev", conf_dir=conf, environ={})


def test_invalid_yaml_names_file(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, dev="spark: [unclosed\n")
    with pytest.raises(ConfigError, match=r"dev\.yaml is not valid YAML"):
        load_config("dev", conf_dir=conf, environ={})


def test_unknown_environment_lists_known_ones(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, dev="")
    with pytest.raises(ConfigError, match=r"no configuration for environment 'prod'.*known: \['dev'\]"):
        load_config("prod", conf_dir=conf, environ={})


def test_interpolation_with_and_without_default(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, dev="lakehouse:\n  root: ${LAKE:-/tmp/lake}/x\nsources:\n  logs:\n    path: ${LOGS}\n")
    cfg = load_config("dev", conf_dir=conf, environ={"LOGS": "/var/logs"})
    assert cfg.lakehouse.root == "/tmp/lake/x"
    assert cfg.sources.logs.path == "/var/logs"
    with pytest.raises(ConfigError, match=r"sources\.logs\.path .*environment variable LOGS, which is not set"):
        load_config("dev", conf_dir=conf, environ={})


def test_secret_from_environment_is_never_shown(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, dev="")
    cfg = load_config("dev", conf_dir=conf, environ={"CAREPLUS_MYSQL_PASSWORD": "s3cr3t-value"})
    assert cfg.sources.tickets.password.reveal() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(cfg)
    assert "s3cr3t-value" not in str(cfg.sources.tickets.password)


@pytest.mark.parametrize("origin", ["file", "--set"])
def test_literal_secret_is_refused(tmp_path: Path, origin: str) -> None:
    dev = "sources:\n  tickets:\n    password: hunter2\n" if origin == "file" else ""
    sets = ["sources.tickets.password=hunter2"] if origin == "--set" else []
    conf = write_conf(tmp_path, dev=dev)
    with pytest.raises(ConfigError, match=r"sources\.tickets\.password .*literal secret") as info:
        load_config("dev", sets, conf_dir=conf, environ={})
    assert "hunter2" not in str(info.value)


def test_secret_reference_to_aws_is_lazy(tmp_path: Path) -> None:
    dev = "sources:\n  tickets:\n    password: aws-secretsmanager:careplus/mysql#password\n"
    cfg = load_config("dev", conf_dir=write_conf(tmp_path, dev=dev), environ={})
    assert repr(cfg.sources.tickets.password) == "Secret(aws-secretsmanager:careplus/mysql#password)"


def test_required_secret_variable_missing(tmp_path: Path) -> None:
    dev = "sources:\n  tickets:\n    password: ${DB_PASSWORD}\n"
    with pytest.raises(ConfigError, match=r"needs environment variable DB_PASSWORD"):
        load_config("dev", conf_dir=write_conf(tmp_path, dev=dev), environ={})


@pytest.mark.parametrize("env", ["local", "test", "docker", "emr", "glue"])
def test_shipped_environments_validate(env: str) -> None:
    environ = {
        "MINIO_ROOT_USER": "u",
        "MINIO_ROOT_PASSWORD": "p",
        "CAREPLUS_MYSQL_PASSWORD": "p",
        "CAREPLUS_LAKEHOUSE_ROOT": "s3://bucket/lakehouse",
        "CAREPLUS_MYSQL_URL": "jdbc:mysql://db:3306/careplus",
        "CAREPLUS_MYSQL_USER": "careplus",
        "CAREPLUS_LOGS_PATH": "s3://bucket/logs",
    }
    cfg = load_config(env, conf_dir=Path(__file__).resolve().parents[3] / "conf", environ=environ)
    assert cfg.lakehouse.root
    assert cfg.sources.tickets.table == "support_tickets"
    assert cfg.sources.logs.path


def test_cli_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = write_conf(tmp_path, dev="lakehouse:\n  rooot: /x\n")
    code = main(["config", "--env", "dev", "--conf-dir", str(conf)])
    err = capsys.readouterr().err
    assert code == 2
    assert "lakehouse.rooot" in err and "dev.yaml" in err


def test_cli_bad_override_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--set", "spark.shuffle_partitions"]) == 2
    assert "expected KEY.PATH=VALUE" in capsys.readouterr().err
