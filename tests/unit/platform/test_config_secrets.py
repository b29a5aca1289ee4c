"""At config load: no credentials in URLs, secret-looking settings only from the environment or
AWS Secrets Manager, no literal default for a secret (issue 14, findings 2 and 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from careplus_spark import cli
from careplus_spark.errors import ConfigError
from careplus_spark.platform.config import load_config
from tests.unit.platform.conf_support import write_conf


def conf_dir(tmp_path: Path, dev: str = "") -> Path:
    return write_conf(tmp_path, dev=dev)


def refused(tmp_path: Path, sets: list[str], dev: str = "", environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config("dev", sets, conf_dir=conf_dir(tmp_path, dev), environ=environ or {})
    assert info.value.exit_code == 2
    return str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("sources.tickets.url", "jdbc:mysql://app:Pw-9f2x@db:3306/crm", "jdbc:mysql://app:***@db:3306/crm"),
        ("sources.tickets.url", "jdbc:mysql://db:3306/crm?password=Pw-9f2x", "jdbc:mysql://db:3306/crm?password=***"),
        ("sources.tickets.url", "jdbc:mysql://db:3306/crm;password=Pw-9f2x", "jdbc:mysql://db:3306/crm;password=***"),
        ("s3.endpoint", "http://minio:Pw-9f2x@127.0.0.1:9000", "http://minio:***@127.0.0.1:9000"),
        ("exposure.glue.endpoint", "http://127.0.0.1:5000/?a=b&secret=Pw-9f2x", "http://127.0.0.1:5000/?a=b&secret=***"),
        ("deploy.endpoint", "https://k:Pw-9f2x@aws.example", "https://k:***@aws.example"),
        ("lakehouse.root", "s3a://AKIAABCDEFGHIJKLMNOP:Pw-9f2x@bucket/x", "s3a://***:***@bucket/x"),
        ("sources.logs.path", "s3a://key:Pw-9f2x@bucket/logs", "s3a://key:***@bucket/logs"),
    ],
)
def test_a_url_with_credentials_is_refused_at_load(tmp_path: Path, key: str, value: str, shown: str) -> None:
    message = refused(tmp_path, [f"{key}={value}"])
    assert message.startswith(f"{key} (set in --set) holds credentials in a URL: {shown};")
    assert "Pw-9f2x" not in message


def test_a_url_with_credentials_in_a_file_names_the_file(tmp_path: Path) -> None:
    dev = "sources:\n  tickets:\n    url: jdbc:mysql://app:Pw-9f2x@db/crm\n"
    message = refused(tmp_path, [], dev=dev)
    assert f"sources.tickets.url (set in {tmp_path / 'dev.yaml'})" in message
    assert "sources.tickets.user and sources.tickets.password" in message and "Pw-9f2x" not in message


def test_credentials_reaching_a_url_through_a_variable_are_refused_too(tmp_path: Path) -> None:
    message = refused(tmp_path, ["lakehouse.root=${LAKE}"], environ={"LAKE": "s3a://key:Pw-9f2x@bucket/lake"})
    assert "lakehouse.root (set in --set)" in message and "s3a://key:***@bucket/lake" in message
    assert "Pw-9f2x" not in message


def test_the_command_exits_2_showing_the_url_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["config", "--env", "dev", "--conf-dir", str(conf_dir(tmp_path)),
                     "--set", "sources.tickets.url=jdbc:mysql://user:Pw-9f2x@host/db"])
    err = capsys.readouterr().err
    assert code == 2
    assert "jdbc:mysql://user:***@host/db" in err and "Pw-9f2x" not in err


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("spark.conf", {"spark.hadoop.fs.s3a.secret.key": "Lit-3r4l"}),
        ("spark.conf", {"spark.hadoop.fs.s3a.session.token": "Lit-3r4l"}),
        ("spark.conf", {"spark.hadoop.fs.azure.account.OAuth2.Credentials": "Lit-3r4l"}),
        ("spark.conf", {"spark.ssl.keyStorePassword": "Lit-3r4l"}),
        ("sources.tickets.options", {"password": "Lit-3r4l"}),
    ],
)
def test_a_literal_in_a_secret_looking_setting_is_refused(tmp_path: Path, key: str, value: dict[str, str]) -> None:
    tree: dict[str, Any] = dict(value)
    for part in reversed(key.split(".")):
        tree = {part: tree}
    dev = yaml.safe_dump(tree)
    message = refused(tmp_path, [], dev=dev)
    assert message.startswith(f"{key}.{next(iter(value))} (set in {tmp_path / 'dev.yaml'}) holds a literal secret")
    assert "Lit-3r4l" not in message


@pytest.mark.parametrize(
    "override",
    [
        "sources.tickets.password=${NOPE:-Hunter2Default}",
        "s3.secret_key=${NOPE:-Hunter2Default}",
        'spark.conf={"spark.hadoop.fs.s3a.secret.key": "${NOPE:-Hunter2Default}"}',
        'sources.tickets.options={"password": "${NOPE:-Hunter2Default}"}',
    ],
)
def test_a_literal_default_is_refused_for_a_secret(tmp_path: Path, override: str) -> None:
    message = refused(tmp_path, [override], environ={"NOPE": "set-or-not"})
    assert "literal default" in message and "Hunter2Default" not in message


def test_secret_settings_come_from_the_environment_or_aws(tmp_path: Path) -> None:
    dev = yaml.safe_dump({
        "spark": {"conf": {
            "spark.hadoop.fs.s3a.session.token": "${S3_TOKEN}",
            "spark.hadoop.fs.s3a.secret.key": "${NOPE:-aws-secretsmanager:careplus/s3#secret}",
            "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider",
            "spark.sql.ansi.enabled": "${NOPE:-true}",
        }},
        "sources": {"tickets": {"options": {"password": "${DB_OPTION_PW}", "useSSL": "${NOPE:-false}"},
                                "password": "${NOPE:-}", "table": "${NOPE:-tickets}"}},
    })
    cfg = load_config("dev", conf_dir=conf_dir(tmp_path, dev), environ={"S3_TOKEN": "tok-123456",
                                                                        "DB_OPTION_PW": "opt-pw-123456"})
    assert dict(cfg.spark.conf) == {
        "spark.hadoop.fs.s3a.session.token": "tok-123456",
        "spark.hadoop.fs.s3a.secret.key": "aws-secretsmanager:careplus/s3#secret",
        "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider",
        "spark.sql.ansi.enabled": "true",  # non-secret keys keep ${VAR:-default}
    }
    assert dict(cfg.sources.tickets.options) == {"password": "opt-pw-123456", "useSSL": "false"}
    assert cfg.sources.tickets.table == "tickets" and not cfg.sources.tickets.password.is_set()


def test_config_output_masks_secret_settings_and_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREPLUS_GREP_TOKEN", "tok-abcdef-123")
    monkeypatch.setenv("CAREPLUS_GREP_OPT_PW", "opt-pw-abcdef-123")
    conf = conf_dir(tmp_path, yaml.safe_dump({
        "spark": {"conf": {"spark.hadoop.fs.s3a.session.token": "${CAREPLUS_GREP_TOKEN}"}},
        "sources": {"tickets": {"options": {"password": "${CAREPLUS_GREP_OPT_PW}"}}},
    }))
    assert cli.main(["config", "--env", "dev", "--conf-dir", str(conf)]) == 0
    shown = capsys.readouterr().out
    tree = yaml.safe_load(shown)
    assert tree["sources"]["tickets"]["options"] == {"password": "***"}
    assert tree["spark"]["conf"] == {"spark.hadoop.fs.s3a.session.token": "***"}
    assert cli.main(["config", "--env", "dev", "--conf-dir", str(conf), "--spark-conf"]) == 0
    spark_conf = capsys.readouterr().out
    assert "spark.hadoop.fs.s3a.session.token=***" in spark_conf.splitlines()
    for out in (shown, spark_conf):
        assert "tok-abcdef-123" not in out and "opt-pw-abcdef-123" not in out
