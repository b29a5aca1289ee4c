"""JDBC URLs and driver messages go through the one redaction; secret options never join the URL."""

from __future__ import annotations

import pytest

from careplus_spark.errors import AuthenticationError, SourceUnavailableError
from careplus_spark.platform import secrets
from careplus_spark.platform.config import TicketsSourceConfig
from careplus_spark.platform.secrets import Secret
from careplus_spark.sources.jdbc import jdbc_options, safe_url, with_retries


def source(**options: str) -> TicketsSourceConfig:
    return TicketsSourceConfig(url="jdbc:mysql://db:3306/crm", table="support_tickets", user="app",
                               password=Secret.empty(), options=options)


def test_safe_url_drops_options_and_redacts() -> None:
    assert safe_url("jdbc:mysql://db:3306/crm?useSSL=true&password=x") == "jdbc:mysql://db:3306/crm"
    assert safe_url("jdbc:mysql://app:Pw-9f2x@db:3306/crm") == "jdbc:mysql://app:***@db:3306/crm"
    assert safe_url("jdbc:sqlserver://db;password=Pw-9f2x") == "jdbc:sqlserver://db;password=***"


def test_secret_looking_options_are_separate_options_never_in_the_url() -> None:
    options = jdbc_options(source(password="opt-Pw-9f2x", useSSL="true", trustCertificateKeyStorePassword="ks-pw-9f2x"),
                           dbtable="support_tickets")
    assert "opt-Pw-9f2x" not in options["url"] and "ks-pw-9f2x" not in options["url"]
    assert "useSSL=true" in options["url"]
    assert options["password"] == "opt-Pw-9f2x" and options["trustCertificateKeyStorePassword"] == "ks-pw-9f2x"


def test_a_secret_option_from_aws_is_fetched_when_the_options_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_fetch_aws_secret", lambda spec: f"fetched-{spec}")
    options = jdbc_options(source(sslKeyPassword="aws-secretsmanager:crm#key"), dbtable="t")
    assert options["sslKeyPassword"] == "fetched-crm#key"


def test_an_echoed_password_never_reaches_the_authentication_error() -> None:
    Secret("Echoed-Pw-9f2x", "env:DB_PASSWORD")  # the configured password, read from the environment

    def read() -> None:
        raise RuntimeError("An error occurred while calling o158.load.\n: java.sql.SQLException: Access denied for "
                           "user 'app'@'localhost' (using password: YES) with Echoed-Pw-9f2x "
                           "(jdbc:mysql://app:Echoed-Pw-9f2x@db/crm?password=Echoed-Pw-9f2x)\n\tat com.mysql.X.y")

    with pytest.raises(AuthenticationError) as info:
        with_retries(read, "JDBC source jdbc:mysql://db:3306/crm", attempts=3, backoff_s=0.0)
    assert "Echoed-Pw-9f2x" not in str(info.value)
    assert str(info.value).startswith(
        "JDBC source jdbc:mysql://db:3306/crm rejected the credentials: java.sql.SQLException: Access denied for "
        "user 'app'@'localhost' (using password: YES) with *** (jdbc:mysql://app:***@db/crm?password=***)"
    )


def test_an_unreachable_source_message_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    def read() -> None:
        raise RuntimeError("Communications link failure to jdbc:mysql://db/crm?password=Unreach-9f2x")

    with pytest.raises(SourceUnavailableError) as info:
        with_retries(read, "JDBC source jdbc:mysql://db:3306/crm", attempts=2, backoff_s=0.0)
    assert "Unreach-9f2x" not in str(info.value) and "password=***" in str(info.value)
    assert "Unreach-9f2x" not in caplog.text and "unreachable (attempt 1/2)" in caplog.text
