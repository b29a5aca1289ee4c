"""A JVM class a job needs is checked before any data is read: missing, it is one clear error.

The jobs load classes of their own into the Spark driver: the log reader
(``com.careplus.logs.LogBlocksSource`` in ``careplus-logreader-<line>.jar``, for
``ingest_logs``) and the JDBC driver of the tickets URL (``com.mysql.cj.jdbc.Driver`` in
``mysql-connector-j-<version>.jar``, ``org.sqlite.JDBC`` in ``sqlite-jdbc-<version>.jar``, for
``ingest_tickets`` and ``reconcile_tickets``). Without its jar Spark fails deep inside a read,
with ``DATA_SOURCE_NOT_FOUND`` or a bare ``ClassNotFoundException``, and on Glue or EMR only
after the cluster started. :func:`require_class` asks the driver JVM first, with the class
loader Spark's own lookups use: ``org.apache.spark.util.Utils.classForName(name, initialize,
noSparkClassLoader)`` with ``noSparkClassLoader=false`` loads through the thread's context
class loader (else Spark's), where ``spark.jars``, ``spark-submit --jars`` and Glue's
``--extra-jars`` put their jars — the loader of ``DataSource.lookupDataSource`` and of the
JDBC ``DriverRegistry``. The signature ``(String, boolean, boolean)`` is the same in Spark 3.5
(``Utils`` itself) and 4.x (inherited from ``SparkClassUtils``); py4j cannot use Scala's
default arguments, so all three are passed. ``initialize=false``: the class is looked up, not
initialised (no driver registration, no static code runs).

A class found once is remembered per SparkContext, so later checks cost nothing; a missing
class is asked again each time (a jar may be added to a running session).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from careplus_spark.errors import JarsError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: What ``careplus setup`` does for a jar from Maven Central (the JDBC drivers).
SETUP_DOWNLOADS = (
    "run `careplus setup` once: it downloads {jar} into the jar cache (`spark.jars_dir`, "
    "default ~/.cache/careplus/jars), which the session builder puts on spark.jars"
)

#: Java exceptions meaning "this class cannot be loaded from the classpath".
_MISSING = ("java.lang.ClassNotFoundException", "java.lang.NoClassDefFoundError")

#: Classes found, per SparkContext (weakly held: a stopped and collected context drops its set).
_FOUND: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def missing_class_message(class_name: str, jar: str, what: str, local_setup: str = SETUP_DOWNLOADS) -> str:
    """The one-paragraph error of a class that is not on the classpath, with each platform's remedy.

    Args:
        class_name: the Java class, e.g. ``com.mysql.cj.jdbc.Driver``.
        jar: the file name of the jar that ships it, e.g. ``mysql-connector-j-9.5.0.jar``.
        what: what the class is, for the reader of the message (``the JVM log reader``).
        local_setup: how a local or standalone run gets the jar; ``{jar}`` is replaced.

    Example:
        >>> missing_class_message("org.sqlite.JDBC", "sqlite-jdbc-3.50.3.0.jar", "the JDBC driver")[:72]
        'the JDBC driver is not on the Spark classpath: class org.sqlite.JDBC was'
    """
    return (
        f"{what} is not on the Spark classpath: class {class_name} was not found by the driver's "
        f"class loader, so the job stops before reading any data. It ships in {jar}. Provide the jar "
        f"when the job starts: local/standalone: {local_setup.format(jar=jar)}; EMR: `careplus deploy emr` "
        f"passes it with --jars (by hand: spark-submit --jars s3://<bucket>/<prefix>/{jar} ...); "
        f"Glue: `careplus deploy glue` sets the job argument --extra-jars s3://<bucket>/<prefix>/{jar}."
    )


def require_class(
    spark: SparkSession, class_name: str, *, jar: str, what: str, local_setup: str = SETUP_DOWNLOADS
) -> None:
    """Fails unless the Spark driver can load ``class_name``; free after the first success.

    A Spark Connect session (no JVM gateway in this process) is not checked: the server's
    classpath is not this process's to probe, and Spark's own error stands.

    Example:
        >>> require_class(spark, "org.sqlite.JDBC", jar="sqlite-jdbc-3.50.3.0.jar",
        ...               what="the JDBC driver of jdbc:sqlite:tickets.db")  # doctest: +SKIP

    Args:
        spark: the session whose driver JVM is asked.
        class_name: the Java class.
        jar: the jar file name that ships it (for the message).
        what: what the class is (for the message).
        local_setup: how a local or standalone run gets the jar (for the message; ``{jar}``).

    Raises:
        JarsError: the class (or a class it extends) cannot be loaded; the message names the
            class, the jar and how to provide it on each platform.
    """
    jvm: Any = getattr(spark, "_jvm", None)
    if jvm is None:
        return
    context = spark.sparkContext
    found = _FOUND.setdefault(context, set())
    if class_name in found:
        return
    try:
        jvm.org.apache.spark.util.Utils.classForName(class_name, False, False)
    except Exception as exc:  # py4j's Py4JJavaError; its Java class says whether the class is missing
        java: Any = getattr(exc, "java_exception", None)
        kind = str(java.getClass().getName()) if java is not None else ""
        if kind not in _MISSING:
            raise
        message = missing_class_message(class_name, jar, what, local_setup)
        if kind != _MISSING[0]:  # the class is there, but not a class it needs
            message += f" (The JVM says: {kind}: {java.getMessage()}; is the jar built for this Spark line?)"
        raise JarsError(message) from None
    found.add(class_name)


def forget(spark: SparkSession) -> None:
    """Forgets the classes found for ``spark``'s context (the next check probes again; for tests)."""
    _FOUND.pop(spark.sparkContext, None)
