"""Where generated tickets go: the ``TicketSink`` protocol and the SQLite sink.

SQL is shared by both backends through :class:`SqlTicketSink`; the MySQL sink lives in
:mod:`careplus_spark.synthetic.mysql_sink`, the factory choosing one by URL in
:mod:`careplus_spark.synthetic.connect`.
"""

from __future__ import annotations

import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from careplus_spark.errors import ConfigError, SourceUnavailableError
from careplus_spark.sources.tickets_schema import TICKET_COLUMNS
from careplus_spark.synthetic.tickets import TicketRow, TicketUpdate

DEFAULT_TABLE = "support_tickets"
COMMIT_BATCH = 5_000
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

_SQLITE_COLUMNS = """(
    ticket_id VARCHAR(32) PRIMARY KEY,
    created_at VARCHAR(64),
    updated_at TEXT NOT NULL,
    resolved_at VARCHAR(64) NULL,
    agent VARCHAR(64),
    priority VARCHAR(32),
    num_interactions VARCHAR(32),
    IssUeCat VARCHAR(64),
    channel VARCHAR(32),
    status VARCHAR(32),
    agent_feedback TEXT
)"""


class TicketSink(Protocol):
    """A writable ``support_tickets`` table."""

    def create_schema(self, drop: bool) -> None:
        """Create the table and its updated_at index; drop it first when ``drop``."""

    def insert(self, rows: Sequence[TicketRow]) -> None:
        """Insert new rows (TICKET_COLUMNS order), committing every COMMIT_BATCH rows."""

    def update(self, rows: Sequence[TicketUpdate]) -> None:
        """Set resolved_at, status, updated_at of existing tickets."""

    def delete(self, ticket_ids: Sequence[str]) -> int:
        """Delete tickets by id and return how many rows were deleted."""

    def open_tickets(
        self, before_id: str, after_id: str, limit: int
    ) -> list[tuple[str, str | None]]:
        """Return up to ``limit`` (ticket_id, created_at) of open tickets, by ticket_id.

        Only ids in the open interval (``after_id``, ``before_id``) are returned, so
        callers page with the last id of the previous page.
        """

    def count_tickets(self, before_id: str) -> int:
        """Return the number of tickets whose id sorts before ``before_id``."""

    def ticket_ids_at(self, before_id: str, offsets: Sequence[int]) -> list[str]:
        """Return the ids at ``offsets`` in id order among ids before ``before_id``."""

    def close(self) -> None:
        """Release the connection."""


def check_identifier(name: str, what: str = "table") -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise ConfigError."""
    if not _IDENTIFIER.match(name):
        raise ConfigError(f"{what} name must match {_IDENTIFIER.pattern}, got {name!r}")
    return name


class SqlTicketSink(ABC):
    """SQL shared by the SQLite and MySQL sinks; subclasses bring the connection."""

    placeholder = "?"

    def __init__(self, table: str) -> None:
        """Remember the (validated) table name."""
        self.table = check_identifier(table)

    @abstractmethod
    def _ddl(self) -> list[str]:
        """Return the statements creating the table and its index."""

    @abstractmethod
    def _executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> int:
        """Run ``sql`` once per parameter tuple, commit, return the affected row count."""

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement, commit, and return its rows."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> SqlTicketSink:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def create_schema(self, drop: bool) -> None:
        """Create the table and its updated_at index; drop it first when ``drop``."""
        if drop:
            self._execute(f"DROP TABLE IF EXISTS {self.table}")
        for statement in self._ddl():
            self._execute(statement)

    def insert(self, rows: Sequence[TicketRow]) -> None:
        """Insert rows in TICKET_COLUMNS order, committing every COMMIT_BATCH rows."""
        marks = ", ".join([self.placeholder] * len(TICKET_COLUMNS))
        sql = f"INSERT INTO {self.table} ({', '.join(TICKET_COLUMNS)}) VALUES ({marks})"
        for lo in range(0, len(rows), COMMIT_BATCH):
            self._executemany(sql, rows[lo : lo + COMMIT_BATCH])

    def update(self, rows: Sequence[TicketUpdate]) -> None:
        """Set resolved_at, status and updated_at of existing tickets."""
        p = self.placeholder
        sql = (
            f"UPDATE {self.table} SET resolved_at = {p}, status = {p}, updated_at = {p} "
            f"WHERE ticket_id = {p}"
        )
        params = [(resolved, status, updated, tid) for tid, resolved, status, updated in rows]
        for lo in range(0, len(params), COMMIT_BATCH):
            self._executemany(sql, params[lo : lo + COMMIT_BATCH])

    def delete(self, ticket_ids: Sequence[str]) -> int:
        """Delete tickets by id; return the number of rows deleted."""
        sql = f"DELETE FROM {self.table} WHERE ticket_id = {self.placeholder}"
        return self._executemany(sql, [(tid,) for tid in ticket_ids]) if ticket_ids else 0

    def open_tickets(
        self, before_id: str, after_id: str, limit: int
    ) -> list[tuple[str, str | None]]:
        """Return up to ``limit`` open (ticket_id, created_at) in (after_id, before_id)."""
        p = self.placeholder
        sql = (
            f"SELECT ticket_id, created_at FROM {self.table} WHERE resolved_at IS NULL "
            f"AND ticket_id > {p} AND ticket_id < {p} ORDER BY ticket_id LIMIT {p}"
        )
        return [(str(r[0]), r[1]) for r in self._execute(sql, (after_id, before_id, limit))]

    def count_tickets(self, before_id: str) -> int:
        """Return the number of tickets whose id sorts before ``before_id``."""
        sql = f"SELECT COUNT(*) FROM {self.table} WHERE ticket_id < {self.placeholder}"
        return int(self._execute(sql, (before_id,))[0][0])

    def ticket_ids_at(self, before_id: str, offsets: Sequence[int]) -> list[str]:
        """Return the ids at ``offsets`` (id order) among ids before ``before_id``."""
        p = self.placeholder
        sql = (
            f"SELECT ticket_id FROM {self.table} WHERE ticket_id < {p} "
            f"ORDER BY ticket_id LIMIT 1 OFFSET {p}"
        )
        found = (self._execute(sql, (before_id, offset)) for offset in offsets)
        return [str(rows[0][0]) for rows in found if rows]


class SqliteSink(SqlTicketSink):
    """``support_tickets`` in a SQLite file (stdlib sqlite3); updated_at is sortable text."""

    def __init__(self, path: Path, table: str = DEFAULT_TABLE) -> None:
        """Open (creating folders and file as needed) the database at ``path``.

        Raises:
            SourceUnavailableError: The file cannot be created or opened.
        """
        super().__init__(table)
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path))
            self._conn.execute("SELECT 1")
        except (OSError, sqlite3.Error) as exc:
            raise SourceUnavailableError(f"cannot open SQLite database {self.path}: {exc}") from exc

    def _ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table} {_SQLITE_COLUMNS}",
            f"CREATE INDEX IF NOT EXISTS idx_{self.table}_updated_at ON {self.table} (updated_at)",
        ]

    def _executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> int:
        with self._conn:
            cursor = self._conn.executemany(sql, params)
        return max(cursor.rowcount, 0)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn:
            rows = self._conn.execute(sql, params).fetchall()
        return [tuple(r) for r in rows]

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
