"""A job whose jar is missing stops with JarsError before reading any data, through the real JVM.

The shared session has every jar, so the missing class is a class name that does not exist,
passed through the same code the reader and the JDBC reads use: the reader's class
(``log_reader.SOURCE_CLASS``) or the configured driver (``sources.tickets.driver``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from careplus_spark.bronze import logs as bronze_logs
from careplus_spark.bronze import reconcile
from careplus_spark.bronze import tickets as bronze_tickets
from careplus_spark.errors import JarsError
from careplus_spark.lakehouse import catalog
from careplus_spark.lakehouse.run import RunContext
from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.jars import spark_line
from careplus_spark.sources import jdbc, log_reader
from careplus_spark.sources.tickets_extract import jdbc_query
from tests.log_reader_support import generate_log

NO_READER = "com.careplus.logs.NoSuchSource"
NO_DRIVER = "org.sqlite.NoSuchJDBC"


def test_the_reader_probe_names_the_reader_jar_and_how_to_build_it(spark: Any) -> None:
    with pytest.raises(JarsError) as caught:
        log_reader.require_reader(spark, NO_READER)
    jar = f"careplus-logreader-{spark_line()}.jar"
    text = str(caught.value)
    assert text.startswith("the JVM log reader (needed by ingest_logs) is not on the Spark classpath: ")
    assert f"class {NO_READER} was not found by the driver's class loader" in text
    assert f"It ships in {jar}." in text
    assert f"local/standalone: run `careplus setup` once: it builds {jar} with Maven" in text
    assert f"--extra-jars s3://<bucket>/<prefix>/{jar}" in text


def test_the_real_reader_passes_the_probe(spark: Any) -> None:
    log_reader.require_reader(spark)


def test_ingest_logs_without_the_reader_stops_before_reading(
    spark: Any, lakehouse: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app-2025-07-01.log").write_bytes(generate_log(20, seed=3))
    cfg = replace(lakehouse, sources=replace(lakehouse.sources, logs=replace(lakehouse.sources.logs, path=str(logs))))
    ctx = RunContext(cfg)
    monkeypatch.setattr(log_reader, "SOURCE_CLASS", NO_READER)
    with pytest.raises(JarsError, match=re.escape(f"class {NO_READER} was not found")):
        bronze_logs.ingest(spark, ctx)
    for table in (catalog.BRONZE_LOGS, catalog.LOG_FILES):
        assert not Path(ctx.ref(table).path).exists(), table


@pytest.fixture
def no_driver(lakehouse: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppConfig:
    """A SQLite source whose driver class is missing (named like a default driver, so its jar is known)."""
    monkeypatch.setitem(jdbc.DRIVER_ARTIFACTS, NO_DRIVER, "sqlite-jdbc")
    tickets = replace(lakehouse.sources.tickets, url=f"jdbc:sqlite:{tmp_path / 'tickets.db'}", driver=NO_DRIVER)
    return replace(lakehouse, sources=replace(lakehouse.sources, tickets=tickets))


def test_ingest_tickets_without_the_driver_stops_before_connecting(spark: Any, no_driver: AppConfig,
                                                                   tmp_path: Path) -> None:
    ctx = RunContext(no_driver)
    with pytest.raises(JarsError) as caught:
        bronze_tickets.ingest(spark, ctx)
    text = str(caught.value)
    assert text.startswith(f"the JDBC driver for jdbc:sqlite:{tmp_path / 'tickets.db'} is not on the Spark classpath")
    assert "It ships in sqlite-jdbc-3.50.3.0.jar." in text and "`careplus setup` once: it downloads" in text
    assert not (tmp_path / "tickets.db").exists()  # SQLite creates the file on connect: none was opened
    assert not Path(ctx.ref(catalog.BRONZE_TICKETS).path).exists()


def test_a_driver_side_query_checks_the_driver_first(spark: Any, no_driver: AppConfig, tmp_path: Path) -> None:
    with pytest.raises(JarsError, match=re.escape(f"class {NO_DRIVER} was not found")):
        jdbc_query(spark, no_driver.sources.tickets, "SELECT 1 AS one")
    assert not (tmp_path / "tickets.db").exists()


def test_a_read_outside_the_sources_layer_gets_the_same_error(spark: Any, no_driver: AppConfig, tmp_path: Path) -> None:
    """reconcile_tickets opens its key query itself: it checks the driver first, with the same error."""
    with pytest.raises(JarsError, match=r"^the JDBC driver for jdbc:sqlite:.* sqlite-jdbc-3\.50\.3\.0"):
        reconcile.source_keys(spark, no_driver.sources.tickets)
    assert not (tmp_path / "tickets.db").exists()
