"""The JDBC driver's jar: named in the error, checked before a connection, translated when Spark finds it missing."""

from __future__ import annotations

from typing import Any

import pytest

from careplus_spark.errors import JarsError
from careplus_spark.sources import jdbc
from careplus_spark.sources.jdbc import driver_jar, require_driver, with_retries

SPARK_ERROR = (
    "An error occurred while calling o105.load.\n: java.lang.ClassNotFoundException: {cls}\n"
    "\tat java.base/java.net.URLClassLoader.findClass(URLClassLoader.java:445)\n"
    "\tat org.apache.spark.sql.execution.datasources.jdbc.DriverRegistry$.register(DriverRegistry.scala:47)"
)


@pytest.mark.parametrize(("driver", "jar"), [
    ("com.mysql.cj.jdbc.Driver", "mysql-connector-j-9.5.0.jar"),
    ("org.sqlite.JDBC", "sqlite-jdbc-3.50.3.0.jar"),
])
def test_the_default_drivers_name_their_pinned_jar(driver: str, jar: str) -> None:
    assert driver_jar(driver) == jar


def test_a_configured_driver_is_named_by_its_class() -> None:
    assert driver_jar("org.mariadb.jdbc.Driver") == "<the jar of org.mariadb.jdbc.Driver>"


def test_require_driver_probes_the_options_driver_and_hides_url_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, ...]] = []
    monkeypatch.setattr(jdbc.classpath, "require_class", lambda spark, cls, **kw: seen.append((cls, kw)))
    options = {"url": "jdbc:mysql://db:3306/careplus?password=hunter2", "driver": "com.mysql.cj.jdbc.Driver"}
    require_driver(object(), options)  # type: ignore[arg-type]
    (cls, kw), = seen
    assert cls == "com.mysql.cj.jdbc.Driver"
    assert kw["jar"] == "mysql-connector-j-9.5.0.jar"
    assert kw["what"] == "the JDBC driver for jdbc:mysql://db:3306/careplus"
    assert "careplus setup" in kw["local_setup"]


def test_a_missing_default_driver_in_a_read_is_a_jars_error_at_once() -> None:
    calls = []

    def read() -> None:
        calls.append(1)
        raise RuntimeError(SPARK_ERROR.format(cls="com.mysql.cj.jdbc.Driver"))

    with pytest.raises(JarsError) as caught:
        with_retries(read, "JDBC source jdbc:mysql://db:3306/careplus", attempts=3, backoff_s=0.0)
    assert calls == [1]
    text = str(caught.value)
    assert text.startswith("the JDBC driver for the JDBC source jdbc:mysql://db:3306/careplus is not on the Spark")
    assert "mysql-connector-j-9.5.0.jar" in text and "--extra-jars" in text


def test_other_missing_classes_pass_through() -> None:
    def read() -> None:
        raise RuntimeError(SPARK_ERROR.format(cls="org.example.Other"))

    with pytest.raises(RuntimeError, match=r"org\.example\.Other"):
        with_retries(read, "JDBC source jdbc:x:y", attempts=1, backoff_s=0.0)
