"""``support_tickets`` in MySQL / MariaDB through pymysql (utf8mb4, batched commits)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from careplus_spark.errors import AuthenticationError, SourceUnavailableError
from careplus_spark.synthetic.sinks import DEFAULT_TABLE, SqlTicketSink, check_identifier

_ACCESS_DENIED = {1044, 1045, 1698}
_UNKNOWN_DATABASE = 1049
_CONNECT_TIMEOUT_S = 10

_MYSQL_COLUMNS = """(
    ticket_id VARCHAR(32) NOT NULL,
    created_at VARCHAR(64),
    updated_at DATETIME(6) NOT NULL,
    resolved_at VARCHAR(64) NULL,
    agent VARCHAR(64),
    priority VARCHAR(32),
    num_interactions VARCHAR(32),
    IssUeCat VARCHAR(64),
    channel VARCHAR(32),
    status VARCHAR(32),
    agent_feedback TEXT,
    PRIMARY KEY (ticket_id),
    KEY idx_{table}_updated_at (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"""


class MySqlSink(SqlTicketSink):
    """``support_tickets`` in a MySQL-compatible server.

    Inserts go through ``executemany`` (which pymysql sends as multi-row INSERTs) and
    are committed every COMMIT_BATCH rows. The password is kept only by the driver.
    """

    placeholder = "%s"

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        database: str,
        table: str = DEFAULT_TABLE,
        create_database: bool = True,
    ) -> None:
        """Connect, creating ``database`` first if it is missing and ``create_database``.

        Raises:
            AuthenticationError: The server rejected the credentials.
            SourceUnavailableError: The server cannot be reached or used.
        """
        super().__init__(table)
        self.where = f"{host}:{port}/{check_identifier(database, 'database')}"
        try:
            self._conn = _connect(host, port, user, password, database)
        except _UnknownDatabase:
            if not create_database:
                raise SourceUnavailableError(
                    f"MySQL database {self.where} does not exist"
                ) from None
            self._conn = _create_database(host, port, user, password, database, self.where)

    def _ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table} {_MYSQL_COLUMNS.format(table=self.table)}"
        ]

    def _executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> int:
        with self._conn.cursor() as cursor:
            count = cursor.executemany(sql, params) or 0
        self._conn.commit()
        return int(count)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cursor:
            cursor.execute(sql, tuple(params) or None)
            rows = cursor.fetchall()
        self._conn.commit()
        return [tuple(r) for r in rows]

    def close(self) -> None:
        """Close the connection (ignoring a connection that is already gone)."""
        import pymysql

        with contextlib.suppress(pymysql.err.Error):
            self._conn.close()


class _UnknownDatabase(Exception):
    """The server is reachable but the database does not exist."""


def _connect(host: str, port: int, user: str, password: str, database: str | None) -> Any:
    import pymysql

    where = f"{host}:{port}/{database or ''}"
    try:
        return pymysql.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            database=database,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=_CONNECT_TIMEOUT_S,
        )
    except pymysql.err.OperationalError as exc:
        code = exc.args[0] if exc.args else None
        if code == _UNKNOWN_DATABASE:
            raise _UnknownDatabase() from None
        message = _scrub(str(exc.args[-1]) if exc.args else type(exc).__name__, password)
        if code in _ACCESS_DENIED:
            raise AuthenticationError(
                f"MySQL at {where} rejected user {user!r}: {message}"
            ) from None
        raise SourceUnavailableError(f"cannot connect to MySQL at {where}: {message}") from None
    except (pymysql.err.Error, OSError) as exc:
        message = _scrub(str(exc), password)
        raise SourceUnavailableError(f"cannot connect to MySQL at {where}: {message}") from None


def _create_database(
    host: str, port: int, user: str, password: str, database: str, where: str
) -> Any:
    import pymysql

    conn = _connect(host, port, user, password, None)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS `{database}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        conn.select_db(database)
    except pymysql.err.Error as exc:
        conn.close()
        raise SourceUnavailableError(f"cannot create MySQL database {where}: {exc}") from None
    return conn


def _scrub(message: str, password: str) -> str:
    """Remove the password from a driver message, should a driver ever echo it."""
    return message.replace(password, "***") if password else message
