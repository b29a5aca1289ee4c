"""``careplus config``: the resolved configuration as YAML, every secret masked (issue 14, finding 4)."""

from __future__ import annotations

import yaml
from pytest import CaptureFixture, MonkeyPatch

from careplus_spark import cli


def test_config_prints_the_resolved_configuration_with_secrets_masked(
    capsys: CaptureFixture[str], monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREPLUS_TEST_DB_PASSWORD", "Hunter2-from-env")
    monkeypatch.setenv("CAREPLUS_TEST_TOKEN", "tok-3141")  # secret-looking settings come from the environment
    code = cli.main([
        "config", "--env", "test",
        "--set", "sources.tickets.password=${CAREPLUS_TEST_DB_PASSWORD}",
        "--set", 'spark.conf={"spark.hadoop.fs.s3a.session.token": "${CAREPLUS_TEST_TOKEN}", '
                 '"spark.sql.ansi.enabled": "true"}',
    ])
    out = capsys.readouterr().out
    assert code == 0
    tree = yaml.safe_load(out)
    assert tree["env"] == "test"
    assert tree["sources"]["tickets"]["password"] == "*** (env:CAREPLUS_TEST_DB_PASSWORD)"
    assert tree["spark"]["conf"] == {"spark.hadoop.fs.s3a.session.token": "***", "spark.sql.ansi.enabled": "true"}
    assert tree["gold"]["sla_hours"]["High"] == 4
    assert "Hunter2-from-env" not in out and "tok-3141" not in out


def test_spark_conf_masks_secret_looking_settings(capsys: CaptureFixture[str], monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("CAREPLUS_TEST_S3_SECRET", "s3cr3t-value")
    code = cli.main([
        "config", "--env", "test", "--spark-conf",
        "--set", 'spark.conf={"spark.hadoop.fs.s3a.secret.key": "${CAREPLUS_TEST_S3_SECRET}"}',
    ])
    out = capsys.readouterr().out
    assert code == 0
    assert "spark.hadoop.fs.s3a.secret.key=***" in out.splitlines()
    assert "s3cr3t-value" not in out
