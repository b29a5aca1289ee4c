"""Spark's JDBC source with explicit options, bounded retries and clear errors.

One builder, :func:`jdbc_options`, turns the tickets source configuration into the
option map of ``spark.read.format("jdbc")``; the password is added only when the
read starts and is never logged. :func:`read_jdbc` retries transient connection
failures with backoff and fails at once on rejected credentials.

Before the first read or connection, :func:`require_driver` checks that the driver class
of the options loads in the Spark driver (once per SparkContext): a missing driver jar is
a :class:`~careplus_spark.errors.JarsError` naming the class, the jar and how to provide it,
not a ``ClassNotFoundException`` from inside Spark. A read that skipped the check still
gets the same error from :func:`with_retries`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from careplus_spark.errors import (
    AuthenticationError,
    ConfigError,
    JarsError,
    SourceUnavailableError,
)
from careplus_spark.platform import classpath, jars, secrets
from careplus_spark.platform.config import TicketsSourceConfig

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)
T = TypeVar("T")

DRIVERS = {"mysql": "com.mysql.cj.jdbc.Driver", "mariadb": "com.mysql.cj.jdbc.Driver", "sqlite": "org.sqlite.JDBC"}

#: The Maven artifact (in :data:`careplus_spark.platform.jars.JARS`) of each default driver.
DRIVER_ARTIFACTS = {"com.mysql.cj.jdbc.Driver": "mysql-connector-j", "org.sqlite.JDBC": "sqlite-jdbc"}

#: How a local or standalone run gets a driver that is not one of :data:`DRIVER_ARTIFACTS`.
_CUSTOM_DRIVER_SETUP = (
    "put {jar} on spark.jars (`careplus setup` downloads only the MySQL and SQLite drivers, "
    "and the session builder adds only those)"
)
_CLASS_NOT_FOUND = re.compile(r"ClassNotFoundException: ([\w.$]+)")

#: A source table that is not there (SQLite, MySQL/MariaDB wordings): no retry, a clear error.
_MISSING_TABLE_PATTERNS = re.compile(
    r"no such table: [^\s)|]+|Table '[^']+' doesn't exist|Unknown table '[^']+'", re.IGNORECASE
)
_AUTH_PATTERNS = re.compile(r"Access denied|authentication|password", re.IGNORECASE)
_UNREACHABLE_PATTERNS = re.compile(
    r"Communications link failure|Connection refused|UnknownHost|connect timed out|No route|"
    r"Unable to open database|SQLITE_CANTOPEN|Socket|EOFException|closed|Unknown database",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class JdbcPartitioning:
    """Spark's partitioned read: all four options together (bounds set the stride)."""

    column: str
    lower: str
    upper: str
    num_partitions: int


def dialect(url: str) -> str:
    """The sub-protocol of a JDBC URL (``mysql``, ``sqlite``, ...)."""
    match = re.match(r"jdbc:([a-z0-9]+):", url)
    if not match:
        raise ConfigError(
            f"sources.tickets.url must be a JDBC URL like jdbc:mysql://host:3306/db, found {secrets.redact(url)!r}"
        )
    return match.group(1)


def safe_url(url: str) -> str:
    """The URL for messages and lineage: without its query options, through :func:`secrets.redact`.

    Example:
        >>> safe_url("jdbc:mysql://db:3306/crm?connectTimeout=10000")
        'jdbc:mysql://db:3306/crm'
    """
    return secrets.redact(url.split("?", 1)[0])


def jdbc_options(
    source: TicketsSourceConfig,
    *,
    dbtable: str | None = None,
    query: str | None = None,
    partitioning: JdbcPartitioning | None = None,
) -> dict[str, str]:
    """Options for ``spark.read.format("jdbc")``, without the password.

    ``sources.tickets.options`` go into the URL, except those whose name looks secret
    (:func:`~careplus_spark.platform.secrets.looks_secret`): they are separate options (Spark
    passes them to the driver as connection properties and redacts them in plans), never
    part of the URL that messages, plans and lineage show.

    Exactly one of ``dbtable``/``query``; ``query`` cannot be partitioned (Spark's rule),
    so pass a sub-query with an alias as ``dbtable`` instead.

    Raises:
        ConfigError: both or neither of dbtable/query, or query with partitioning.
    """
    if (dbtable is None) == (query is None):
        raise ConfigError("a JDBC read needs exactly one of dbtable or query")
    if query is not None and partitioning is not None:
        raise ConfigError("a JDBC query cannot be partitioned: use a dbtable sub-query with an alias")
    kind = dialect(source.url)
    options = {
        "url": _url_with_options(source.url, kind, source),
        "driver": source.driver or DRIVERS.get(kind, ""),
        "fetchsize": str(fetch_size(source, kind)),
    }
    if not options["driver"]:
        raise ConfigError(f"sources.tickets.driver is required for JDBC sub-protocol {kind!r}")
    options["dbtable" if dbtable is not None else "query"] = dbtable if dbtable is not None else str(query)
    if source.user:
        options["user"] = source.user
    options.update({k: secrets.reveal_setting(v) for k, v in source.options.items() if secrets.looks_secret(k)})
    if partitioning is not None:
        options.update(
            {
                "partitionColumn": partitioning.column,
                "lowerBound": partitioning.lower,
                "upperBound": partitioning.upper,
                "numPartitions": str(partitioning.num_partitions),
            }
        )
    return options


#: Connector/J's marker fetch size for a streaming result set (rows read one by one).
STREAMING_FETCH_SIZE = -(2**31)


def fetch_size(source: TicketsSourceConfig, kind: str) -> int:
    """The JDBC fetch size: MySQL/MariaDB stream rows unless ``useCursorFetch`` is on.

    Connector/J either buffers a whole result, fetches it through a server-side cursor
    (``useCursorFetch=true`` and a positive fetch size: the server first materialises
    the whole result in a temporary table) or streams it (fetch size
    ``Integer.MIN_VALUE``: rows arrive as the server produces them, constant memory).
    Streaming is the default here: measured on a 1M-row read, it takes about 60 % of
    the cursor fetch's wall time and half the server's CPU. ``options.useCursorFetch:
    "true"`` restores the cursor fetch with ``fetch_size`` rows per round trip.
    """
    if kind in ("mysql", "mariadb") and str(source.options.get("useCursorFetch", "false")).lower() != "true":
        return STREAMING_FETCH_SIZE
    return source.fetch_size


def _url_with_options(url: str, kind: str, source: TicketsSourceConfig) -> str:
    extra: dict[str, str] = {}
    if kind in ("mysql", "mariadb"):
        extra["connectTimeout"] = str(source.connect_timeout_s * 1000)
        extra["socketTimeout"] = str(max(source.connect_timeout_s * 1000 * 30, 300_000))
    extra.update({k: v for k, v in source.options.items() if not secrets.looks_secret(k)})
    if not extra or kind == "sqlite":
        return url
    separator = "&" if "?" in url else "?"
    return url + separator + urlencode(extra)


def driver_jar(driver: str) -> str:
    """The jar file that ships a JDBC driver class (``mysql-connector-j-9.5.0.jar``; a placeholder for
    a driver of ``sources.tickets.driver`` that ``careplus setup`` does not download).

    Example:
        >>> driver_jar("org.sqlite.JDBC")
        'sqlite-jdbc-3.50.3.0.jar'
    """
    artifact = DRIVER_ARTIFACTS.get(driver)
    pinned = [a.file_name for line in jars.JARS.values() for a in line if artifact is not None and a.name == artifact]
    return pinned[0] if pinned else f"<the jar of {driver}>"


def missing_driver_message(driver: str, source: str) -> str:
    """The error of a JDBC driver class that is not on the classpath (``source`` names the source)."""
    return classpath.missing_class_message(driver, driver_jar(driver), f"the JDBC driver for {source}", _setup(driver))


def require_driver(spark: SparkSession, options: Mapping[str, str]) -> None:
    """Fails before any connection unless the driver class of ``options`` loads in the Spark driver.

    Probes the class loader of Spark's JDBC ``DriverRegistry``; a class found is remembered
    per SparkContext, so only the first read of a session pays for it (a few milliseconds).

    Example:
        >>> require_driver(spark, jdbc_options(cfg.sources.tickets, dbtable="support_tickets"))  # doctest: +SKIP

    Raises:
        JarsError: the driver class cannot be loaded; the message names it, its jar and how
            to provide the jar locally, on EMR and on Glue.
    """
    driver, url = options["driver"], options["url"]
    classpath.require_class(
        spark, driver, jar=driver_jar(driver), what=f"the JDBC driver for {safe_url(url)}", local_setup=_setup(driver)
    )


def _setup(driver: str) -> str:
    return classpath.SETUP_DOWNLOADS if driver in DRIVER_ARTIFACTS else _CUSTOM_DRIVER_SETUP


def read_jdbc(spark: SparkSession, source: TicketsSourceConfig, options: Mapping[str, str]) -> DataFrame:
    """Opens a JDBC DataFrame (the schema is read at once, the rows lazily).

    Raises:
        JarsError: the driver's jar is not on the classpath (nothing was read).
        AuthenticationError: the server rejected the credentials (no retry).
        SourceUnavailableError: the server could not be reached.
    """
    require_driver(spark, options)
    full = dict(options)
    if source.password.is_set():
        full["password"] = source.password.reveal()
    return with_retries(lambda: spark.read.format("jdbc").options(**full).load(), f"JDBC source {safe_url(source.url)}")


def query_rows(spark: SparkSession, options: Mapping[str, str]) -> list[dict[str, str | None]]:
    """Runs a small ``query`` on one driver-side JDBC connection; every value as text.

    The connection comes from Spark's own JDBC dialect and options (the same driver
    registry, URL options and connection providers as a ``spark.read.jdbc``), but no
    Spark job is planned, compiled or scheduled: for the planning queries of an
    extraction that is most of their cost. Use it for results of a few rows only.

    Example:
        >>> query_rows(spark, {**jdbc_options(source, query="SELECT 1 AS one"), "password": "…"})  # doctest: +SKIP
        [{'one': '1'}]

    Raises:
        JarsError: the driver's jar is not on the classpath (no connection was opened).
    """
    require_driver(spark, options)
    jvm: Any = spark._jvm
    jdbc = jvm.org.apache.spark.sql.execution.datasources.jdbc
    parameters = jvm.org.apache.spark.api.python.PythonUtils.toScalaMap(dict(options))
    jdbc_options_ = jdbc.JDBCOptions(parameters)
    factory = jvm.org.apache.spark.sql.jdbc.JdbcDialects.get(jdbc_options_.url()).createConnectionFactory(jdbc_options_)
    connection = factory.apply(-1)
    try:
        statement = connection.prepareStatement(options["query"])
        statement.setQueryTimeout(jdbc_options_.queryTimeout())
        result = statement.executeQuery()
        meta = result.getMetaData()
        names = [meta.getColumnLabel(i) for i in range(1, meta.getColumnCount() + 1)]
        rows = []
        while result.next():
            rows.append({name: result.getString(i) for i, name in enumerate(names, start=1)})
        return rows
    finally:
        connection.close()


def with_retries(action: Callable[[], T], what: str, attempts: int = 3, backoff_s: float = 1.0) -> T:
    """Runs ``action``, retrying transient connection failures with exponential backoff.

    Raises:
        JarsError: at once when a default JDBC driver class (:data:`DRIVER_ARTIFACTS`) is
            missing from the classpath (a read that skipped :func:`require_driver`).
        AuthenticationError: at the first credentials rejection.
        SourceUnavailableError: at once when the source table does not exist.
        SourceUnavailableError: when every attempt failed to connect.
    """
    what = secrets.redact(what)
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:
            text = _java_message(exc)
            missing_class = _CLASS_NOT_FOUND.search(text)
            if missing_class and missing_class.group(1) in DRIVER_ARTIFACTS:
                raise JarsError(missing_driver_message(missing_class.group(1), f"the {what}")) from None
            if _AUTH_PATTERNS.search(text) and "Access denied" in text:
                raise AuthenticationError(
                    f"{what} rejected the credentials: {_first_line(text, 'Access denied')}"
                ) from None
            missing = _MISSING_TABLE_PATTERNS.search(text)
            if missing:
                raise SourceUnavailableError(
                    f"{what}: the source table does not exist ({missing.group(0)}); check sources.tickets.table"
                ) from None
            if not _UNREACHABLE_PATTERNS.search(text):
                raise
            last = exc
            log.warning("%s unreachable (attempt %d/%d): %s", what, attempt, attempts, _first_line(text))
            if attempt < attempts:
                time.sleep(backoff_s * 2 ** (attempt - 1))
    raise SourceUnavailableError(f"{what} is unreachable after {attempts} attempts: {_first_line(_java_message(last))}")


def _java_message(exc: BaseException | None) -> str:
    parts = []
    while exc is not None:
        parts.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return " | ".join(parts)


def _first_line(text: str, containing: str = "") -> str:
    """The first line of a driver's message (holding ``containing``) that is not a stack frame, redacted
    (drivers may echo URLs)."""
    for line in text.splitlines():
        stripped = line.strip().removeprefix(": ")  # py4j puts the Java exception after ": "
        if stripped and not stripped.startswith("at ") and containing in stripped:
            return secrets.redact(stripped)[:300]
    return secrets.redact(text[:300])
