"""sink_for_url / parse_mysql_url: the sink a JDBC URL names, and errors that keep secrets out."""

from __future__ import annotations

from pathlib import Path

import pytest

from careplus_spark.errors import ConfigError, SourceUnavailableError
from careplus_spark.synthetic import GenerateSpec, generate, parse_mysql_url, sink_for_url
from tests.synthetic_support import rows


def test_sink_for_url_sqlite_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with sink_for_url("jdbc:sqlite:./src/t.db?journal_mode=WAL", "", "") as sink:
        generate(GenerateSpec(days=1, tickets_per_day=3), sink, None)
    assert len(rows(tmp_path / "src" / "t.db")) == 3


def test_sink_for_url_rejects_unknown_urls_without_leaking_options() -> None:
    with pytest.raises(ConfigError, match="jdbc:postgresql") as info:
        sink_for_url("jdbc:postgresql://h/db?password=hunter2", "u", "hunter2")
    assert "hunter2" not in str(info.value)


def test_a_mysql_url_without_database_is_refused() -> None:
    with pytest.raises(ConfigError, match="database"):
        parse_mysql_url("jdbc:mysql://db.example:3307/")


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("jdbc:mysql://db.example:3307/careplus?useSSL=false", ("db.example", 3307, "careplus")),
        ("jdbc:mariadb://db.example/careplus", ("db.example", 3306, "careplus")),
    ],
)
def test_mysql_urls_give_host_port_and_database(url: str, parts: tuple[str, int, str]) -> None:
    assert parse_mysql_url(url) == parts


def test_an_unreachable_mysql_raises_source_unavailable_without_password() -> None:
    with pytest.raises(SourceUnavailableError, match=r"127\.0\.0\.1:1/careplus") as info:
        sink_for_url("jdbc:mysql://127.0.0.1:1/careplus", "root", "S3cr3t-pw")
    assert "S3cr3t-pw" not in str(info.value) and info.value.__cause__ is None


def test_an_sqlite_path_under_a_file_raises_source_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SourceUnavailableError, match=r"file/t\.db"):
        sink_for_url(f"jdbc:sqlite:{blocker}/t.db", "", "")
