"""Registering Delta locations in Spark's catalog by name, without SQL text.

Names are checked against :data:`NAME_PATTERN` and backquoted; locations are passed to
Delta's table builder as values. Neither can change the meaning of a statement, whatever
a folder under the lakehouse root is called.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from careplus_spark.errors import ConfigError
from careplus_spark.lakehouse import delta

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: A catalog name (database or table) this package registers: letters, digits and ``_``.
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
#: How long a caller waits for the catalog attached in the background (the metastore's start).
ATTACH_WAIT_S = 600.0


class _Attaching:
    """The catalog work started in the background by :func:`in_background`, until it is waited for."""

    def __init__(self, work: Callable[[], object]) -> None:
        self.error: BaseException | None = None
        self._work = work
        self.thread = threading.Thread(target=self._run, name="careplus-catalog-attach", daemon=True)

    def _run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # noqa: BLE001 - re-raised by wait_attached in the caller's thread
            self.error = exc


_attaching: _Attaching | None = None
_attaching_lock = threading.Lock()


def in_background(work: Callable[[], object]) -> None:
    """Runs ``work`` (creating the databases, registering tables) on a thread of its own.

    Starting the metastore (Hive's client, Derby locally) takes 3-5 s; the run's first
    steps read and write by path meanwhile. Whatever needs names first calls
    :func:`wait_attached` (registering a table, creating views, the end of a run).
    """
    global _attaching
    with _attaching_lock:
        wait_attached()
        _attaching = _Attaching(work)
        _attaching.thread.start()


def wait_attached(timeout_s: float = ATTACH_WAIT_S) -> None:
    """Returns once the background catalog work is done; raises its error (once) if it failed.

    Raises:
        TimeoutError: still running after ``timeout_s``.
    """
    global _attaching
    pending = _attaching
    if pending is None or pending.thread is threading.current_thread():
        return
    pending.thread.join(timeout_s)
    if pending.thread.is_alive():
        raise TimeoutError(f"the catalog (databases and tables by name) was not ready after {timeout_s:.0f} s")
    _attaching = None
    if pending.error is not None:
        raise pending.error


def check_name(name: str, what: str = "table name") -> str:
    """``name`` when it may be registered in the catalog (:data:`NAME_PATTERN`).

    Example:
        >>> check_name("fct_tickets")
        'fct_tickets'

    Raises:
        ConfigError: the name holds anything but letters, digits and ``_`` (or starts with a digit).
    """
    if not NAME_PATTERN.fullmatch(name):
        raise ConfigError(f"cannot register the {what} {name!r} in the catalog: only letters, digits and _ "
                          f"are allowed (pattern {NAME_PATTERN.pattern})")
    return name


def register_location(spark: SparkSession, database: str, name: str, path: str) -> None:
    """Registers the Delta table at ``path`` as ``database.name`` unless that name exists.

    Through Delta's table builder (``createIfNotExists``): the name is checked and
    backquoted, the location is a value. The Delta table gets no new commit.

    Raises:
        ConfigError: the database or table name is not a valid catalog name (:func:`check_name`).
    """
    from delta.tables import DeltaTable

    wait_attached()
    qualified = f"`{check_name(database, 'database name')}`.`{check_name(name)}`"
    DeltaTable.createIfNotExists(spark).tableName(qualified).location(path).execute()


#: What a location written into ``CREATE DATABASE ... LOCATION '...'`` may not hold.
_UNSAFE_LOCATION = re.compile(r"['\\\x00-\x1f\x7f]")


def create_database(spark: SparkSession, database: str, location: str) -> None:
    """``CREATE DATABASE IF NOT EXISTS`` with a location, the one DDL without an API or a parameter.

    Spark takes no parameter marker in ``LOCATION`` and PySpark has no catalog call that creates
    a database, so the statement is text, safe by refusal: the name must match
    :data:`NAME_PATTERN` (and is backquoted); a location holding a quote, a backslash or a
    control character is refused (``lakehouse.root`` is checked for them at config load).

    Raises:
        ConfigError: an invalid database name or location.
    """
    if _UNSAFE_LOCATION.search(location):
        raise ConfigError(f"cannot create database {database!r} at {location!r}: the location holds a quote, "
                          "a backslash or a control character (check lakehouse.root)")
    name = check_name(database, "database name")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS `{name}` LOCATION '{location}'")


def register_existing(spark: SparkSession, root: str, databases: Sequence[str]) -> list[str]:
    """Registers every Delta table found under ``<root>/<database>/`` that the catalog lacks.

    A new metastore (another Spark line, a fresh machine, the Glue catalog) thus sees the
    lakehouse's tables by name without waiting for a run that writes them. A folder whose
    name is not a valid table name (:data:`NAME_PATTERN`) is skipped with a warning.

    Returns:
        The qualified names registered by this call.
    """
    wait_attached()
    jvm: Any = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    registered: list[str] = []
    for database in databases:
        folder = jvm.org.apache.hadoop.fs.Path(f"{root}/{database}")
        try:
            fs = folder.getFileSystem(conf)
            if not fs.exists(folder):
                continue
            children = [s.getPath().getName() for s in fs.listStatus(folder) if s.isDirectory()]
        except Exception:  # noqa: BLE001 - an unreachable root is reported by the step that needs it
            return registered
        for name in sorted(children):
            if name.startswith(("_", ".")):
                continue
            if not NAME_PATTERN.fullmatch(name):
                log.warning("not registering %s/%s: %r is not a valid table name", database, name, name)
                continue
            path = f"{root}/{database}/{name}"
            if spark.catalog.tableExists(f"{database}.{name}") or not delta.is_delta(spark, path):
                continue
            register_location(spark, database, name, path)
            registered.append(f"{database}.{name}")
    return registered
