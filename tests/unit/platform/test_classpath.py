"""A missing JVM class is one clear JarsError naming the class, its jar and each platform's remedy."""

from __future__ import annotations

from typing import Any

import pytest

from careplus_spark.errors import JarsError
from careplus_spark.platform import classpath
from careplus_spark.platform.classpath import missing_class_message, require_class

JAR = "sqlite-jdbc-3.50.3.0.jar"


class _JavaError(Exception):
    """Stands for py4j's Py4JJavaError: ``java_exception`` is the Java throwable."""

    def __init__(self, java_class: str, message: str) -> None:
        super().__init__(f"{java_class}: {message}")
        self.java_exception = _Throwable(java_class, message)


class _Throwable:
    def __init__(self, java_class: str, message: str) -> None:
        self.java_class, self.message = java_class, message

    def getClass(self) -> Any:
        return type("JavaClass", (), {"getName": lambda _self: self.java_class})()

    def getMessage(self) -> str:
        return self.message


class _Context:
    """A SparkContext stand-in (the cache's key)."""


class _Session:
    """A session whose JVM answers ``Utils.classForName`` with ``answer`` (a class name or an error)."""

    def __init__(self, answer: str | Exception) -> None:
        self.sparkContext = _Context()
        self.calls: list[tuple[str, bool, bool]] = []
        session = self

        class Utils:
            @staticmethod
            def classForName(name: str, initialize: bool, no_spark_class_loader: bool) -> str:
                session.calls.append((name, initialize, no_spark_class_loader))
                if isinstance(answer, Exception):
                    raise answer
                return answer

        self._jvm = type("Jvm", (), {})()
        self._jvm.org = type("Org", (), {})()
        self._jvm.org.apache = type("Apache", (), {})()
        self._jvm.org.apache.spark = type("Spark", (), {})()
        self._jvm.org.apache.spark.util = type("Util", (), {"Utils": Utils})()


def test_a_class_on_the_classpath_passes(spark: Any) -> None:
    classpath.forget(spark)
    require_class(spark, "org.sqlite.JDBC", jar=JAR, what="the JDBC driver")


def test_a_missing_class_names_the_class_the_jar_and_every_platform(spark: Any) -> None:
    with pytest.raises(JarsError) as caught:
        require_class(spark, "org.example.NoSuchDriver", jar="example-1.0.jar", what="the JDBC driver for jdbc:x:db")
    text = str(caught.value)
    assert caught.value.exit_code == 3
    assert text.startswith("the JDBC driver for jdbc:x:db is not on the Spark classpath: ")
    assert "class org.example.NoSuchDriver was not found by the driver's class loader, so the job stops" in text
    assert "It ships in example-1.0.jar." in text
    assert "local/standalone: run `careplus setup` once: it downloads example-1.0.jar into the jar cache" in text
    assert "EMR: `careplus deploy emr` passes it with --jars (by hand: spark-submit --jars s3://" in text
    assert text.endswith("Glue: `careplus deploy glue` sets the job argument --extra-jars s3://<bucket>/<prefix>/example-1.0.jar.")
    assert "\n" not in text


def test_the_probe_uses_sparks_class_loader_without_initialising() -> None:
    session = _Session("class org.sqlite.JDBC")
    require_class(session, "org.sqlite.JDBC", jar=JAR, what="the driver")  # type: ignore[arg-type]
    assert session.calls == [("org.sqlite.JDBC", False, False)]


def test_a_class_found_is_not_probed_again_in_the_same_context() -> None:
    session = _Session("class org.sqlite.JDBC")
    for _ in range(3):
        require_class(session, "org.sqlite.JDBC", jar=JAR, what="the driver")  # type: ignore[arg-type]
    assert len(session.calls) == 1
    other = _Session("class org.sqlite.JDBC")
    require_class(other, "org.sqlite.JDBC", jar=JAR, what="the driver")  # type: ignore[arg-type]
    assert len(other.calls) == 1


def test_a_missing_class_is_probed_again_each_time() -> None:
    session = _Session(_JavaError("java.lang.ClassNotFoundException", "org.x.Missing"))
    for _ in range(2):
        with pytest.raises(JarsError, match=r"class org\.x\.Missing was not found"):
            require_class(session, "org.x.Missing", jar="x.jar", what="x")  # type: ignore[arg-type]
    assert len(session.calls) == 2


def test_a_class_whose_parent_is_missing_says_so() -> None:
    session = _Session(_JavaError("java.lang.NoClassDefFoundError", "org/apache/spark/sql/sources/v2/Old"))
    with pytest.raises(JarsError, match=r"NoClassDefFoundError: org/apache/spark/sql/sources/v2/Old; is the jar built"):
        require_class(session, "com.careplus.logs.LogBlocksSource", jar="r.jar", what="the reader")  # type: ignore[arg-type]


def test_other_jvm_errors_are_not_taken_for_a_missing_jar() -> None:
    session = _Session(_JavaError("java.lang.SecurityException", "denied"))
    with pytest.raises(_JavaError, match="denied"):
        require_class(session, "org.x.Y", jar="x.jar", what="x")  # type: ignore[arg-type]


def test_a_session_without_a_local_jvm_is_not_probed() -> None:
    connect_like = type("ConnectSession", (), {})()
    require_class(connect_like, "org.x.Y", jar="x.jar", what="x")


def test_the_local_remedy_can_be_given() -> None:
    text = missing_class_message("a.B", "b-1.jar", "the reader", local_setup="`careplus setup` builds {jar}")
    assert "local/standalone: `careplus setup` builds b-1.jar; EMR:" in text
