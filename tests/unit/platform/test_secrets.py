"""The one redaction function, secret-looking names and credentials in URLs (issue 14, findings 2 and 3)."""

from __future__ import annotations

import logging

import pytest

from careplus_spark.errors import ConfigError
from careplus_spark.platform import secrets
from careplus_spark.platform.secrets import (
    Secret,
    looks_secret,
    redact,
    refuse_url_credentials,
    reveal_settings,
    setting_from_config,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jdbc:mysql://db:3306/x?user=app&password=hunter2&ssl=true", "jdbc:mysql://db:3306/x?user=app&password=***&ssl=true"),
        ("jdbc:sqlserver://db:1433;databaseName=x;password=hunter2", "jdbc:sqlserver://db:1433;databaseName=x;password=***"),
        ("jdbc:mysql://app:hunter2@db/x", "jdbc:mysql://app:***@db/x"),
        ("s3a://user:pa55word@bucket/logs", "s3a://user:***@bucket/logs"),
        ("PASSWORD = 'a b c' rejected", "PASSWORD = *** rejected"),
        ('{"secret_key": "abc", "region": "eu"}', '{"secret_key": ***, "region": "eu"}'),
        ("spark.hadoop.fs.s3a.secret.key=xyz123", "spark.hadoop.fs.s3a.secret.key=***"),
        ("spark.hadoop.fs.s3a.session.token=IQoJb3", "spark.hadoop.fs.s3a.session.token=***"),
        ("aws_access_key_id: AKIAABCDEFGHIJKLMNOP", "aws_access_key_id: ***"),
        ("key AKIAABCDEFGHIJKLMNOP used", "key *** used"),
        ("Authorization: Bearer abcdefgh12345678", "Authorization: Bearer ***"),
        ("token=t0k", "token=***"),
    ],
)
def test_redact_hides_secret_looking_values(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ResponseTime=1269ms | CPU=27.64% | EventType=password_reset",
        "no such table: support_tickets",
        "sources.tickets.password is not set: expected env:CAREPLUS_MYSQL_PASSWORD",
        "jdbc:mysql://db:3306/careplus?user=app",
        "spark.hadoop.fs.s3a.aws.credentials.provider=org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "s3a://bucket/lakehouse/bronze/tickets",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_masks_every_secret_value_read_so_far_even_without_a_telltale_name() -> None:
    value = "Zq9-known-" + "x7Wv/+1"
    Secret(value, "env:SOME_VAR")
    echoed = f"driver said: login as app with {value} failed; url-encoded: Zq9-known-x7Wv%2F%2B1"
    assert redact(echoed) == "driver said: login as app with *** failed; url-encoded: ***"


def test_a_secret_fetched_from_aws_is_masked_once_revealed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_fetch_aws_secret", lambda spec: "from-aws-" + spec.upper())
    secret = Secret(None, "aws-secretsmanager:careplus/db")
    assert "from-aws-CAREPLUS/DB" in redact("from-aws-CAREPLUS/DB")  # not known before it is read
    secret.reveal()
    assert redact("value from-aws-CAREPLUS/DB") == "value ***"


def test_short_values_are_not_masked_by_value() -> None:
    Secret("abc", "env:SHORT")
    assert redact("abc abcdef") == "abc abcdef"


def test_redact_tree_redacts_every_string_and_keeps_keys() -> None:
    tree = {"url": "jdbc:mysql://db/x?password=pw", "nested": [{"password": "*** (env:X)"}, 3], "n": None}
    assert secrets.redact_tree(tree) == {
        "url": "jdbc:mysql://db/x?password=***", "nested": [{"password": "*** (env:X)"}, 3], "n": None,
    }


def test_log_records_are_redacted_by_the_installed_filter() -> None:
    logger = logging.getLogger("careplus_spark.test_secrets")
    handler = logging.Handler()
    seen: list[str] = []
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        secrets.install_log_redaction(logger)
        secrets.install_log_redaction(logger)  # once only
        logger.warning("reading %s", "jdbc:mysql://app:pw-in-log@db/x")
    finally:
        logger.removeHandler(handler)
    assert seen == ["reading jdbc:mysql://app:***@db/x"]
    assert sum(isinstance(f, secrets.RedactingFilter) for f in handler.filters) == 1


def test_reading_a_secret_puts_redaction_on_the_root_loggers_handlers() -> None:
    root = logging.getLogger()
    handler = logging.NullHandler()
    root.addHandler(handler)
    try:
        assert not handler.filters
        Secret("read-from-env-9f2x", "env:VAR")
        assert [type(f) for f in handler.filters] == [secrets.RedactingFilter]
    finally:
        root.removeHandler(handler)


@pytest.mark.parametrize(
    "name",
    [
        "spark.hadoop.fs.s3a.secret.key", "spark.hadoop.fs.s3a.session.token", "spark.hadoop.fs.s3a.access.key",
        "password", "trustCertificateKeyStorePassword", "spark.authenticate.secret",
        "spark.hadoop.google.cloud.auth.service.account.json.keyfile.credentials",
        "fs.azure.account.key.PASSWD", "spark.hadoop.fs.s3a.encryption.key",
    ],
)
def test_secret_looking_names(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize(
    "name",
    [
        "spark.sql.shuffle.partitions", "spark.hadoop.fs.s3a.aws.credentials.provider",
        "spark.hadoop.hadoop.security.credential.provider.path", "spark.security.credentials.hive.enabled",
        "spark.authenticate.secret.file", "passwordCharacterEncoding", "connectTimeout",
    ],
)
def test_names_about_secrets_are_not_secrets(name: str) -> None:
    assert not looks_secret(name)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("jdbc:mysql://app:pw-9f2@db:3306/crm", "jdbc:mysql://app:***@db:3306/crm"),
        ("jdbc:mysql://app@db:3306/crm", "jdbc:mysql://app@db:3306/crm"),
        ("jdbc:mysql://db:3306/crm?user=app&password=pw-9f2", "jdbc:mysql://db:3306/crm?user=app&password=***"),
        ("jdbc:sqlserver://db;user=app;password=pw-9f2", "jdbc:sqlserver://db;user=app;password=***"),
        ("https://api.example.com/x?a=1&secret=pw-9f2", "https://api.example.com/x?a=1&secret=***"),
        ("s3a://AKIAABCDEFGHIJKLMNOP:pw-9f2@bucket/lake", "s3a://***:***@bucket/lake"),
    ],
)
def test_a_url_with_credentials_is_refused_showing_it_masked(url: str, shown: str) -> None:
    with pytest.raises(ConfigError) as info:
        refuse_url_credentials(url, "sources.tickets.url", "conf/dev.yaml")
    message = str(info.value)
    assert message.startswith("sources.tickets.url (set in conf/dev.yaml) holds credentials in a URL: ")
    assert shown in message
    assert "pw-9f2" not in message


@pytest.mark.parametrize(
    "url",
    [
        "jdbc:mysql://db:3306/crm?useSSL=true&connectTimeout=10000", "jdbc:sqlite:/data/tickets.db",
        "s3a://bucket/lakehouse", "file:///home/a@b/lake", "http://127.0.0.1:9000", "/data/me@home/logs",
        "spark.sql.shuffle.partitions", "jdbc:mysql://db/x?passwordCharacterEncoding=utf8",
    ],
)
def test_urls_without_credentials_pass(url: str) -> None:
    refuse_url_credentials(url, "k", "f")


def test_secret_setting_follows_the_password_rules() -> None:
    environ = {"S3_TOKEN": "tok-from-env-123"}
    assert setting_from_config("${S3_TOKEN}", "spark.conf.x.token", "f", environ) == "tok-from-env-123"
    assert setting_from_config("${NOPE:-}", "spark.conf.x.token", "f", environ) == ""
    reference = "aws-secretsmanager:s3#t"
    assert setting_from_config(reference, "spark.conf.x.token", "f", environ) == reference
    with pytest.raises(ConfigError, match=r"spark\.conf\.x\.token \(set in f\) holds a literal secret") as info:
        setting_from_config("tok-literal", "spark.conf.x.token", "f", environ)
    assert "tok-literal" not in str(info.value)
    with pytest.raises(ConfigError, match=r"literal default") as info:
        setting_from_config("${NOPE:-Hunter2Default}", "spark.conf.x.token", "f", environ)
    assert "Hunter2Default" not in str(info.value)


def test_reveal_settings_fetches_only_secret_aws_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_fetch_aws_secret", lambda spec: f"<{spec}>")
    settings = {"spark.x.token": "aws-secretsmanager:a#b", "spark.x.plain": "aws-secretsmanager:c", "k.password": "v"}
    assert reveal_settings(settings) == {"spark.x.token": "<a#b>", "spark.x.plain": "aws-secretsmanager:c",
                                         "k.password": "v"}
